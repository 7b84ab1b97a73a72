"""One client of the engine: its session and conversation, wired to the parts that serve them (input
audio and turn-taking, transcription, cache warming) and to the response it runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from .config import EngineConfig
from .conversation import Conversation, Item, new_id
from .fairness import FairScheduler
from .host import EngineHost
from .input_audio import InputAudio
from .input_buffer import InputBuffer
from .limits import check_conversation_room, check_session_values
from .prewarm import Prewarmer
from .protocol import (
    ProtocolError,
    check_session,
    default_session,
    effective_session,
    merge_session,
    server_event,
    turn_detection,
)
from .responses import ResponseRun
from .transcriber import Transcriber
from .usage import Window


class Connection:
    """One client: its session config, conversation and response; its input audio, transcription and
    cache warming are parts of their own (each sees the connection through a protocol in host.py)."""

    def __init__(self, engine: EngineHost, ws: ServerConnection, model: str) -> None:
        self.engine, self.ws, self.parts = engine, ws, engine.parts
        self.session = default_session(model)
        self.conversation = Conversation()
        self.conversation_id = new_id("conv")
        self.response: ResponseRun | None = None
        self._reply_owed = False  # a committed VAD turn came while a response ran: answer it after
        self.previous_window: Window | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.transcriber = Transcriber(self)
        self.prewarmer = Prewarmer(self)
        self.buffer = InputBuffer(engine.config.max_input_buffer_s)  # uncommitted input audio
        self.input_audio = InputAudio(self, self.buffer, self.transcriber, self.prewarmer)
        self._configure_vad()

    # --- plumbing --------------------------------------------------------------------------------

    @property
    def config(self) -> EngineConfig:
        return self.engine.config

    @property
    def stt_jobs(self) -> FairScheduler:
        return self.engine.stt_jobs

    @property
    def truncation_at(self) -> int:
        return self.engine.truncation_at

    async def send(self, message: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(message)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def close(self) -> None:
        if self.response:
            self.response.cancel("client_cancelled")
        for task in list(self._tasks):
            task.cancel()
        self.transcriber.cancel_all()
        self.engine.stt_jobs.forget(self)
        self.engine.tts_jobs.forget(self)

    # --- session ---------------------------------------------------------------------------------

    async def on_session_update(self, event: Any) -> None:
        update = event.session.model_dump(exclude_unset=True)
        merged = merge_session(self.session, update)
        check_session_values(merged, event.event_id)
        check_session(merged)
        self.session = effective_session(merged)  # stored and echoed as applied: defaults filled in
        self._configure_vad()
        await self.send(server_event("session.updated", session=self.session))
        if "instructions" in update:
            self.prewarmer.prewarm()

    def _configure_vad(self) -> None:
        self.input_audio.configure(turn_detection(self.session), self.parts.new_vad)

    # --- conversation items ----------------------------------------------------------------------

    def check_conversation_room(self, audio_bytes: int, event_id: str | None = None) -> None:
        cfg = self.engine.config
        check_conversation_room(
            self.conversation.items,
            audio_bytes,
            cfg.max_conversation_items,
            cfg.max_conversation_audio_s,
            event_id,
        )

    async def commit(self, pcm: bytes, item_id: str, transcript: asyncio.Future[str] | None = None) -> None:
        """A user turn's audio becomes a conversation item, transcribed in the background (from the
        ``transcript`` guessed already, when there is one)."""
        self.check_conversation_room(len(pcm))
        item = Item(item_id, "user", [{"type": "input_audio", "transcript": None}], audio=pcm)
        previous = self.conversation.add(item)
        await self.send(
            server_event("input_audio_buffer.committed", item_id=item_id, previous_item_id=previous)
        )
        await self.send(
            server_event("conversation.item.added", item=item.to_api(), previous_item_id=previous)
        )
        await self.send(server_event("conversation.item.done", item=item.to_api(), previous_item_id=previous))
        self.transcriber.transcribe(item, announce=True, transcript=transcript)

    async def on_item_create(self, event: Any) -> None:
        item = Item.from_api(event.item.model_dump(exclude_unset=True))
        self.check_conversation_room(len(item.audio), event.event_id)
        previous = self.conversation.add(item, event.previous_item_id)
        await self.send(
            server_event("conversation.item.added", item=item.to_api(), previous_item_id=previous)
        )
        await self.send(server_event("conversation.item.done", item=item.to_api(), previous_item_id=previous))
        if item.audio and not item.text:
            self.transcriber.transcribe(item, announce=False)  # the reply LLM reads text
        elif item.role == "system":
            self.prewarmer.prewarm()  # a summary went in: warm the new prefix before the next reply

    async def on_item_delete(self, event: Any) -> None:
        self.conversation.delete(event.item_id)
        await self.send(server_event("conversation.item.deleted", item_id=event.item_id))
        self.prewarmer.prewarm()

    async def on_item_retrieve(self, event: Any) -> None:
        item = self.conversation.get(event.item_id)
        await self.send(server_event("conversation.item.retrieved", item=item.to_api(with_audio=True)))

    async def on_item_truncate(self, event: Any) -> None:
        e: Any = event
        self.conversation.truncate(e.item_id, e.content_index, e.audio_end_ms)
        await self.send(
            server_event(
                "conversation.item.truncated",
                item_id=e.item_id, content_index=e.content_index, audio_end_ms=e.audio_end_ms,
            )
        )  # fmt: skip

    # --- what a response uses --------------------------------------------------------------------

    async def transcripts_ready(self, item_ids: list[str]) -> None:
        await self.transcriber.ready(item_ids)

    async def synthesize(self, text: str) -> bytes:
        """``text`` spoken, queued fairly among connections."""
        return await self.engine.tts_jobs.run(self, self._speech, text)

    def _speech(self, text: str) -> bytes:
        """Speech in the conversation's language when the TTS speaks several (English: its default)."""
        language, tts = self.transcriber.reply_language, self.parts.tts
        if language and not language.startswith("en") and getattr(tts, "multilingual", False):
            return tts.synthesize(text, language=language)
        return tts.synthesize(text)

    def record_prompt(self, messages: list[dict[str, str]]) -> None:
        self.engine.llm_calls.append(messages)

    # --- responses -------------------------------------------------------------------------------

    @property
    def replying(self) -> bool:
        return self.response is not None

    async def on_response_create(self, event: Any) -> None:
        response = event.response
        # warnings off: item references sit in `input`, which the SDK model types as full items
        params = response.model_dump(exclude_unset=True, warnings=False) if response is not None else {}
        if self.response is not None:
            raise ProtocolError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self.response.id}.",
                None,
                event.event_id,
            )
        self._begin_response(params)

    def answer_turn(self) -> None:
        """Every committed VAD turn is answered: now, or when the running response ends (one still
        winding down after a cancel, or one the turn did not interrupt); then one response answers
        every turn committed meanwhile."""
        if self.response is None:
            self._begin_response({})
        else:
            self._reply_owed = True

    def barge_in(self) -> None:
        if self.response:
            self.response.cancel("turn_detected")

    def turn_cleared(self) -> None:
        if self._reply_owed and self.response is None:  # it waited for a turn that was cleared
            self._begin_response({})

    def _begin_response(self, params: dict[str, Any]) -> None:
        run = ResponseRun(self, params)
        self.response, self._reply_owed = run, False

        async def run_and_release() -> None:
            try:
                await run.run()
            finally:
                if self.response is run:
                    self.response = None
                    self._after_response()

        self.spawn(run_and_release())

    def _after_response(self) -> None:
        # (while the user speaks, their commit answers it)
        if self._reply_owed and not self.input_audio.in_speech:
            self._begin_response({})
        else:
            self.prewarmer.prewarm()  # the reply's end and the next turn's header, while the user speaks

    async def on_response_cancel(self, event: Any) -> None:
        wanted = event.response_id
        if self.response is None or (wanted and wanted != self.response.id):
            raise ProtocolError(
                "response_cancel_not_active",
                "Cancellation failed: no active response found.",
                None,
                event.event_id,
            )
        self.response.cancel("client_cancelled")

    async def on_output_audio_clear(self, event: Any) -> None:
        """WebRTC/SIP only at OpenAI; over websockets the client owns playback, so nothing to clear."""
