"""Typed events a `VoiceSession` publishes to its subscribers (widgets, notebooks, the CLI).

They are small frozen dataclasses: cheap to create on the audio path, easy to match on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .tokens import ResponseRecord

Role = Literal["user", "assistant", "system", "tool"]  # "tool": function calls and their outputs


@dataclass(frozen=True)
class Connected:
    url: str
    model: str
    offline: bool


@dataclass(frozen=True)
class Closed:
    reason: str


@dataclass(frozen=True)
class ItemAdded:
    item_id: str
    role: Role
    is_summary: bool = False


@dataclass(frozen=True)
class SpeechStarted:
    """The server heard the user start speaking (barge-in: stop playback now)."""

    item_id: str
    audio_start_ms: int


@dataclass(frozen=True)
class TranscriptDelta:
    role: Role
    item_id: str
    delta: str


@dataclass(frozen=True)
class TranscriptDone:
    role: Role
    item_id: str
    text: str


@dataclass(frozen=True)
class TranscriptFailed:
    item_id: str
    error: str


@dataclass(frozen=True)
class AudioDelta:
    item_id: str
    pcm: bytes  # PCM16 mono 24 kHz


@dataclass(frozen=True)
class UsageUpdated:
    record: ResponseRecord
    window_tokens: int


@dataclass(frozen=True)
class SummaryStarted:
    item_ids: tuple[str, ...]


@dataclass(frozen=True)
class SummaryFinished:
    summary_item_id: str
    text: str
    deleted_ids: tuple[str, ...]


@dataclass(frozen=True)
class SummaryFactsDropped:
    """Values the user stated in the folded turns that no memory entry holds, even after the model was
    asked about exactly these: they are no longer in context (the full log keeps their turns,
    ``item_ids``, one per value)."""

    facts: tuple[str, ...]
    item_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SummaryEntriesEvicted:
    """The memory reached its token budget: these entries ("subject: value"), least recently used
    first, left the summary (the full log keeps them)."""

    entries: tuple[str, ...]


@dataclass(frozen=True)
class TurnsDropped:
    """Folds fell behind (they failed, or the dialogue outran them): to hold the window within the
    trigger plus one exchange, these items left it before any summary held them. The full log keeps
    them and the next summary folds them (`SummaryPolicy.hold_window`)."""

    item_ids: tuple[str, ...]
    window_tokens: int  # the window that overflowed


@dataclass(frozen=True)
class SummaryFailed:
    error: str
    retry_in_s: float


@dataclass(frozen=True)
class ItemDeleted:
    item_id: str


@dataclass(frozen=True)
class ItemTruncated:
    item_id: str
    audio_end_ms: int


@dataclass(frozen=True)
class HandoffStarted:
    reason: str


@dataclass(frozen=True)
class HandoffFinished:
    """A new server session holds the summary and the last turns; gap audio was sent after it."""

    reason: str
    window: tuple[str, ...]
    gap_audio_sent_s: float
    audio_dropped_s: float


@dataclass(frozen=True)
class HandoffFailed:
    reason: str
    attempts: int
    error: str


@dataclass(frozen=True)
class ToolCalled:
    """The model asked for a function call (its arguments are the model's JSON, not yet checked)."""

    call_id: str
    name: str
    arguments: str
    item_id: str
    response_id: str


@dataclass(frozen=True)
class ToolReturned:
    call_id: str
    name: str
    output: str  # what the model reads (``function_call_output``)
    duration_s: float


@dataclass(frozen=True)
class ToolFailed:
    """The call raised, timed out, got arguments that do not match its schema, or named no tool; the
    model reads ``output`` (the error) and can tell the user."""

    call_id: str
    name: str
    error: str
    output: str
    duration_s: float


@dataclass(frozen=True)
class Error:
    message: str
    code: str | None = None
    type: str | None = None
    event_id: str | None = None  # the client event the server rejected, when it says


SessionEvent = (
    Connected | Closed | ItemAdded | SpeechStarted | TranscriptDelta | TranscriptDone | TranscriptFailed
    | AudioDelta | UsageUpdated | SummaryStarted | SummaryFinished | SummaryFactsDropped | SummaryFailed
    | SummaryEntriesEvicted | TurnsDropped
    | ItemDeleted
    | ItemTruncated | HandoffStarted | HandoffFinished | HandoffFailed | ToolCalled | ToolReturned
    | ToolFailed | Error
)  # fmt: skip
