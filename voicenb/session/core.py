"""The protocol core: server events in, conversation state, token ledger and typed events out.

No socket and no engine: `handle()` takes any server event through ONE dispatch table of handlers typed
with the SDK's event models (a dict from a recording or a test is parsed into its model first, as the SDK
parses a frame), so a live connection, a recording's replay and the benchmark all drive the same code.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from openai._models import construct_type_unchecked
from openai.types.realtime import (
    ConversationItemAdded,
    ConversationItemDeletedEvent,
    ConversationItemDone,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    ConversationItemTruncatedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    RealtimeConversationItemFunctionCall,
    RealtimeErrorEvent,
    RealtimeResponse,
    RealtimeServerEvent,
    ResponseAudioDeltaEvent,
    ResponseAudioTranscriptDeltaEvent,
    ResponseAudioTranscriptDoneEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
)
from openai.types.realtime.realtime_server_event import ConversationItemRetrieved

from .. import events as ev
from ..audio import pcm_duration_s
from ..policy import SummaryPolicy
from ..state import ConversationState
from ..tokens import TokenLedger, Usage, model_spec
from .config import SessionConfig

log = logging.getLogger("voicenb.session")

Subscriber = Callable[[ev.SessionEvent], Any]
E = TypeVar("E")
_NEEDED = ("item", "item_id", "response", "audio_end_ms")  # what an event is about; the rest has defaults
MAX_ERRORS = 200  # the error history is a ring: a peer that sends garbage cannot grow it


class SessionCore:
    """Conversation state, token ledger, summary policy and the subscribers that watch them."""

    def __init__(
        self,
        config: SessionConfig | None = None,
        policy: SummaryPolicy | None = None,
        *,
        recorder: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or SessionConfig()
        spec = model_spec(self.config.model)
        self.policy = policy or SummaryPolicy.for_model(spec.name)  # cost-optimal trigger and target
        self.state = ConversationState()
        self.ledger = TokenLedger(spec)
        self.recorder = recorder  # anything with client_event(dict), server_event(event), local_event(dict)
        self.errors: collections.deque[ev.Error] = collections.deque(maxlen=MAX_ERRORS)
        self.clock = clock
        self.started_at = clock()
        self.last_event_at = 0.0
        self.response_active = False
        self.speech_active = False
        self.window_fresh = True  # False between a change we made (summary, handoff) and the next response
        self._subscribers: list[Subscriber] = []
        self._tasks: set[asyncio.Future] = set()
        self._speech_start_ms: dict[str, int] = {}
        self._user_audio_s: dict[str, float] = {}

    # --- subscribers -----------------------------------------------------------------------------

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn(event)`` for every published event; returns a function that unsubscribes."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    def publish(self, event: ev.SessionEvent) -> None:
        for fn in list(self._subscribers):
            try:
                result = fn(event)
                if asyncio.iscoroutine(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)  # keep a reference until done
                    task.add_done_callback(self._tasks.discard)
            except Exception:  # a broken view must not break the dialogue
                log.exception("subscriber %r failed on %s", fn, type(event).__name__)

    async def next(
        self, kind: type[E], *, where: Callable[[E], bool] | None = None, timeout: float | None = None
    ) -> E:
        """Wait for the next published event of ``kind`` (matching ``where``):
        ``usage = await session.next(UsageUpdated)`` in a notebook cell."""
        fut: asyncio.Future[E] = asyncio.get_running_loop().create_future()

        def watch(event: ev.SessionEvent) -> None:
            if isinstance(event, kind) and not fut.done() and (where is None or where(event)):
                fut.set_result(event)

        unsubscribe = self.subscribe(watch)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            unsubscribe()

    def report_error(
        self, message: str, code: str | None = None, etype: str | None = None, event_id: str | None = None
    ) -> None:
        error = ev.Error(message, code, etype, event_id)
        self.errors.append(error)
        log.warning("realtime error: %s (%s)", message, code)
        self.publish(error)

    # --- local notes: what the session decided, recorded so a replay rebuilds the same state -------

    def note(self, event: dict[str, Any]) -> None:
        """Apply a session-local state change (summary marked, handoff, seeded copy) and record it."""
        if self.recorder is not None:
            self.recorder.local_event(event)
        _LOCAL[event["type"]](self.state, event)

    # --- server events: one dispatch table -------------------------------------------------------

    def handle(self, event: Any) -> None:
        """Dispatch one server event (SDK model, or a dict from a recording or a test, parsed into the
        SDK's model the way the SDK parses a frame). Malformed events are reported, never fatal."""
        self.last_event_at = self.clock()
        if isinstance(event, dict):
            event = parse_server_event(event)
        etype = getattr(event, "type", None)
        handler = _HANDLERS.get(etype) if isinstance(etype, str) else None
        if handler is None:
            return
        try:
            missing = [
                k for k in _NEEDED if k in type(event).model_fields and k not in event.model_fields_set
            ]
            if missing:  # the SDK fills what a frame lacks with None: what names an item must be there
                raise KeyError(", ".join(missing))
            handler(self, event)
        except Exception as exc:  # a field missing or of the wrong kind: the SDK's models are not validated
            self.report_error(f"malformed {etype} event: {exc!r}", "malformed_event")

    def _on_item_added(self, e: ConversationItemAdded) -> None:
        item = self.state.on_item_added(_item_dict(e.item), e.previous_item_id)
        if item.at_s is None:
            item.at_s = round(self.clock() - self.started_at, 3)
        if item.id in self._user_audio_s:
            self.state.on_user_audio(item.id, self._user_audio_s.pop(item.id))
        self.publish(ev.ItemAdded(item.id, cast(ev.Role, item.role), item.is_summary))

    def _on_item_done(self, e: ConversationItemDone | ConversationItemRetrieved) -> None:
        self.state.on_item_done(_item_dict(e.item))

    def _on_item_deleted(self, e: ConversationItemDeletedEvent) -> None:
        self.state.on_item_deleted(e.item_id)
        self.publish(ev.ItemDeleted(e.item_id))

    def _on_item_truncated(self, e: ConversationItemTruncatedEvent) -> None:
        self.state.on_item_truncated(e.item_id, e.audio_end_ms)
        self.publish(ev.ItemTruncated(e.item_id, e.audio_end_ms))

    def _on_speech_started(self, e: InputAudioBufferSpeechStartedEvent) -> None:
        self.speech_active = True
        self._speech_start_ms[e.item_id] = e.audio_start_ms or 0
        self.publish(ev.SpeechStarted(e.item_id, e.audio_start_ms or 0))

    def _on_speech_stopped(self, e: InputAudioBufferSpeechStoppedEvent) -> None:
        self.speech_active = False
        start = self._speech_start_ms.pop(e.item_id, None)
        seconds = max(0.0, (e.audio_end_ms - start) / 1000) if start is not None else 0.0
        if e.item_id in self.state.log:
            self.state.on_user_audio(e.item_id, seconds)
        else:  # the item is added after this event: remember its length until then
            self._user_audio_s[e.item_id] = seconds

    def _on_user_transcript_delta(self, e: ConversationItemInputAudioTranscriptionDeltaEvent) -> None:
        self.state.on_transcript_delta(e.item_id, e.delta or "")
        self.publish(ev.TranscriptDelta("user", e.item_id, e.delta or ""))

    def _on_user_transcript_done(self, e: ConversationItemInputAudioTranscriptionCompletedEvent) -> None:
        self.state.on_transcript_done(e.item_id, e.transcript or "")
        self.publish(ev.TranscriptDone("user", e.item_id, e.transcript or ""))

    def _on_user_transcript_failed(self, e: ConversationItemInputAudioTranscriptionFailedEvent) -> None:
        error = getattr(e.error, "message", None) or "transcription failed"
        self.state.on_transcript_failed(e.item_id, error)
        self.publish(ev.TranscriptFailed(e.item_id, error))

    def _on_assistant_delta(self, e: ResponseAudioTranscriptDeltaEvent | ResponseTextDeltaEvent) -> None:
        self.state.on_transcript_delta(e.item_id, e.delta or "")
        self.publish(ev.TranscriptDelta("assistant", e.item_id, e.delta or ""))

    def _on_assistant_done(self, e: ResponseAudioTranscriptDoneEvent | ResponseTextDoneEvent) -> None:
        text = e.transcript if isinstance(e, ResponseAudioTranscriptDoneEvent) else e.text
        self.state.on_transcript_done(e.item_id, text or "")
        self.publish(ev.TranscriptDone("assistant", e.item_id, text or ""))

    def _on_audio_delta(self, e: ResponseAudioDeltaEvent) -> None:
        pcm = base64.b64decode(e.delta)
        self.state.on_assistant_audio(e.item_id, pcm_duration_s(pcm))
        self.publish(ev.AudioDelta(e.item_id, pcm))

    def _on_response_created(self, e: ResponseCreatedEvent) -> None:
        self.response_active = True

    def _on_response_done(self, e: ResponseDoneEvent) -> None:
        self.response_active = False
        response = e.response
        try:
            usage = Usage.from_api(response.usage)
        except ValueError as exc:  # never bill nonsense; the turn itself still completes
            self.report_error(f"invalid usage in response.done, not billed: {exc}", "invalid_usage")
            usage = Usage()
        status = response.status or "completed"
        record = self.ledger.add(response.id or "", status, usage, self.clock() - self.started_at)
        for out in response.output or []:  # final assistant text, even if deltas were missed
            if out.type in ("message", "function_call") and out.id in self.state.log:
                self.state.on_item_done(_item_dict(out))
        if status == "completed" and not usage.is_empty:
            self.window_fresh = True
        self.publish(ev.UsageUpdated(record, self.ledger.window_tokens))
        for call in _function_calls(response):  # after the bill: a runner may answer at once
            self.publish(call)

    def _on_error(self, e: RealtimeErrorEvent) -> None:
        err = e.error
        self.report_error(err.message or "server error", err.code, err.type, err.event_id)


def _function_calls(response: RealtimeResponse) -> list[ev.ToolCalled]:
    """The finished function calls a ``response.done`` asks the client to run."""
    return [
        ev.ToolCalled(out.call_id or "", out.name or "", out.arguments or "", out.id or "", response.id or "")
        for out in response.output or []
        if isinstance(out, RealtimeConversationItemFunctionCall)
        and (out.status or "completed") == "completed"
    ]


def parse_server_event(data: dict[str, Any]) -> Any:
    """A server event as the SDK parses a frame (`AsyncRealtimeConnection.parse_event`): its model by
    ``type``, fields not validated, so a malformed one fails where a handler reads it."""
    return construct_type_unchecked(value=data, type_=cast(Any, RealtimeServerEvent))


def _item_dict(item: Any) -> dict[str, Any]:
    """The item as the API sent it: the state (pure, saved as JSON) keeps items as plain data."""
    # exclude_unset: a field the server did not send stays missing, so a malformed item fails loudly.
    return item if isinstance(item, dict) else item.model_dump(exclude_unset=True, warnings=False)


_LOCAL: dict[str, Callable[[ConversationState, dict], Any]] = {
    "voicenb.summary": lambda st, e: st.mark_summary(e["item_id"], e["summarises"]),
    "voicenb.handoff": lambda st, e: st.on_handoff(e["reason"], e["at_s"]),
    "voicenb.seeded": lambda st, e: st.mark_seeded(e["item_id"], e["copy_of"]),
}

_HANDLERS: dict[str, Callable[[SessionCore, Any], None]] = {
    "conversation.item.added": SessionCore._on_item_added,
    "conversation.item.done": SessionCore._on_item_done,
    "conversation.item.retrieved": SessionCore._on_item_done,
    "conversation.item.deleted": SessionCore._on_item_deleted,
    "conversation.item.truncated": SessionCore._on_item_truncated,
    "input_audio_buffer.speech_started": SessionCore._on_speech_started,
    "input_audio_buffer.speech_stopped": SessionCore._on_speech_stopped,
    "conversation.item.input_audio_transcription.delta": SessionCore._on_user_transcript_delta,
    "conversation.item.input_audio_transcription.completed": SessionCore._on_user_transcript_done,
    "conversation.item.input_audio_transcription.failed": SessionCore._on_user_transcript_failed,
    "response.output_audio_transcript.delta": SessionCore._on_assistant_delta,
    "response.output_audio_transcript.done": SessionCore._on_assistant_done,
    "response.output_text.delta": SessionCore._on_assistant_delta,
    "response.output_text.done": SessionCore._on_assistant_done,
    "response.output_audio.delta": SessionCore._on_audio_delta,
    "response.created": SessionCore._on_response_created,
    "response.done": SessionCore._on_response_done,
    "error": SessionCore._on_error,
}
