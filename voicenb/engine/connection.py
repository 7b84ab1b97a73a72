"""One client of the engine: its session and conversation, wired to the parts that serve them (input
audio and turn-taking, transcription, cache warming, responses)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from .config import EngineConfig
from .conversation import Conversation, ServerItem, new_id
from .fairness import FairScheduler
from .host import EngineHost
from .input_audio import InputAudio
from .input_buffer import InputBuffer
from .limits import check_conversation_room, check_session_values
from .prewarm import Prewarmer
from .protocol import (
    check_session,
    default_session,
    effective_session,
    merge_session,
    server_event,
    turn_detection,
)
from .replies import Replies
from .transcriber import Transcriber
from .usage import Window


class Connection:
    """One client: its session config and conversation; its input audio, transcription, cache warming
    and responses are parts of their own (each sees the connection through a protocol in host.py)."""

    def __init__(self, engine: EngineHost, ws: ServerConnection, model: str) -> None:
        self.engine, self.ws, self.parts = engine, ws, engine.parts
        self.session = default_session(model)
        self.conversation = Conversation()
        self.conversation_id = new_id("conv")
        self.previous_window: Window | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.transcriber = Transcriber(self)
        self.prewarmer = Prewarmer(self)
        self.replies = Replies(self)
        self.buffer = InputBuffer(engine.config.max_input_buffer_s)  # uncommitted input audio
        self.input_audio = InputAudio(self, self.buffer, self.transcriber, self.prewarmer, self.replies)
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
        self.replies.cancel("client_cancelled")
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
        item = ServerItem(item_id, "user", [{"type": "input_audio", "transcript": None}], audio=pcm)
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
        item = ServerItem.from_api(event.item.model_dump(exclude_unset=True))
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
        return self.replies.running is not None

    @property
    def user_speaking(self) -> bool:
        return self.input_audio.in_speech

    def prewarm(self) -> None:
        self.prewarmer.prewarm()

    async def on_output_audio_clear(self, event: Any) -> None:
        """WebRTC/SIP only at OpenAI; over websockets the client owns playback, so nothing to clear."""
