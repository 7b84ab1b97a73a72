"""The loopback websocket server speaking the GA Realtime protocol, one `Connection` per client."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
from collections import deque
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..apikey import protect_logs, register_secret
from ..audio import SAMPLE_RATE
from . import tool_calls
from .components import Components, load_components
from .config import SOCKET_MAX_SIZE, EngineConfig
from .conversation import Conversation, ConversationError, Item, llm_messages, new_id
from .fairness import FairScheduler
from .limits import check_conversation_room, check_pcm16, check_session_values
from .protocol import (
    ProtocolError,
    check_session,
    default_session,
    effective_session,
    error_event,
    merge_session,
    parse_client_event,
    server_event,
    turn_detection,
)
from .responses import ResponseRun
from .usage import Window
from .vad import SpeechPaused, SpeechStarted, TurnDetector

log = logging.getLogger("voicenb.engine")
MIN_COMMIT_MS = 100
PREWARM_SETTLE_S = 0.3
INLINE_VAD_BYTES = SAMPLE_RATE * 2  # more than 1 s of audio in one append: run VAD off the event loop


class Connection:
    """One client: its session config, conversation, input buffer, turn detector and response."""

    def __init__(self, engine: OfflineEngine, ws: ServerConnection, model: str) -> None:
        self.engine, self.ws, self.parts = engine, ws, engine.parts
        self.session = default_session(model)
        self.conversation = Conversation()
        self.conversation_id = new_id("conv")
        self.buffer = bytearray()  # uncommitted input audio
        self.buffer_start_ms = 0.0  # session-audio time of buffer[0]
        self.speech_item_id: str | None = None
        self.speech_start_ms = 0
        self.detector: TurnDetector | None = None
        self.response: ResponseRun | None = None
        self._reply_owed = False  # a committed VAD turn came while a response ran: answer it after
        self.previous_window: Window | None = None
        self._transcriptions: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._speculation: tuple[asyncio.Future[str], int] | None = None
        self.language: str | None = None  # the conversation's language: the session's, else detected
        self._prewarm: asyncio.Task[Any] | None = None
        self._prewarm_dirty = False
        self._configure_vad()

    # --- plumbing --------------------------------------------------------------------------------

    async def send(self, message: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(message)

    async def serve(self) -> None:
        await self.send(server_event("session.created", session=self.session))
        self.prewarm()  # the instructions, before the first turn needs them
        try:
            async for message in self.ws:
                await self.handle(message)
                await asyncio.sleep(0)  # a backlog of one client's frames must not hog the event loop
        except ConnectionClosed:
            pass
        finally:
            self.close()

    def close(self) -> None:
        if self.response:
            self.response.cancel("client_cancelled")
        for task in [*self._tasks, *self._transcriptions.values()]:
            task.cancel()
        self.engine.stt_jobs.forget(self)
        self.engine.tts_jobs.forget(self)

    async def handle(self, message: str | bytes) -> None:
        event_id = None
        try:
            event: Any = parse_client_event(message)  # one of the SDK's client event models
            event_id = event.event_id
            await HANDLERS[event.type](self, event)
        except ProtocolError as e:
            await self.send(error_event(e.code, e.message, e.param, e.event_id))
        except ConversationError as e:
            await self.send(error_event(e.code, e.message, e.param, event_id))
        except Exception as e:  # a bug or an input nothing above foresaw: report it, keep the connection
            log.exception("event %s failed", event_id)
            message = f"The server failed: {e}"
            await self.send(error_event("server_error", message, None, event_id, error_type="server_error"))

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- session ---------------------------------------------------------------------------------

    async def on_session_update(self, event: Any) -> None:
        update = event.session.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        merged = merge_session(self.session, update)
        check_session_values(merged, event.event_id)
        check_session(merged)
        self.session = effective_session(merged)  # stored and echoed as applied: defaults filled in
        self._configure_vad()
        await self.send(server_event("session.updated", session=self.session))
        if "instructions" in update:
            self.prewarm()

    def _configure_vad(self) -> None:
        settings = turn_detection(self.session)
        if settings is None or self.parts.new_vad is None:
            self.detector = None
        elif self.detector is None:
            self.detector = TurnDetector(self.parts.new_vad(), settings)
        else:
            self.detector.settings = settings

    # --- input audio -----------------------------------------------------------------------------

    async def on_append(self, event: Any) -> None:
        try:
            pcm = base64.b64decode(event.audio, validate=True)  # type: ignore[attr-defined]
        except (binascii.Error, ValueError):
            raise ProtocolError("invalid_value", "Invalid base64 audio.", "audio", event.event_id) from None
        check_pcm16(pcm, event.event_id)
        self._check_buffer_room(len(pcm), event.event_id)
        self.buffer += pcm
        if self.detector is None:
            return
        if len(pcm) > INLINE_VAD_BYTES:
            turns = await asyncio.to_thread(self.detector.feed, pcm)
        else:
            turns = self.detector.feed(pcm)
        for turn in turns:
            if isinstance(turn, SpeechStarted):
                await self._speech_started(turn.audio_start_ms)
            elif isinstance(turn, SpeechPaused):
                self._speculate(turn.audio_end_ms)
            else:
                await self._speech_stopped(turn.audio_end_ms)
        self._trim_idle_buffer()

    def _check_buffer_room(self, n_bytes: int, event_id: str | None) -> None:
        limit_s = self.engine.config.max_input_buffer_s
        if len(self.buffer) + n_bytes > limit_s * 2 * SAMPLE_RATE:
            raise ProtocolError(
                "input_audio_buffer_too_large",
                f"The input audio buffer would exceed {limit_s:g} s of audio: commit or clear it first.",
                "audio",
                event_id,
            )

    def _trim_idle_buffer(self) -> None:
        """Outside speech, server VAD only needs the last moments (prefix padding) of the buffer: drop
        older silence, so that a long quiet session never fills the buffer."""
        if self.detector is None or self.detector.in_speech:
            return
        keep_ms = self.detector.settings["prefix_padding_ms"] + 1000
        buffered_ms = len(self.buffer) / (2 * SAMPLE_RATE) * 1000
        if buffered_ms > 2 * keep_ms:  # trim in batches: each trim moves the rest of the buffer
            drop = self._buffer_offset(self.buffer_start_ms + buffered_ms - keep_ms)
            del self.buffer[:drop]
            self.buffer_start_ms += drop / (2 * SAMPLE_RATE) * 1000

    async def _speech_started(self, audio_start_ms: int) -> None:
        self.speech_item_id, self.speech_start_ms = new_id("item"), audio_start_ms
        await self.send(
            server_event(
                "input_audio_buffer.speech_started",
                audio_start_ms=audio_start_ms,
                item_id=self.speech_item_id,
            )
        )
        settings = self.detector.settings if self.detector else {}
        if self.response and settings.get("interrupt_response", True):
            self.response.cancel("turn_detected")  # barge-in: response.done follows at once

    async def _speech_stopped(self, audio_end_ms: int) -> None:
        item_id = self.speech_item_id or new_id("item")
        await self.send(
            server_event("input_audio_buffer.speech_stopped", audio_end_ms=audio_end_ms, item_id=item_id)
        )
        start = self._buffer_offset(self.speech_start_ms)
        end = self._buffer_offset(audio_end_ms)
        pcm = bytes(self.buffer[start:end])
        del self.buffer[:end]
        self.buffer_start_ms += end / (2 * SAMPLE_RATE) * 1000
        self.speech_item_id = None
        await self._commit(pcm, item_id, self._take_speculation())
        if self.detector and self.detector.settings.get("create_response", True):
            self._answer_turn()

    def _speculate(self, pause_ms: int) -> None:
        """Start transcribing the turn so far while the VAD waits out its silence window: if the
        speaker does not resume, the transcript is ready sooner (about the window's length)."""
        if self.parts.stt is None or (self._speculation and not self._speculation[0].done()):
            return
        if self.engine.stt_jobs.pending(self):
            return  # this connection already waits for transcriptions: a guess would only add to them
        pcm = bytes(self.buffer[self._buffer_offset(self.speech_start_ms) :])  # the word's tail included
        task = asyncio.ensure_future(self.engine.stt_jobs.run(self, self._stt, pcm))
        self._speculation = (task, pause_ms)
        task.add_done_callback(self._warm_for_guess)

    def _warm_for_guess(self, guess: asyncio.Future[str]) -> None:
        """While the VAD still waits out its silence window, evaluate the reply's prompt with the
        guessed transcript: the reply then starts with its prompt already in the model's cache."""
        spec, detector = self._speculation, self.detector
        if spec is None or spec[0] is not guess or guess.cancelled() or guess.exception():
            return  # already taken by the turn it guessed, or failed
        if not guess.result():
            return
        if self.response is not None or detector is None or detector.last_voiced_ms > spec[1]:
            return  # a reply runs (it has the model), or the speaker went on
        if getattr(self.parts.llm, "prefill", None) is not None:
            self.spawn(asyncio.to_thread(self.parts.llm.prefill, self._next_prompt(guess.result())))

    def _take_speculation(self) -> asyncio.Future[str] | None:
        """The speculative transcript's future, if no speech came after the pause it was started at."""
        spec, self._speculation = self._speculation, None
        if spec and self.detector and self.detector.last_voiced_ms <= spec[1]:
            return spec[0]
        return None

    def _buffer_offset(self, session_ms: float) -> int:
        samples = round((session_ms - self.buffer_start_ms) * SAMPLE_RATE / 1000)
        return max(0, min(len(self.buffer) // 2, samples)) * 2

    async def on_commit(self, event: Any) -> None:
        buffered_ms = len(self.buffer) / (2 * SAMPLE_RATE) * 1000
        if buffered_ms < MIN_COMMIT_MS:
            raise ProtocolError(
                "input_audio_buffer_commit_empty",
                f"Error committing input audio buffer: buffer too small. Expected at least {MIN_COMMIT_MS}ms "
                f"of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
                None,
                event.event_id,
            )
        jobs = self.engine.stt_jobs
        if jobs.pending(self) >= jobs.max_pending:
            raise ProtocolError(
                "rate_limit_exceeded",
                f"Too many transcriptions waiting ({jobs.max_pending}): commit again once some complete.",
                None,
                event.event_id,
            )
        self._check_conversation_room(len(self.buffer), event.event_id)  # refused: the buffer stays
        pcm, item_id = bytes(self.buffer), self.speech_item_id or new_id("item")
        self._reset_buffer(len(pcm))
        await self._commit(pcm, item_id)

    async def on_clear(self, event: Any) -> None:
        self._reset_buffer(len(self.buffer))
        await self.send(server_event("input_audio_buffer.cleared"))
        if self._reply_owed and self.response is None:  # it waited for a turn that was cleared
            self._begin_response({})

    def _reset_buffer(self, n_bytes: int) -> None:
        self.buffer_start_ms += n_bytes / (2 * SAMPLE_RATE) * 1000
        self.buffer.clear()
        self.speech_item_id = None
        if self.detector:
            self.detector.reset()

    def _check_conversation_room(self, audio_bytes: int, event_id: str | None = None) -> None:
        cfg = self.engine.config
        check_conversation_room(
            self.conversation.items,
            audio_bytes,
            cfg.max_conversation_items,
            cfg.max_conversation_audio_s,
            event_id,
        )

    async def _commit(self, pcm: bytes, item_id: str, transcript: asyncio.Future[str] | None = None) -> None:
        self._check_conversation_room(len(pcm))
        item = Item(item_id, "user", [{"type": "input_audio", "transcript": None}], audio=pcm)
        previous = self.conversation.add(item)
        await self.send(
            server_event("input_audio_buffer.committed", item_id=item_id, previous_item_id=previous)
        )
        await self.send(
            server_event("conversation.item.added", item=item.to_api(), previous_item_id=previous)
        )
        await self.send(server_event("conversation.item.done", item=item.to_api(), previous_item_id=previous))
        self._transcribe(item, announce=True, transcript=transcript)

    # --- transcription ---------------------------------------------------------------------------

    def _transcribe(
        self, item: Item, *, announce: bool, transcript: asyncio.Future[str] | None = None
    ) -> None:
        """Transcribe in the background; events only when the session asked for transcription (as OpenAI)."""
        wanted = announce and bool(self.session["audio"]["input"].get("transcription"))
        task = asyncio.create_task(self._run_transcription(item, wanted, transcript))
        self._transcriptions[item.id] = task
        task.add_done_callback(self._forget_transcription)  # the map holds pending ones only

    def _forget_transcription(self, task: asyncio.Task[None]) -> None:
        for item_id, pending in list(self._transcriptions.items()):
            if pending is task:
                del self._transcriptions[item_id]

    async def _run_transcription(self, item: Item, announce: bool, ready: asyncio.Future[str] | None) -> None:
        part = next(p for p in item.content if p.get("type") == "input_audio")
        try:
            if self.parts.stt is None:
                raise RuntimeError("no speech-to-text model loaded")
            if ready:
                text = await ready
            else:
                text = await self.engine.stt_jobs.run(self, self._stt, item.audio)
        except Exception as e:
            log.warning("transcription of %s failed: %s", item.id, e)
            if announce:
                error = {"type": "transcription_error", "code": "transcription_failed", "message": str(e)}
                await self.send(
                    server_event(
                        "conversation.item.input_audio_transcription.failed",
                        item_id=item.id, content_index=0, error=error,
                    )
                )  # fmt: skip
            return
        part["transcript"] = text
        if announce:
            ids = {"item_id": item.id, "content_index": 0}
            await self.send(
                server_event("conversation.item.input_audio_transcription.delta", delta=text, **ids)
            )
            usage = {"type": "duration", "seconds": round(item.audio_s, 3)}
            await self.send(
                server_event(
                    "conversation.item.input_audio_transcription.completed",
                    transcript=text,
                    usage=usage,
                    **ids,
                )
            )

    def _stt(self, pcm: bytes) -> str:
        """Transcribe in the session's language (``audio.input.transcription.language``) or, with a
        multilingual model, the detected one, which then becomes the conversation's language (and is
        tried first on the next turn)."""
        given = (self.session["audio"]["input"].get("transcription") or {}).get("language")
        detect = getattr(self.parts.stt, "transcribe_detect", None)
        if detect is None:
            return self.parts.stt.transcribe(pcm)
        text, detected = detect(pcm, given, likely=self.language)
        if text:
            self.language = given or detected
        return text

    @property
    def reply_language(self) -> str | None:
        given = (self.session["audio"]["input"].get("transcription") or {}).get("language")
        return given or self.language

    def prewarm(self) -> None:
        """When the next reply's prefix is known or changed (a connection opened, a reply ended, a
        summary inserted, items deleted, new instructions), evaluate it in the background so that reply
        starts warm."""
        if getattr(self.parts.llm, "prefill", None) is None:
            return
        self._prewarm_dirty = True
        if self._prewarm is None or self._prewarm.done():
            self._prewarm = self.spawn(self._prewarm_loop())

    async def _prewarm_loop(self) -> None:
        while self._prewarm_dirty:
            self._prewarm_dirty = False
            await asyncio.sleep(PREWARM_SETTLE_S)  # a summary deletes items one by one: let them land
            if self.response is not None:
                return  # the reply warms the cache itself
            evaluated = await asyncio.to_thread(self.parts.llm.prefill, self._next_prompt())
            log.debug("prewarmed the reply prefix: %d tokens evaluated", evaluated)

    def _next_prompt(self, user_text: str = "") -> list[dict[str, str]]:
        """The next reply's prompt as far as it is known: the conversation, then the user turn that
        comes next (its header at least; its words when a transcript is guessed)."""
        instructions = tool_calls.session_instructions(self.session, self.parts.llm)
        messages = llm_messages(instructions, list(self.conversation.items))
        if user_text or not messages or messages[-1]["role"] != "user":
            messages.append({"role": "user", "content": user_text})
        return messages

    async def transcripts_ready(self, item_ids: list[str]) -> None:
        """Wait for these items' pending transcriptions (asyncio.wait: cancelling us leaves them running)."""
        pending = [t for i, t in self._transcriptions.items() if i in item_ids and not t.done()]
        if pending:
            await asyncio.wait(pending)

    # --- conversation items ----------------------------------------------------------------------

    async def on_item_create(self, event: Any) -> None:
        item = Item.from_api(event.item.model_dump(exclude_unset=True))  # type: ignore[attr-defined]
        self._check_conversation_room(len(item.audio), event.event_id)
        previous = self.conversation.add(item, event.previous_item_id)  # type: ignore[attr-defined]
        await self.send(
            server_event("conversation.item.added", item=item.to_api(), previous_item_id=previous)
        )
        await self.send(server_event("conversation.item.done", item=item.to_api(), previous_item_id=previous))
        if item.audio and not item.text:
            self._transcribe(item, announce=False)  # the reply LLM reads text
        elif item.role == "system":
            self.prewarm()  # a summary went in: warm the new prefix before the next reply

    async def on_item_delete(self, event: Any) -> None:
        self.conversation.delete(event.item_id)  # type: ignore[attr-defined]
        await self.send(server_event("conversation.item.deleted", item_id=event.item_id))  # type: ignore[attr-defined]
        self.prewarm()

    async def on_item_retrieve(self, event: Any) -> None:
        item = self.conversation.get(event.item_id)  # type: ignore[attr-defined]
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

    # --- responses -------------------------------------------------------------------------------

    async def on_response_create(self, event: Any) -> None:
        response = event.response  # type: ignore[attr-defined]
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

    def _answer_turn(self) -> None:
        """Every committed VAD turn is answered: now, or when the running response ends (one still
        winding down after a cancel, or one the turn did not interrupt); then one response answers
        every turn committed meanwhile."""
        if self.response is None:
            self._begin_response({})
        else:
            self._reply_owed = True

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
        speaking = self.detector is not None and self.detector.in_speech
        if self._reply_owed and not speaking:  # (while the user speaks, their commit answers it)
            self._begin_response({})
        else:
            self.prewarm()  # the reply's end and the next turn's header, while the user speaks

    async def on_response_cancel(self, event: Any) -> None:
        wanted = event.response_id  # type: ignore[attr-defined]
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


HANDLERS = {
    "session.update": Connection.on_session_update,
    "input_audio_buffer.append": Connection.on_append,
    "input_audio_buffer.commit": Connection.on_commit,
    "input_audio_buffer.clear": Connection.on_clear,
    "conversation.item.create": Connection.on_item_create,
    "conversation.item.delete": Connection.on_item_delete,
    "conversation.item.retrieve": Connection.on_item_retrieve,
    "conversation.item.truncate": Connection.on_item_truncate,
    "response.create": Connection.on_response_create,
    "response.cancel": Connection.on_response_cancel,
    "output_audio_buffer.clear": Connection.on_output_audio_clear,
}


class OfflineEngine:
    """An OpenAI-Realtime-compatible (GA) server on loopback with local speech models.

    ``async with OfflineEngine(EngineConfig()) as eng:`` then point the SDK at ``eng.url``:
    ``AsyncOpenAI(api_key=eng.config.token, websocket_base_url=eng.url)`` then
    ``.realtime.connect(model="gpt-realtime")`` (a token-less engine: ``_enforce_credentials=False``).
    """

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.parts = Components()
        # the latest message lists the reply LLM was given (bounded: a long-lived engine must not grow)
        self.llm_calls: deque[list[dict[str, str]]] = deque(maxlen=self.config.prompt_history)
        self.stt_jobs = self._scheduler("speech-to-text")
        self.tts_jobs = self._scheduler("text-to-speech")
        self.connections: list[Connection] = []
        self._server: Server | None = None
        self._chat: Any = None
        self._ws_log = logging.getLogger("voicenb.engine.ws")
        protect_logs(self._ws_log.name)
        register_secret(self.config.token)

    def _scheduler(self, name: str) -> FairScheduler:
        return FairScheduler(name, self.config.speech_workers, self.config.max_pending_jobs)

    @property
    def models_used(self) -> dict[str, str]:
        return dict(self.parts.used)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("engine not started")
        return next(iter(self._server.sockets)).getsockname()[1]

    @property
    def url(self) -> str:
        """Pass as ``websocket_base_url``; the SDK appends ``/realtime?model=...``."""
        return f"ws://{self.config.host}:{self.port}/v1"

    @property
    def truncation_at(self) -> int:
        """Billed tokens past which the oldest items are dropped: the configured figure, lowered for a
        local LLM so its context is never overrun (see ``models.OFFLINE_TRUNCATION_AT``)."""
        n_ctx = getattr(self.parts.llm, "n_ctx", None)
        if isinstance(n_ctx, int):
            return min(self.config.truncation_at, n_ctx - 1024)
        return self.config.truncation_at

    @property
    def chat_base_url(self) -> str:
        """OpenAI-compatible base URL of the local model (``POST {chat_base_url}/chat/completions``)."""
        if self._chat is None:
            raise RuntimeError("no chat API: the engine is not started or its LLM cannot complete text")
        return self._chat.base_url

    async def start(self) -> None:
        if self._server is not None:
            return
        self.parts = await asyncio.to_thread(load_components, self.config)
        for part, how in self.parts.used.items():
            log.info("offline engine %s: %s", part, how)
        if self.config.chat_api and hasattr(self.parts.llm, "complete"):
            from .chat_api import ChatAPI

            self._chat = ChatAPI(self.parts.llm, self.config.host, self.config.token)
            await self._chat.start()
            log.info("offline chat-completions API on %s", self._chat.base_url)
        self._server = await serve(
            self._serve_connection, self.config.host, self.config.port, max_size=SOCKET_MAX_SIZE,
            process_request=self._check_request, compression=None, logger=self._ws_log,
            max_queue=self.config.max_queued_frames,
        )  # fmt: skip
        log.info("offline realtime engine listening on %s", self.url)

    async def stop(self) -> None:
        if self._server is None:
            return
        for conn in list(self.connections):
            conn.close()
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        self.stt_jobs.shutdown()
        self.tts_jobs.shutdown()
        self.stt_jobs, self.tts_jobs = self._scheduler("speech-to-text"), self._scheduler("text-to-speech")
        if self._chat is not None:
            await self._chat.stop()
            self._chat = None

    async def __aenter__(self) -> OfflineEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if not urlsplit(request.path).path.rstrip("/").endswith("/realtime"):
            return connection.respond(HTTPStatus.NOT_FOUND, "Connect to /v1/realtime?model=...\n")
        token = self.config.token
        if token:
            given = request.headers.get("Authorization", "")
            # websockets decodes header bytes with surrogateescape: non-ASCII must compare, not crash
            given_bytes = given.encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given_bytes, f"Bearer {token}".encode()):
                return connection.respond(HTTPStatus.UNAUTHORIZED, "Missing or invalid bearer token.\n")
        if len(self.connections) >= self.config.max_connections:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Too many connections; retry later.\n")
        return None

    async def _serve_connection(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path).query) if ws.request else {}
        conn = Connection(self, ws, (query.get("model") or ["gpt-realtime"])[0])
        self.connections.append(conn)
        try:
            await conn.serve()
        finally:
            self.connections.remove(conn)


def serve_forever(host: str = "127.0.0.1", port: int = 8765, token: str | None = None, **config: Any) -> None:
    """Blocking server for ``voicenb serve``: runs until interrupted (Ctrl-C)."""

    async def main() -> None:
        async with OfflineEngine(EngineConfig(host=host, port=port, token=token, **config)) as engine:
            print(
                f"voicenb offline realtime engine on {engine.url}  (models: {engine.models_used})", flush=True
            )
            await asyncio.Future()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
