"""The server-side conversation: ordered items with their retained audio. Pure, no asyncio."""

from __future__ import annotations

import base64
import copy
import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from ..audio import SAMPLE_RATE, pcm_duration_s

_counter = itertools.count()


def new_id(prefix: str) -> str:
    """OpenAI-style ids (``item_…``, ``resp_…``, ``event_…``); unique and sortable within a process."""
    return f"{prefix}_{next(_counter):06d}{secrets.token_hex(4)}"


class ConversationError(Exception):
    """Bad client input about the conversation; becomes an ``error`` event, never a disconnect."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


AUDIO_PART_TYPES = ("input_audio", "output_audio")


@dataclass
class ServerItem:
    """One item of the engine's server-side conversation (the client's own is `voicenb.state.Item`).
    ``content`` holds GA content parts without audio bytes; the retained audio (PCM16 24 kHz) lives in
    ``audio`` so windows and truncation can measure it."""

    id: str
    role: str
    content: list[dict[str, Any]]
    status: str = "completed"
    audio: bytes = b""
    type: str = "message"  # or "function_call" / "function_call_output" (engine/tool_calls.py)
    call_id: str | None = None
    name: str | None = None  # a function call's tool ...
    arguments: str = ""  # ... and its JSON arguments
    output: str = ""  # a function call output's text

    @property
    def audio_s(self) -> float:
        return pcm_duration_s(self.audio)

    @property
    def has_audio(self) -> bool:
        return any(p.get("type") in AUDIO_PART_TYPES for p in self.content)

    @property
    def text(self) -> str:
        """What a language model reads for this item: its text, or its audio's transcript."""
        if self.type != "message":
            return _tool_item_text(self)
        pieces = [p.get("text") or p.get("transcript") or "" for p in self.content]
        return " ".join(p.strip() for p in pieces if p and p.strip())

    @property
    def billed_text(self) -> str:
        """Text billed as text tokens: text parts only (an audio part's transcript is not billed)."""
        if self.type != "message":
            return _tool_item_text(self)
        return " ".join(p.get("text") or "" for p in self.content if p.get("type") not in AUDIO_PART_TYPES)

    def to_api(self, *, with_audio: bool = False) -> dict[str, Any]:
        """The item as the API shows it (``conversation.item.*`` events); audio only on retrieve."""
        if self.type != "message":
            return _tool_item_api(self)
        content = copy.deepcopy(self.content)
        if with_audio and self.audio:
            for part in content:
                if part.get("type") in AUDIO_PART_TYPES:
                    part["audio"] = base64.b64encode(self.audio).decode()
        return {
            "id": self.id, "type": self.type, "object": "realtime.item", "status": self.status,
            "role": self.role, "content": content,
        }  # fmt: skip

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ServerItem:
        """Build from a validated ``conversation.item.create`` item (audio parts decoded and kept aside)."""
        if data.get("type") in TOOL_ITEM_TYPES:
            return _tool_item(data)
        if data.get("type") != "message":
            raise ConversationError(
                "invalid_value",
                f"Unsupported item type: {data.get('type')!r}; this engine keeps messages and function "
                "calls only.",
                "item.type",
            )  # fmt: skip
        audio, content = b"", []
        for part in data.get("content") or []:
            part = {k: v for k, v in part.items() if v is not None}
            if "audio" in part:
                try:
                    audio += base64.b64decode(part.pop("audio"), validate=True)
                except ValueError as e:
                    raise ConversationError("invalid_value", "Invalid base64 audio.", "item.content") from e
            content.append(part)
        if data.get("role") == "assistant" and audio:
            raise ConversationError("invalid_value", "Assistant items cannot carry audio.", "item.content")
        return cls(
            data.get("id") or new_id("item"), data["role"], content, data.get("status") or "completed", audio
        )


TOOL_ITEM_TYPES = ("function_call", "function_call_output")


def _tool_item(data: dict[str, Any]) -> ServerItem:
    """A function call (a client replaying one) or a call's output, from ``conversation.item.create``."""
    kind = data["type"]
    if not data.get("call_id"):
        raise ConversationError("missing_required_parameter", "Missing required parameter: 'item.call_id'.",
                                "item.call_id")  # fmt: skip
    if kind == "function_call" and not data.get("name"):
        raise ConversationError("missing_required_parameter", "Missing required parameter: 'item.name'.",
                                "item.name")  # fmt: skip
    return ServerItem(
        data.get("id") or new_id("item"),
        "assistant" if kind == "function_call" else "tool",
        [],
        data.get("status") or "completed",
        type=kind,
        call_id=data["call_id"],
        name=data.get("name"),
        arguments=data.get("arguments") or "",
        output=data.get("output") or "",
    )


def _tool_item_api(item: ServerItem) -> dict[str, Any]:
    common = {"id": item.id, "type": item.type, "object": "realtime.item", "status": item.status,
              "call_id": item.call_id}  # fmt: skip
    if item.type == "function_call":
        return {**common, "name": item.name, "arguments": item.arguments}
    return {**common, "output": item.output}


CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"  # Qwen2.5's tool-call format


def call_message_text(name: str, arguments: str) -> str:
    """A function call item as the assistant's text in the prompt."""
    try:
        args: Any = json.loads(arguments or "{}")
    except ValueError:
        args = arguments
    return f"{CALL_OPEN}\n{json.dumps({'name': name, 'arguments': args}, ensure_ascii=False)}\n{CALL_CLOSE}"


def output_message_text(output: str) -> str:
    """A function call output item as the user-side text the template gives tool responses."""
    return f"<tool_response>\n{output}\n</tool_response>"


def _tool_item_text(item: ServerItem) -> str:
    if item.type == "function_call":
        return call_message_text(item.name or "", item.arguments)
    return output_message_text(item.output)


@dataclass
class Conversation:
    items: list[ServerItem] = field(default_factory=list)

    def __contains__(self, item_id: str) -> bool:
        return any(i.id == item_id for i in self.items)

    def index(self, item_id: str, param: str = "item_id") -> int:
        for n, item in enumerate(self.items):
            if item.id == item_id:
                return n
        raise ConversationError(
            "item_not_found" if param == "item_id" else "previous_item_not_found",
            f"Item with item_id not found: {item_id}",
            param,
        )

    def get(self, item_id: str) -> ServerItem:
        return self.items[self.index(item_id)]

    def add(self, item: ServerItem, previous_item_id: str | None = None) -> str | None:
        """Insert after ``previous_item_id`` ("root": at the start; None: at the end).
        Returns the id of the item now before it (None at the start)."""
        if item.id in self:
            raise ConversationError(
                "item_already_exists", f"Item with id {item.id} already exists", "item.id"
            )
        if previous_item_id == "root":
            at = 0
        elif previous_item_id is None:
            at = len(self.items)
        else:
            at = self.index(previous_item_id, "previous_item_id") + 1
        self.items.insert(at, item)
        return self.items[at - 1].id if at else None

    def previous_id(self, item_id: str) -> str | None:
        at = self.index(item_id)
        return self.items[at - 1].id if at else None

    def delete(self, item_id: str) -> ServerItem:
        return self.items.pop(self.index(item_id))

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> None:
        """Cut an assistant item's retained audio at ``audio_end_ms`` (what the user actually heard),
        and its transcript in proportion, so the model does not "remember" words never played."""
        item = self.get(item_id)
        if item.role != "assistant" or not item.has_audio:
            raise ConversationError(
                "invalid_value", "Only assistant audio items can be truncated.", "item_id"
            )
        if (
            not 0 <= content_index < len(item.content)
            or item.content[content_index].get("type") != "output_audio"
        ):
            raise ConversationError(
                "invalid_value", f"Invalid content_index: {content_index}", "content_index"
            )
        duration_ms = item.audio_s * 1000
        if audio_end_ms < 0 or audio_end_ms > duration_ms + 1:
            raise ConversationError(
                "invalid_value",
                f"audio_end_ms ({audio_end_ms}) exceeds the item's audio duration ({duration_ms:.0f} ms)",
                "audio_end_ms",
            )
        kept = min(1.0, audio_end_ms / duration_ms) if duration_ms else 0.0
        item.audio = item.audio[: int(audio_end_ms * SAMPLE_RATE / 1000) * 2]
        part = item.content[content_index]
        part["transcript"] = cut_words(part.get("transcript") or "", kept)


def cut_words(text: str, fraction: float) -> str:
    """The first ``fraction`` of ``text`` by characters, ending at a word boundary."""
    if fraction >= 1.0:
        return text
    cut = text[: int(len(text) * fraction)]
    if cut and len(cut) < len(text) and not text[len(cut)].isspace():
        cut = cut.rsplit(" ", 1)[0] if " " in cut else ""
    return cut.strip()


def llm_messages(instructions: str, items: list[ServerItem]) -> list[dict[str, str]]:
    """Exactly the server-side conversation as chat messages: instructions, then each item in order.
    Items with nothing to read (e.g. a failed transcription) are left out rather than sent empty."""
    messages = [{"role": "system", "content": instructions}] if instructions else []
    for item in items:
        if item.text:
            # a call's output reads as the user side of the turn, as Qwen2.5's template writes it
            role = "user" if item.type == "function_call_output" else item.role
            if role == "user" and messages and messages[-1]["role"] == "user" and item.type != "message":
                messages[-1] = {"role": "user", "content": f"{messages[-1]['content']}\n{item.text}"}
            else:
                messages.append({"role": role, "content": item.text})
    return messages
