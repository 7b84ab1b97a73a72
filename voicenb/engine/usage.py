"""Usage accounting and server-side truncation, as OpenAI bills and trims the retained window. Pure.

Billing model (every ``response.done``):
- input_tokens = the whole retained window at response time: the instructions' text tokens, plus each
  item: text parts by o200k_base; user audio at 10 tokens/s; assistant audio at 20 tokens/s. An audio
  part's transcript is *not* billed on top of its audio (the model consumes the audio, not the text).
  No per-message framing tokens are added, so the numbers are reproducible from the items alone.
- audio_tokens and cached_tokens are subsets of input_tokens (text_tokens + audio_tokens = input_tokens).
- cached_tokens: the longest prefix of the window (instructions, then items in order) that is identical
  to the previous response's window; the first response has none. OpenAI's 1,024-token minimum and
  64-token granularity are not modelled.
- output: text_tokens = the reply's text (or audio transcript) by o200k; audio_tokens = its audio at
  20 tokens/s. A cancelled response that produced nothing reports all zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..tokens import audio_tokens, count_text_tokens
from .conversation import ServerItem


@dataclass(frozen=True)
class Segment:
    """One billed unit of the window; ``key`` changes whenever its billed content changes."""

    key: tuple[Any, ...]
    text_tokens: int
    audio_tokens: int
    item_id: str | None = None

    @property
    def tokens(self) -> int:
        return self.text_tokens + self.audio_tokens


@dataclass(frozen=True)
class Window:
    segments: tuple[Segment, ...]

    @property
    def text_tokens(self) -> int:
        return sum(s.text_tokens for s in self.segments)

    @property
    def audio_tokens(self) -> int:
        return sum(s.audio_tokens for s in self.segments)

    @property
    def tokens(self) -> int:
        return self.text_tokens + self.audio_tokens


def item_segment(item: ServerItem) -> Segment:
    text = item.billed_text
    audio = audio_tokens(item.audio_s, item.role) if item.has_audio else 0
    return Segment((item.id, text, len(item.audio)), count_text_tokens(text), audio, item.id)


def window(instructions: str, items: Sequence[ServerItem]) -> Window:
    head = Segment(("instructions", instructions), count_text_tokens(instructions), 0)
    return Window((head, *(item_segment(i) for i in items)))


def cached_prefix(previous: Window | None, current: Window) -> tuple[int, int]:
    """(text, audio) tokens of the leading segments unchanged since ``previous``."""
    text = audio = 0
    for old, new in zip(previous.segments if previous else (), current.segments, strict=False):
        if old.key != new.key:
            break
        text, audio = text + new.text_tokens, audio + new.audio_tokens
    return text, audio


def response_usage(
    current: Window, previous: Window | None, output_text_tokens: int, output_audio_tokens: int
) -> dict[str, Any]:
    """``response.usage`` in the API's shape."""
    cached_text, cached_audio = cached_prefix(previous, current)
    output = output_text_tokens + output_audio_tokens
    return {
        "total_tokens": current.tokens + output,
        "input_tokens": current.tokens,
        "output_tokens": output,
        "input_token_details": {
            "text_tokens": current.text_tokens,
            "audio_tokens": current.audio_tokens,
            "image_tokens": 0,
            "cached_tokens": cached_text + cached_audio,
            "cached_tokens_details": {
                "text_tokens": cached_text,
                "audio_tokens": cached_audio,
                "image_tokens": 0,
            },
        },
        "output_token_details": {"text_tokens": output_text_tokens, "audio_tokens": output_audio_tokens},
    }


def zero_usage() -> dict[str, Any]:
    return response_usage(Window(()), None, 0, 0)


def truncation_target(truncation: Any, truncation_at: int) -> int | None:
    """Window size to trim down to once it exceeds the limit; None when truncation is disabled.
    ``"auto"`` trims just below the limit; a retention ratio trims further so later turns stay cached."""
    if truncation == "disabled":
        return None
    if isinstance(truncation, dict) and truncation.get("type") == "retention_ratio":
        limit = (truncation.get("token_limits") or {}).get("post_instructions") or truncation_at
        return int(limit * float(truncation["retention_ratio"]))
    return truncation_at


def items_to_drop(current: Window, truncation: Any, truncation_at: int) -> list[str]:
    """Ids of the oldest items to drop so the window fits, per ``session.truncation``.
    Nothing is dropped until the window exceeds the limit; the newest item is always kept."""
    if isinstance(truncation, dict):
        limit = (truncation.get("token_limits") or {}).get("post_instructions") or truncation_at
    else:
        limit = truncation_at
    target = truncation_target(truncation, truncation_at)
    if target is None or current.tokens <= limit:
        return []
    total, dropped = current.tokens, []
    for seg in current.segments[1:-1]:
        if total <= target:
            break
        dropped.append(seg.item_id)
        total -= seg.tokens
    return [d for d in dropped if d]
