"""`VoiceSession`: one async session over the Realtime GA protocol, through the official SDK.

Data flow: an audio source (any async iterator of PCM16 24 kHz chunks) is pumped to the server;
server events go through ONE dispatch table (`_HANDLERS`) into the pure conversation state and token
ledger; typed events (`voicenb.events`) are published to subscribers; after each completed response
the summary policy decides, and a background task summarises and prunes without blocking the dialogue.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

from . import events as ev
from .apikey import get_api_key, protect_logs
from .audio import pcm_duration_s
from .policy import SummaryPlan, SummaryPolicy
from .state import ConversationState, Item, Transcript
from .summarisers import OfflineSummariser, OpenAISummariser, Summariser
from .tokens import TokenLedger, Usage, model_spec

log = logging.getLogger("voicenb.session")

Subscriber = Callable[[ev.SessionEvent], Any]


@dataclass
class SessionConfig:
    """What the session asks of the server (GA `session.update` shape is built from this)."""

    model: str = "gpt-realtime"
    instructions: str = "You are a friendly voice assistant. Answer in one or two short sentences."
    voice: str = "marin"
    output_modalities: list[str] = field(default_factory=lambda: ["audio"])
    transcription_model: str = "gpt-4o-mini-transcribe"
    transcription_language: str | None = None
    vad_threshold: float = 0.5
    vad_prefix_padding_ms: int = 300
    vad_silence_ms: int = 500
    turn_detection: bool = True  # server VAD; False = the client commits turns itself
    truncation: str | dict = "auto"

    def to_api(self) -> dict[str, Any]:
        transcription: dict[str, Any] = {"model": self.transcription_model}
        if self.transcription_language:
            transcription["language"] = self.transcription_language
        turn_detection = (
            {
                "type": "server_vad",
                "threshold": self.vad_threshold,
                "prefix_padding_ms": self.vad_prefix_padding_ms,
                "silence_duration_ms": self.vad_silence_ms,
                "create_response": True,
                "interrupt_response": True,
            }
            if self.turn_detection
            else None
        )
        pcm = {"type": "audio/pcm", "rate": 24000}
        return {
            "type": "realtime",
            "instructions": self.instructions,
            "output_modalities": list(self.output_modalities),
            "audio": {
                "input": {"format": pcm, "transcription": transcription, "turn_detection": turn_detection},
                "output": {"format": pcm, "voice": self.voice},
            },
            "truncation": self.truncation,
        }


@dataclass
class HandoffPolicy:
    """When and how to move to a fresh server session without forgetting.

    OpenAI ends a session after 60 minutes, and sockets drop. A handoff opens a new session seeded
    with the summary (folding older turns) plus the last ``keep_last`` turns as text items.
    """

    after_s: float | None = 55 * 60  # before the 60-minute cap; None: never by timer
    on_disconnect: bool = True
    max_retries: int = 3
    backoff_s: float = 0.5
    keep_last: int | None = None  # None: the summary policy's keep_last
    gap_buffer_s: float = 30.0  # audio captured during the gap is sent afterwards, up to this much


# Server errors that end the session: hand off instead of going silent.
SESSION_ENDING_CODES = frozenset({"session_expired", "session_closed", "server_shutting_down"})


class SummaryError(RuntimeError):
    pass


class VoiceSession:
    """A realtime voice session that keeps every turn and summarises its own context.

    ``async with VoiceSession() as s: await s.run(source)``. With no API key and no URL it uses the
    offline engine (started in-process on loopback); ``websocket_base_url`` points it at any server.
    """

    def __init__(
        self,
        config: SessionConfig | None = None,
        *,
        policy: SummaryPolicy | None = None,
        summariser: Summariser | None = None,
        api_key: str | None = None,
        websocket_base_url: str | None = None,
        base_url: str | None = None,
        engine_config: Any = None,
        handoff: HandoffPolicy | None = None,
        recorder: Any = None,
        confirm_timeout_s: float = 10.0,
    ) -> None:
        self.config = config or SessionConfig()
        spec = model_spec(self.config.model)
        self.policy = policy or SummaryPolicy(trigger_tokens=spec.default_trigger)
        self.state = ConversationState()
        self.ledger = TokenLedger(spec)
        self._api_key = api_key if api_key is not None else get_api_key()
        self._ws_url, self._base_url, self._engine_config = websocket_base_url, base_url, engine_config
        self.offline = not self._api_key and not websocket_base_url and not base_url
        self.summariser: Summariser = summariser or self._default_summariser()
        self.url = ""
        self.confirm_timeout_s = confirm_timeout_s
        self._subscribers: list[Subscriber] = []
        self._conn: Any = None
        self.handoff = handoff or HandoffPolicy()
        self.recorder = recorder  # anything with client_event(dict) and server_event(event)
        self._engine: Any = None
        self._reader: asyncio.Task | None = None
        self._summary_task: asyncio.Task | None = None
        self._window_fresh = True  # False between a summary and the next response.done
        self._waiters: dict[tuple[str, str], asyncio.Future] = {}
        self._speech_start_ms: dict[str, int] = {}
        self._user_audio_s: dict[str, float] = {}
        self._last_event_at = 0.0
        self._closed = asyncio.Event()
        self._tasks: set[asyncio.Future] = set()
        self._t0 = time.monotonic()
        self._timer: asyncio.Task | None = None
        self._handoff_task: asyncio.Task | None = None
        self._handing_off = False
        self._closing = False
        self._connected_at = 0.0
        self._response_active = False
        self._speech_active = False
        self._gap_audio: list[bytes] = []
        self._gap_audio_s = 0.0
        self.dropped_audio_s = 0.0
        self.handoffs = 0
        self.summaries = 0
        self.errors: list[ev.Error] = []

    def _default_summariser(self) -> Summariser:
        """gpt-4o-mini when talking to OpenAI itself; the offline extractive one everywhere else."""
        if self._api_key and not self._ws_url and not self._base_url:
            from openai import AsyncOpenAI

            return OpenAISummariser(AsyncOpenAI(api_key=self._api_key))
        return OfflineSummariser()

    # --- subscribers -----------------------------------------------------------------------------

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn(event)`` for every published event; returns a function that unsubscribes."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    def _publish(self, event: ev.SessionEvent) -> None:
        for fn in list(self._subscribers):
            try:
                result = fn(event)
                if asyncio.iscoroutine(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)  # keep a reference until done
                    task.add_done_callback(self._tasks.discard)
            except Exception:  # a broken view must not break the dialogue
                log.exception("subscriber %r failed on %s", fn, type(event).__name__)

    # --- connection ------------------------------------------------------------------------------

    async def __aenter__(self) -> VoiceSession:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the connection, configure the session and start reading server events."""
        if self.offline and self._engine is None:
            from .engine import OfflineEngine

            self._engine = OfflineEngine(self._engine_config)
            await self._engine.start()
            self._ws_url = self._engine.url
            log.warning("No OPENAI_API_KEY set: using the offline engine at %s", self._ws_url)
        self._closing = False
        self._closed.clear()
        await self._open()
        if self.handoff.after_s and self._timer is None:
            self._timer = asyncio.create_task(self._handoff_timer(), name="voicenb-handoff-timer")

    async def _open(self) -> None:
        from openai import AsyncOpenAI

        protect_logs()  # the handshake carries the key; websockets logs headers at DEBUG
        client = AsyncOpenAI(
            api_key=self._api_key or "offline", base_url=self._base_url, websocket_base_url=self._ws_url
        )
        self.url = self._ws_url or str(client.base_url)
        self._conn = await client.realtime.connect(model=self.config.model).enter()
        self._connected_at = time.monotonic()
        await self._send({"type": "session.update", "session": self.config.to_api()})
        self._reader = asyncio.create_task(self._read_events(self._conn), name="voicenb-reader")
        self._publish(ev.Connected(self.url, self.config.model, self.offline))

    async def close(self) -> None:
        self._closing = True
        for task in (self._timer, self._handoff_task, self._summary_task, self._reader):
            if task and not task.done() and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._timer = None
        await self._drop_connection()
        if self._engine is not None:
            await self._engine.stop()
            self._engine = None
        for fut in self._waiters.values():
            fut.cancel()
        self._waiters.clear()
        if not self._closed.is_set():
            self._closed.set()
            self._publish(ev.Closed("closed"))

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def run(self, source: AsyncIterator[bytes] | None = None) -> None:
        """Pump ``source`` to the server until it ends (then wait for the dialogue to settle) or until
        `stop()`; without a source, run until `stop()` or the session ends."""
        if self._conn is None and not self._closed.is_set() and not self._handing_off:
            await self.connect()
        if source is not None:
            await self.pump(source)
            await self.wait_idle()
        else:
            await self._closed.wait()

    def stop(self) -> None:
        """Ask `run()` to return; safe from any callback on the loop."""
        self._closed.set()

    async def pump(self, source: AsyncIterator[bytes]) -> None:
        """Send every chunk of ``source`` as ``input_audio_buffer.append``."""
        async for chunk in source:
            if self._closed.is_set():
                break
            await self.send_audio(chunk)

    async def send_audio(self, pcm: bytes) -> None:
        """Send PCM16 24 kHz audio; during a handoff it is kept (bounded) and sent afterwards."""
        if self._handing_off or self._conn is None:
            self._keep_gap_audio(pcm)
            return
        try:
            await self._send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()})
        except ConnectionClosed:
            self._keep_gap_audio(pcm)  # the reader notices the drop and hands off

    async def commit_audio(self, *, respond: bool = True) -> None:
        """End the user's turn by hand (push-to-talk, or with server VAD off) and ask for a reply."""
        await self._send({"type": "input_audio_buffer.commit"})
        if respond:
            await self._send({"type": "response.create"})

    async def truncate(self, item_id: str, audio_end_ms: int, content_index: int = 0) -> None:
        """Tell the server the user heard only ``audio_end_ms`` of an assistant item (barge-in)."""
        await self._send(
            {"type": "conversation.item.truncate", "item_id": item_id,
             "content_index": content_index, "audio_end_ms": audio_end_ms}
        )  # fmt: skip

    async def cancel_response(self) -> None:
        """Barge-in from the client side: stop the response being generated."""
        await self._send({"type": "response.cancel"})

    async def send_text(self, text: str, *, respond: bool = True) -> None:
        """Add a typed user turn (and ask for a reply)."""
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        await self.send_item(item, respond=respond)

    async def send_item(self, item: dict[str, Any], *, respond: bool = False) -> None:
        """Append any conversation item (API shape), optionally asking for a reply."""
        await self._send({"type": "conversation.item.create", "item": item})
        if respond:
            await self._send({"type": "response.create"})

    async def _send(self, event: dict[str, Any]) -> None:
        """The one path for client events (so a recorder sees them all)."""
        if self._conn is None:
            raise ConnectionError("not connected")
        if self.recorder is not None:
            self.recorder.client_event(event)
        await self._conn.send(event)

    async def wait_idle(self, quiet_s: float = 1.5, timeout_s: float = 120.0) -> None:
        """Wait until no server event has arrived for ``quiet_s`` and no summary or handoff is running."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self._closed.is_set():
            busy = self.summarising or self._handing_off
            if not busy and time.monotonic() - self._last_event_at >= quiet_s:
                return
            await asyncio.sleep(0.05)

    # --- handoff: a new server session that remembers ---------------------------------------------

    def handoff_now(self, reason: str = "requested") -> asyncio.Task:
        """Move to a fresh server session now, seeded with the summary and the last turns."""
        if self._handoff_task is None or self._handoff_task.done():
            self._handoff_task = asyncio.create_task(self._handoff(reason), name="voicenb-handoff")
        return self._handoff_task

    async def _handoff_timer(self) -> None:
        """Hand off before the server's session cap, at a turn boundary."""
        while not self._closing:
            await asyncio.sleep(max(0.05, self._connected_at + self.handoff.after_s - time.monotonic()))
            if time.monotonic() - self._connected_at < self.handoff.after_s:
                continue  # a handoff happened meanwhile
            while self._response_active or self._speech_active:
                await asyncio.sleep(0.05)
            await self.handoff_now("session age")

    async def _handoff(self, reason: str) -> None:
        self._handing_off = True
        self._publish(ev.HandoffStarted(reason))
        if self._summary_task and not self._summary_task.done():
            self._summary_task.cancel()  # it targets the old session; the log keeps its turns anyway
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._summary_task
        await self._drop_connection()
        self._response_active = self._speech_active = False
        summary, recent = await self._seed_plan()
        self.note({"type": "voicenb.handoff", "reason": reason, "at_s": time.monotonic() - self._t0})
        error: Exception | None = None
        for attempt in range(self.handoff.max_retries):
            try:
                await self._open()
                await self._seed(summary, recent)
                break
            except Exception as exc:
                error = exc
                log.warning("handoff attempt %d failed: %s", attempt + 1, exc)
                await self._drop_connection()
                await asyncio.sleep(self.handoff.backoff_s * 2**attempt)
        else:
            self._handing_off = False
            self._publish(ev.HandoffFailed(reason, self.handoff.max_retries, f"{error}"))
            self._closed.set()
            self._publish(ev.Closed("handoff failed"))
            return
        self.handoffs += 1
        self._window_fresh = False
        self._handing_off = False
        sent_s = await self._flush_gap_audio()
        self._publish(ev.HandoffFinished(reason, tuple(self.state.window), sent_s, self.dropped_audio_s))

    async def _seed_plan(self) -> tuple[str | None, list[Item]]:
        """The summary (folding any older unsummarised turns) and the last turns to re-seed verbatim."""
        turns = [t for t in self.state.window_turns() if t.status is Transcript.COMPLETE]
        keep = self.handoff.keep_last if self.handoff.keep_last is not None else self.policy.keep_last
        older, recent = turns[: max(0, len(turns) - keep)], turns[max(0, len(turns) - keep) :]
        current = self.state.current_summary()
        summary = current.text if current else None
        if older:
            try:
                summary = await self.summariser.summarise(
                    [(t.role, t.text) for t in older],
                    summary,
                    self.policy.language,
                    self.policy.summary_budget_tokens,
                )
            except Exception as exc:  # cannot summarise: carry those turns verbatim rather than drop them
                self._report_error(f"handoff summary failed, seeding turns verbatim: {exc}", "summary_failed")
                recent = turns
        return summary, recent

    async def _seed(self, summary: str | None, recent: list[Item]) -> None:
        if summary:
            summary_id = await self._create_item("system", summary, ConversationState.SUMMARY_PREFIX)
            self.note({"type": "voicenb.summary", "item_id": summary_id, "summarises": []})
            self.note({"type": "voicenb.seeded", "item_id": summary_id, "copy_of": "summary"})
        for turn in recent:
            new_id = await self._create_item(turn.role, turn.text, "seed_")
            self.note({"type": "voicenb.seeded", "item_id": new_id, "copy_of": turn.id})

    async def _create_item(
        self, role: str, text: str, prefix: str, previous_item_id: str | None = None
    ) -> str:
        """Create a text message item and wait until the server confirms it (or reports an error)."""
        item_id = f"{prefix}{uuid.uuid4().hex[:20]}"
        kind = "output_text" if role == "assistant" else "input_text"
        item = {"id": item_id, "type": "message", "role": role, "content": [{"type": kind, "text": text}]}
        event_id = f"evt_{uuid.uuid4().hex[:20]}"
        confirmed, failed = self._expect(("added", item_id)), self._expect(("event", event_id))
        event = {"type": "conversation.item.create", "item": item, "event_id": event_id}
        if previous_item_id:
            event["previous_item_id"] = previous_item_id
        try:
            await self._send(event)
            done, _ = await asyncio.wait(
                {confirmed, failed}, timeout=self.confirm_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if failed in done:
                failed.result()  # raises the server's error
            if confirmed not in done:
                raise SummaryError(f"server did not confirm item {item_id}")
        finally:
            self._forget(("added", item_id), ("event", event_id))
        return item_id

    def _keep_gap_audio(self, pcm: bytes) -> None:
        seconds = pcm_duration_s(pcm)
        if self._gap_audio_s + seconds <= self.handoff.gap_buffer_s:
            self._gap_audio.append(pcm)
            self._gap_audio_s += seconds
        else:
            self.dropped_audio_s += seconds
            log.warning("dropped %.2f s of audio captured during a handoff", seconds)

    async def _flush_gap_audio(self) -> float:
        chunks, sent_s = self._gap_audio, self._gap_audio_s
        self._gap_audio, self._gap_audio_s = [], 0.0
        for pcm in chunks:
            await self.send_audio(pcm)
        return sent_s

    # --- local notes: what the session decided, recorded so a replay rebuilds the same state -------

    def note(self, event: dict[str, Any]) -> None:
        """Apply a session-local state change (summary marked, handoff, seeded copy) and record it."""
        if self.recorder is not None:
            self.recorder.local_event(event)
        _LOCAL[event["type"]](self.state, event)

    # --- server events: one dispatch table -------------------------------------------------------

    async def _read_events(self, conn: Any) -> None:
        # Frame by frame rather than `async for event in conn`: one malformed frame is reported and
        # skipped; it must not end the session.
        while True:
            try:
                raw = await conn.recv_bytes()
            except Exception as exc:
                if conn is self._conn and not self._closing and not isinstance(exc, ConnectionClosedOK):
                    self._report_error(f"connection lost: {exc}", "connection_lost")
                break
            self._last_event_at = time.monotonic()
            try:
                event = conn.parse_event(raw)
            except Exception as exc:
                self._report_error(f"malformed frame ({len(raw)} bytes): {exc}", "malformed_event")
                continue
            if self.recorder is not None:
                self.recorder.server_event(event)
            self.handle(event)
        if conn is not self._conn or self._closing:
            return  # a connection we closed ourselves
        if self.handoff.on_disconnect:
            self.handoff_now("connection lost")  # a dropped socket: new session, same memory
        elif not self._closed.is_set():
            self._closed.set()
            self._publish(ev.Closed("connection ended"))

    def handle(self, event: Any) -> None:
        """Dispatch one server event (SDK model or dict). Malformed events are reported, never fatal."""
        etype = getattr(event, "type", None) or (event.get("type") if isinstance(event, dict) else None)
        handler = _HANDLERS.get(etype or "")
        if handler is None:
            return
        try:
            handler(self, event if isinstance(event, dict) else _as_dict(event))
        except Exception as exc:
            self._report_error(f"malformed {etype} event: {exc!r}", "malformed_event")

    def _on_item_added(self, e: dict) -> None:
        item = self.state.on_item_added(e["item"], e.get("previous_item_id"))
        if item.id in self._user_audio_s:
            self.state.on_user_audio(item.id, self._user_audio_s[item.id])
        self._resolve(("added", item.id), item)
        self._publish(ev.ItemAdded(item.id, item.role, item.is_summary))  # type: ignore[arg-type]

    def _on_item_done(self, e: dict) -> None:
        self.state.on_item_done(e["item"])

    def _on_item_deleted(self, e: dict) -> None:
        item_id = e["item_id"]
        self.state.on_item_deleted(item_id)
        self._resolve(("deleted", item_id), item_id)
        self._publish(ev.ItemDeleted(item_id))

    def _on_item_truncated(self, e: dict) -> None:
        self.state.on_item_truncated(e["item_id"], e["audio_end_ms"])
        self._publish(ev.ItemTruncated(e["item_id"], e["audio_end_ms"]))

    def _on_speech_started(self, e: dict) -> None:
        self._speech_active = True
        self._speech_start_ms[e["item_id"]] = e.get("audio_start_ms") or 0
        self._publish(ev.SpeechStarted(e["item_id"], e.get("audio_start_ms") or 0))

    def _on_speech_stopped(self, e: dict) -> None:
        self._speech_active = False
        start = self._speech_start_ms.pop(e["item_id"], None)
        if start is not None:
            self._user_audio_s[e["item_id"]] = max(0.0, (e["audio_end_ms"] - start) / 1000)
        self.state.on_user_audio(e["item_id"], self._user_audio_s.get(e["item_id"], 0.0))

    def _on_user_transcript_delta(self, e: dict) -> None:
        self.state.on_transcript_delta(e["item_id"], e.get("delta") or "")
        self._publish(ev.TranscriptDelta("user", e["item_id"], e.get("delta") or ""))

    def _on_user_transcript_done(self, e: dict) -> None:
        self.state.on_transcript_done(e["item_id"], e.get("transcript") or "")
        self._publish(ev.TranscriptDone("user", e["item_id"], e.get("transcript") or ""))

    def _on_user_transcript_failed(self, e: dict) -> None:
        error = (e.get("error") or {}).get("message") or "transcription failed"
        self.state.on_transcript_failed(e["item_id"], error)
        self._publish(ev.TranscriptFailed(e["item_id"], error))

    def _on_assistant_delta(self, e: dict) -> None:
        self.state.on_transcript_delta(e["item_id"], e.get("delta") or "")
        self._publish(ev.TranscriptDelta("assistant", e["item_id"], e.get("delta") or ""))

    def _on_assistant_done(self, e: dict) -> None:
        text = e.get("transcript") if "transcript" in e else e.get("text")
        self.state.on_transcript_done(e["item_id"], text or "")
        self._publish(ev.TranscriptDone("assistant", e["item_id"], text or ""))

    def _on_audio_delta(self, e: dict) -> None:
        pcm = base64.b64decode(e["delta"])
        self.state.on_assistant_audio(e["item_id"], pcm_duration_s(pcm))
        self._publish(ev.AudioDelta(e["item_id"], pcm))

    def _on_response_created(self, e: dict) -> None:
        self._response_active = True

    def _on_response_done(self, e: dict) -> None:
        self._response_active = False
        response = e["response"]
        usage = Usage.from_api(response.get("usage"))
        status = response.get("status") or "completed"
        record = self.ledger.add(response.get("id") or "", status, usage, time.monotonic() - self._t0)
        for out in response.get("output") or []:  # final assistant text, even if deltas were missed
            if out.get("type") == "message" and out.get("id") in self.state.log:
                self.state.on_item_done(out)
        if status == "completed" and not usage.is_empty:
            self._window_fresh = True
        self._publish(ev.UsageUpdated(record, self.ledger.window_tokens))
        self.maybe_summarise()

    def _on_error(self, e: dict) -> None:
        err = e.get("error") or {}
        for key, fut in list(self._waiters.items()):
            if key == ("event", err.get("event_id")) and not fut.done():
                fut.set_exception(SummaryError(err.get("message") or "server error"))
        self._report_error(err.get("message") or "server error", err.get("code"), err.get("type"))
        if err.get("code") in SESSION_ENDING_CODES and self.handoff.on_disconnect:
            self.handoff_now(err.get("code"))

    def _report_error(self, message: str, code: str | None = None, etype: str | None = None) -> None:
        error = ev.Error(message, code, etype)
        self.errors.append(error)
        log.warning("realtime error: %s (%s)", message, code)
        self._publish(error)

    # --- summarise and prune ---------------------------------------------------------------------

    def maybe_summarise(self) -> asyncio.Task | None:
        """Apply the policy now (it runs after every response; call it after changing the policy live)."""
        if self._summary_task and not self._summary_task.done():
            return None  # at most one at a time
        if not self._window_fresh or not self.connected:
            return None  # the last window figure predates the last summary (or session)
        if self.policy.should_summarise(self.ledger.window_tokens, self.state, time.monotonic()):
            return self._start_summary(self.policy.plan(self.state))
        return None

    def summarise_now(self) -> asyncio.Task | None:
        """Summarise now regardless of the trigger (a button in the panel). None if nothing to fold."""
        if self._summary_task and not self._summary_task.done():
            return self._summary_task
        plan = self.policy.plan_now(self.state)
        return self._start_summary(plan) if plan else None

    def _start_summary(self, plan: SummaryPlan | None) -> asyncio.Task | None:
        if plan is None:
            return None
        self._summary_task = asyncio.create_task(self._summarise(plan), name="voicenb-summary")
        return self._summary_task

    async def _summarise(self, plan: SummaryPlan) -> None:
        """Summarise ``plan``'s turns, insert the summary at the root, then delete exactly those items.

        Turns that arrive meanwhile are untouched: we delete by id, never rewrite history. Nothing is
        deleted unless the summary item is confirmed by the server.
        """
        ids = plan.item_ids
        self._publish(ev.SummaryStarted(tuple(ids)))
        previous = plan.previous_summary.text if plan.previous_summary else None
        try:
            turns = [(t.role, t.text) for t in plan.turns]
            text = await asyncio.wait_for(
                self.summariser.summarise(
                    turns, previous, self.policy.language, self.policy.summary_budget_tokens
                ),
                self.policy.timeout_s,
            )
            summary_id = await self._insert_summary(text, ids)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            delay = self.policy.backoff.failed(time.monotonic())
            self._publish(ev.SummaryFailed(f"{type(exc).__name__}: {exc}", delay))
            return
        self.policy.backoff.succeeded()
        deleted = await self._delete_items([i for i in ids if i in self.state.window])
        self.summaries += 1
        self._window_fresh = False
        self._publish(ev.SummaryFinished(summary_id, text, tuple(deleted)))

    async def _insert_summary(self, text: str, summarises: list[str]) -> str:
        summary_id = await self._create_item("system", text, ConversationState.SUMMARY_PREFIX, "root")
        self.note({"type": "voicenb.summary", "item_id": summary_id, "summarises": summarises})
        return summary_id

    async def _delete_items(self, ids: list[str]) -> list[str]:
        """Delete ``ids`` and wait for each `conversation.item.deleted`; returns the confirmed ones."""
        waiters = {i: self._expect(("deleted", i)) for i in ids}
        for item_id in ids:
            await self._send({"type": "conversation.item.delete", "item_id": item_id})
        done, _ = (
            await asyncio.wait(set(waiters.values()), timeout=self.confirm_timeout_s) if ids else ((), ())
        )
        self._forget(*[("deleted", i) for i in ids])
        confirmed = [i for i, fut in waiters.items() if fut in done and not fut.cancelled()]
        if len(confirmed) < len(ids):
            self._report_error(f"{len(ids) - len(confirmed)} deletions not confirmed", "delete_unconfirmed")
        return confirmed

    def _expect(self, key: tuple[str, str]) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self._waiters[key] = fut
        return fut

    def _resolve(self, key: tuple[str, str], value: Any) -> None:
        fut = self._waiters.get(key)
        if fut is not None and not fut.done():
            fut.set_result(value)

    def _forget(self, *keys: tuple[str, str]) -> None:
        for key in keys:
            self._waiters.pop(key, None)

    # --- views -----------------------------------------------------------------------------------

    @property
    def window_tokens(self) -> int:
        return self.ledger.window_tokens

    @property
    def connected(self) -> bool:
        """A server session is open (False before connect, after close and during a handoff)."""
        return self._conn is not None and not self._handing_off

    @property
    def connected_at(self) -> float | None:
        """time.monotonic() when the current server session opened (the 60-minute cap counts from it)."""
        return self._connected_at if self._conn is not None else None

    @property
    def summarising(self) -> bool:
        return self._summary_task is not None and not self._summary_task.done()


def _as_dict(event: Any) -> dict:
    # exclude_unset: a field the server did not send stays missing, so a malformed event fails loudly.
    return event.model_dump(exclude_unset=True, warnings=False)


_LOCAL: dict[str, Callable[[ConversationState, dict], Any]] = {
    "voicenb.summary": lambda st, e: st.mark_summary(e["item_id"], e["summarises"]),
    "voicenb.handoff": lambda st, e: st.on_handoff(e["reason"], e["at_s"]),
    "voicenb.seeded": lambda st, e: st.mark_seeded(e["item_id"], e["copy_of"]),
}

_HANDLERS: dict[str, Callable[[VoiceSession, dict], None]] = {
    "conversation.item.added": VoiceSession._on_item_added,
    "conversation.item.done": VoiceSession._on_item_done,
    "conversation.item.retrieved": VoiceSession._on_item_done,
    "conversation.item.deleted": VoiceSession._on_item_deleted,
    "conversation.item.truncated": VoiceSession._on_item_truncated,
    "input_audio_buffer.speech_started": VoiceSession._on_speech_started,
    "input_audio_buffer.speech_stopped": VoiceSession._on_speech_stopped,
    "conversation.item.input_audio_transcription.delta": VoiceSession._on_user_transcript_delta,
    "conversation.item.input_audio_transcription.completed": VoiceSession._on_user_transcript_done,
    "conversation.item.input_audio_transcription.failed": VoiceSession._on_user_transcript_failed,
    "response.output_audio_transcript.delta": VoiceSession._on_assistant_delta,
    "response.output_audio_transcript.done": VoiceSession._on_assistant_done,
    "response.output_text.delta": VoiceSession._on_assistant_delta,
    "response.output_text.done": VoiceSession._on_assistant_done,
    "response.output_audio.delta": VoiceSession._on_audio_delta,
    "response.created": VoiceSession._on_response_created,
    "response.done": VoiceSession._on_response_done,
    "error": VoiceSession._on_error,
}
