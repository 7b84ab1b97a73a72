"""Conversation state: pure, no I/O, no asyncio.

Two views of one conversation:

* ``log`` -- every item ever seen, in the order it appeared, kept forever (exportable as JSON);
* ``window`` -- the ids the *server* currently retains, in server order.

Both change only through the ``on_*`` methods, which mirror server events, so the local window is
the server's window: it is never rewritten from a local guess (the seed's lost-turn bug).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class TranscriptStatus(StrEnum):
    PENDING = "pending"
    COMPLETE = "complete"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its server session ended before the text was complete


@dataclass
class Item:
    """One conversation item (message) as the server holds it, plus what we learned about it."""

    id: str
    role: str  # "user" | "assistant" | "system"
    seq: int  # order of first appearance in the log
    text: str = ""  # text content, or the transcript of audio content
    status: TranscriptStatus = TranscriptStatus.COMPLETE
    has_audio: bool = False
    audio_s: float = 0.0
    is_summary: bool = False
    summarises: list[str] = field(default_factory=list)
    in_window: bool = True
    deleted_by: str | None = None  # "summary" | "server" | "client" when gone from the window
    truncated_at_ms: int | None = None
    error: str | None = None
    copy_of: str | None = None  # a turn re-seeded into a new session after a handoff
    kind: str = "message"  # "message" | "function_call" | "function_call_output" (role "tool")
    call_id: str | None = None  # function calls and outputs: the id that pairs them
    name: str | None = None  # function calls: the tool's name ...
    arguments: str | None = None  # ... and the model's JSON arguments
    at_s: float | None = None  # seconds into the session when it appeared (recall says when)

    @property
    def is_turn(self) -> bool:
        """User and assistant messages are turns; summaries, tool items and other system items are not."""
        return self.role in ("user", "assistant") and self.kind == "message" and not self.is_summary

    @property
    def is_tool(self) -> bool:
        """A function call or a function call's output."""
        return self.kind in TOOL_KINDS


# Said before the summary's lines in the conversation: the local 1.5B answered 79 of 89 recall probes
# with it against 75 with bare lines (nine conversations, four languages, one batch).
SUMMARY_HEADING = (
    "Earlier in this conversation (a summary of what was said; use it to answer questions about it):"
)


def summary_item_text(summary: str) -> str:
    """A summary as the model reads it at the root of the conversation: its heading, then its lines."""
    return f"{SUMMARY_HEADING}\n{summary}"


def summary_body(item_text: str) -> str:
    """The summary's own lines, without the heading (what the next fold builds on)."""
    return item_text.removeprefix(SUMMARY_HEADING).removeprefix("\n")


TOOL_KINDS = ("function_call", "function_call_output")


def call_line(name: str, arguments: str) -> str:
    """A function call as one short line: ``book_table(name='Ana', time='19:00', people=4)``."""
    try:
        args = json.loads(arguments or "{}")
    except ValueError:
        args = None
    if not isinstance(args, dict):
        return f"{name}({arguments})"
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


def summariser_line(item: Item) -> tuple[str, str]:
    """(role, text) of a folded item as the summariser reads it. A tool's output reads as something
    the assistant was told, so the summary keeps what it returned (a booking reference, a price)."""
    if item.kind == "function_call":
        return "assistant", f"(I called {item.text})"
    if item.kind == "function_call_output":
        return "assistant", f"({item.name or 'the tool'} returned: {item.text})"
    return item.role, item.text


def item_text(item: dict[str, Any]) -> tuple[str, bool]:
    """(text, has_audio) from an API item's content parts (a function call: its call line; a call's
    output: the output)."""
    if item.get("type") == "function_call":
        name = item.get("name")
        return (call_line(name, item.get("arguments") or "") if name else ""), False
    if item.get("type") == "function_call_output":
        return item.get("output") or "", False
    texts, has_audio = [], False
    for part in item.get("content") or []:
        kind = part.get("type", "")
        if "audio" in kind:
            has_audio = True
            if part.get("transcript"):
                texts.append(part["transcript"])
        elif part.get("text"):
            texts.append(part["text"])
    return "".join(texts), has_audio


class ConversationState:
    """Every item in server order, reconciled from server events."""

    SUMMARY_PREFIX = "sum_"

    def __init__(self) -> None:
        self.log: dict[str, Item] = {}
        self.window: list[str] = []
        self.divergences: list[str] = []  # events that did not fit our view; never silently ignored
        self.handoffs: list[dict[str, Any]] = []
        self._summarised: set[str] = set()  # ids some summary folded: their deletion is "by summary"

    # --- reconciliation from server events ------------------------------------------------------

    def on_item_added(self, item: dict[str, Any], previous_item_id: str | None) -> Item:
        """`conversation.item.added`: place the item after ``previous_item_id`` (None/"root": first)."""
        item_id = item["id"]
        text, has_audio = item_text(item)
        kind = item.get("type") or "message"
        role = "tool" if kind in TOOL_KINDS else item.get("role") or item.get("type", "unknown")
        existing = self.log.get(item_id)
        if existing is None:
            pending = (has_audio and not text and role == "user") or (
                kind == "function_call" and item.get("status") == "in_progress"
            )
            existing = Item(
                id=item_id,
                role=role,
                seq=len(self.log),
                text=text,
                has_audio=has_audio,
                status=TranscriptStatus.PENDING
                if pending or role == "assistant"
                else TranscriptStatus.COMPLETE,
                is_summary=role == "system" and item_id.startswith(self.SUMMARY_PREFIX),
                kind=kind,
                call_id=item.get("call_id"),
                name=item.get("name") or self._call_name(kind, item.get("call_id")),
                arguments=item.get("arguments") if kind == "function_call" else None,
            )
            self.log[item_id] = existing
        elif text and not existing.text:
            existing.text = text
        if item_id in self.window:
            return existing
        self._place(item_id, previous_item_id)
        existing.in_window, existing.deleted_by = True, None
        return existing

    def _place(self, item_id: str, previous_item_id: str | None) -> None:
        if previous_item_id in (None, "root"):
            # No predecessor means first in server order: the very first item, or one created at "root".
            self.window.insert(0, item_id)
            return
        if previous_item_id not in self.window:
            self.divergences.append(f"{item_id} added after unknown {previous_item_id}; appended")
            self.window.append(item_id)
            return
        self.window.insert(self.window.index(previous_item_id) + 1, item_id)

    def on_item_done(self, item: dict[str, Any]) -> None:
        """`conversation.item.done`: final content (assistant text/transcript arrives here too)."""
        known = self.log.get(item["id"])
        if known is None:
            self.on_item_added(item, self.window[-1] if self.window else None)
            return
        text, has_audio = item_text(item)
        known.has_audio = known.has_audio or has_audio
        if known.kind == "function_call" and item.get("arguments") is not None:
            known.arguments, known.name = item["arguments"], item.get("name") or known.name
            if item.get("status") != "in_progress":
                known.status = TranscriptStatus.COMPLETE
        if text:
            known.text = text
            if known.status is TranscriptStatus.PENDING and (known.role == "assistant" or not has_audio):
                known.status = TranscriptStatus.COMPLETE

    def on_item_deleted(self, item_id: str, by: str = "server") -> None:
        """`conversation.item.deleted`: gone from the window, never from the log."""
        by = "summary" if item_id in self._summarised and by == "server" else by
        if item_id in self.window:
            self.window.remove(item_id)
        item = self.log.get(item_id)
        if item is None:
            self.divergences.append(f"deleted unknown item {item_id}")
            return
        item.in_window = False
        item.deleted_by = item.deleted_by or by

    def on_item_truncated(self, item_id: str, audio_end_ms: int) -> None:
        item = self._known(item_id, "truncated")
        if item:
            item.truncated_at_ms = audio_end_ms
            item.audio_s = min(item.audio_s, audio_end_ms / 1000) if item.audio_s else audio_end_ms / 1000

    def on_user_audio(self, item_id: str, duration_s: float) -> None:
        """Duration of a committed user utterance (from VAD start/stop events)."""
        item = self.log.get(item_id)
        if item:
            item.audio_s = duration_s

    def on_transcript_delta(self, item_id: str, delta: str) -> None:
        item = self._known(item_id, "transcript delta")
        if item and item.status is TranscriptStatus.PENDING:
            item.text += delta

    def on_transcript_done(self, item_id: str, text: str) -> None:
        item = self._known(item_id, "transcript")
        if item:
            item.text, item.status, item.error = text, TranscriptStatus.COMPLETE, None

    def on_transcript_failed(self, item_id: str, error: str) -> None:
        item = self._known(item_id, "transcription failure")
        if item:
            item.status, item.error = TranscriptStatus.FAILED, error

    def on_assistant_audio(self, item_id: str, duration_s: float) -> None:
        item = self.log.get(item_id)
        if item:
            item.has_audio = True
            item.audio_s += duration_s

    def on_handoff(self, reason: str, at_s: float) -> list[str]:
        """The server-side conversation is gone (new session): everything leaves the window, nothing
        leaves the log. Returns the ids that were in the window."""
        gone = list(self.window)
        for item_id in gone:
            item = self.log[item_id]
            if item.status is TranscriptStatus.PENDING:  # its words will never arrive now
                item.status = TranscriptStatus.INTERRUPTED
            self.on_item_deleted(item_id, by="handoff")
        self.handoffs.append({"reason": reason, "at_s": round(at_s, 3), "window_before": gone, "seeded": []})
        return gone

    def mark_seeded(self, item_id: str, copy_of: str) -> None:
        """``item_id`` re-seeds ``copy_of`` (or a summary) into the new session."""
        item = self.log.get(item_id)
        if item:
            item.copy_of = copy_of
        if self.handoffs:
            self.handoffs[-1]["seeded"].append(item_id)

    def mark_summary(self, item_id: str, summarises: list[str]) -> None:
        item = self.log.get(item_id)
        if item:
            item.is_summary, item.summarises = True, list(summarises)
        self._summarised.update(summarises)

    def _call_name(self, kind: str, call_id: str | None) -> str | None:
        """An output's tool name, from its call."""
        if kind != "function_call_output":
            return None
        call = self._by_call("function_call", call_id)
        return call.name if call else None

    def _by_call(self, kind: str, call_id: str | None) -> Item | None:
        return next((i for i in self.log.values() if i.kind == kind and i.call_id == call_id), None)

    def _known(self, item_id: str, what: str) -> Item | None:
        item = self.log.get(item_id)
        if item is None:
            self.divergences.append(f"{what} for unknown item {item_id}")
        return item

    # --- views -----------------------------------------------------------------------------------

    def window_items(self) -> list[Item]:
        return [self.log[i] for i in self.window]

    def turns(self) -> list[Item]:
        """Every user/assistant turn ever spoken, in log order (re-seeded copies not counted twice)."""
        return [i for i in self.log.values() if i.is_turn and not i.copy_of]

    def window_turns(self) -> list[Item]:
        return [i for i in self.window_items() if i.is_turn]

    def tool_output(self, call_id: str | None) -> Item | None:
        """The output item of the call ``call_id`` (None until it arrives)."""
        return self._by_call("function_call_output", call_id)

    def current_summary(self) -> Item | None:
        return next((i for i in self.window_items() if i.is_summary), None)

    def to_json(self) -> str:
        """The full log plus the live window, for export."""
        items = []
        for item in self.log.values():
            d = asdict(item)
            d["status"] = item.status.value
            items.append(d)
        return json.dumps({"items": items, "window": list(self.window), "handoffs": self.handoffs}, indent=2)
