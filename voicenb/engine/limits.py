"""Input validation beyond the SDK's types: value ranges OpenAI enforces, PCM framing, room left. Pure.

Each check raises ProtocolError (code, message and the offending ``param`` in OpenAI's style), which the
server turns into an ``error`` event while the connection stays open.
"""

from __future__ import annotations

import math
from typing import Any

from ..audio import SAMPLE_RATE
from .protocol import ProtocolError

# (dotted path inside the session, minimum, maximum); None: unbounded on that side. As the real API.
SESSION_RANGES: list[tuple[str, float | None, float | None]] = [
    ("audio.input.turn_detection.threshold", 0.0, 1.0),
    ("audio.input.turn_detection.prefix_padding_ms", 0, None),
    ("audio.input.turn_detection.silence_duration_ms", 0, None),
    ("audio.input.turn_detection.idle_timeout_ms", 5_000, 30_000),
    ("audio.output.speed", 0.25, 1.5),
    ("truncation.retention_ratio", 0.0, 1.0),
    ("truncation.token_limits.post_instructions", 0, None),
    ("max_output_tokens", 1, 4096),
]
# Parts of the session the engine reads as objects: null there would break every later turn.
NOT_NULL_OBJECTS = ("audio", "audio.input", "audio.output")


def check_pcm16(pcm: bytes, event_id: str | None = None) -> None:
    """PCM16 is two bytes a sample: an odd length cannot be audio."""
    if len(pcm) % 2:
        raise ProtocolError(
            "invalid_value",
            f"Invalid 'audio': PCM16 audio must be a whole number of 2-byte samples, got {len(pcm)} bytes.",
            "audio",
            event_id,
        )


def check_conversation_room(
    items: list[Any], audio_bytes: int, max_items: int, max_audio_s: float, event_id: str | None = None
) -> None:
    """Refuse one more item (with ``audio_bytes`` of PCM16 24 kHz) past the per-connection bounds."""
    if len(items) >= max_items:
        raise ProtocolError(
            "conversation_too_large",
            f"The conversation already holds {max_items} items: delete some first.",
            None,
            event_id,
        )
    retained_s = (sum(len(i.audio) for i in items) + audio_bytes) / (2 * SAMPLE_RATE)
    if retained_s > max_audio_s:
        raise ProtocolError(
            "conversation_too_large",
            f"The conversation would retain {retained_s:.0f} s of audio, over {max_audio_s:g} s: "
            "delete or truncate items first.",
            None,
            event_id,
        )


def _lookup(data: Any, path: str) -> tuple[bool, Any]:
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            return False, None
        data = data[key]
    return True, data


def check_session_values(session: dict[str, Any], event_id: str | None = None) -> None:
    """Reject out-of-range numbers and nulls where an object is required, as ``session.<path>``."""
    for path in NOT_NULL_OBJECTS:
        present, value = _lookup(session, path)
        if present and not isinstance(value, dict):
            raise ProtocolError(
                "invalid_type",
                f"Invalid type for 'session.{path}': expected an object, got {_json_type(value)} instead.",
                f"session.{path}",
                event_id,
            )
    for path, low, high in SESSION_RANGES:
        present, value = _lookup(session, path)
        if present and value is not None and not (path == "max_output_tokens" and value == "inf"):
            _check_range(f"session.{path}", value, low, high, event_id)


def _check_range(param: str, value: Any, low: float | None, high: float | None, event_id: str | None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError(
            "invalid_type", f"Invalid type for '{param}': expected a finite number.", param, event_id
        )
    if low is not None and value < low:
        code, bound = "decimal_below_min_value", f">= {low}"
    elif high is not None and value > high:
        code, bound = "decimal_above_max_value", f"<= {high}"
    else:
        return
    raise ProtocolError(
        code,
        f"Invalid '{param}': expected a value {bound}, but got {value} instead.",
        param,
        event_id,
    )


def _json_type(value: Any) -> str:
    return "null" if value is None else type(value).__name__
