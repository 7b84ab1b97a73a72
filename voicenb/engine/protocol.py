"""Wire format, both directions, through the `openai` SDK's own pydantic types so it cannot drift.

Client events are validated with the SDK's models, then checked for fields the models do not
declare (the SDK models accept extras; OpenAI answers ``unknown_parameter``). Server events are
built as SDK models and serialised with only the fields we set.
"""

from __future__ import annotations

import copy
import json
import typing
from typing import Any

import pydantic
from openai import BaseModel
from openai.types import realtime as rt
from openai.types.realtime.realtime_client_event import RealtimeClientEvent
from openai.types.realtime.realtime_server_event import ConversationItemRetrieved
from openai.types.realtime.response_item_reference import ResponseItemReference

from .config import DEFAULT_INSTRUCTIONS, MAX_FRAME_BYTES
from .conversation import new_id

MAX_JSON_DEPTH = 64  # OpenAI's event schemas nest about 8 deep; deeper is an attack, not a request


class ProtocolError(Exception):
    """A client event the server rejects with an ``error`` event (the connection stays open)."""

    def __init__(
        self, code: str, message: str, param: str | None = None, event_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.param, self.event_id = code, message, param, event_id


def json_depth_ok(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) nests at most ``limit`` containers deep. Iterative: no recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def _client_event_models() -> dict[str, type[BaseModel]]:
    union = typing.get_args(typing.get_args(RealtimeClientEvent)[0])
    return {typing.get_args(m.model_fields["type"].annotation)[0]: m for m in union}


CLIENT_EVENT_MODELS = _client_event_models()


def parse_client_event(raw: str | bytes) -> BaseModel:
    """One validated client event, or ProtocolError with OpenAI's error code."""
    if len(raw) > MAX_FRAME_BYTES:
        raise ProtocolError(
            "message_too_large", f"Message of {len(raw)} bytes exceeds the {MAX_FRAME_BYTES}-byte limit."
        )
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ProtocolError("invalid_json", f"Invalid JSON: {e}") from None
    except RecursionError:  # nested beyond the parser's own stack
        data = RecursionError
    if data is RecursionError or not json_depth_ok(data):
        raise ProtocolError("invalid_json", f"Invalid JSON: nested more than {MAX_JSON_DEPTH} levels deep.")
    if not isinstance(data, dict):
        raise ProtocolError("invalid_json", "Expected a JSON object.")
    event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
    model = CLIENT_EVENT_MODELS.get(data.get("type"))  # type: ignore[arg-type]
    if model is None:
        raise ProtocolError(
            "invalid_value",
            f"Invalid value: {data.get('type')!r}. Supported values are: {', '.join(CLIENT_EVENT_MODELS)}.",
            "type",
            event_id,
        )
    try:
        references = _take_item_references(data)
        event = model.model_validate(data)
    except pydantic.ValidationError as e:
        raise _validation_error(e, event_id) from None
    if references:
        _put_item_references(event, references)
    unknown = unknown_fields(event)
    if unknown:
        raise ProtocolError("unknown_parameter", f"Unknown parameter: '{unknown[0]}'.", unknown[0], event_id)
    return event


def _take_item_references(data: dict[str, Any]) -> dict[int, ResponseItemReference]:
    """``response.create`` input may reference existing items; the SDK types those separately."""
    response = data.get("response")
    if data.get("type") != "response.create" or not isinstance(response, dict):
        return {}
    inputs = response.get("input")
    if not isinstance(inputs, list):
        return {}
    references = {
        n: ResponseItemReference.model_validate(x)
        for n, x in enumerate(inputs)
        if isinstance(x, dict) and x.get("type") == "item_reference"
    }
    response["input"] = [x for n, x in enumerate(inputs) if n not in references]
    return references


def _put_item_references(event: Any, references: dict[int, ResponseItemReference]) -> None:
    items = list(event.response.input)
    for n in sorted(references):
        items.insert(n, references[n])
    event.response.input = items


def _validation_error(e: pydantic.ValidationError, event_id: str | None) -> ProtocolError:
    # The union members the SDK tries all fail; the shortest location is the most useful to report.
    err = min(e.errors(), key=lambda x: len(x["loc"]))
    param = ".".join(str(p) for p in err["loc"] if not _is_union_tag(p))
    code = {"missing": "missing_required_parameter", "literal_error": "invalid_value"}.get(
        err["type"], "invalid_type"
    )
    return ProtocolError(code, f"Invalid '{param}': {err['msg']}", param or None, event_id)


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part[:1].isupper() or "[" in part)


def unknown_fields(value: Any, path: str = "") -> list[str]:
    """Dotted paths of fields a validated SDK model did not declare (its ``model_extra``)."""
    found: list[str] = []
    if isinstance(value, pydantic.BaseModel):
        for key in value.model_extra or {}:
            found.append(f"{path}{key}")
        for name in type(value).model_fields:
            found += unknown_fields(getattr(value, name), f"{path}{name}.")
    elif isinstance(value, list):
        for n, v in enumerate(value):
            found += unknown_fields(v, f"{path[:-1]}[{n}].")
    return found


# --- server events -----------------------------------------------------------------------------

_SERVER_EVENT_MODELS: dict[str, type[BaseModel]] = {
    "error": rt.RealtimeErrorEvent,
    "session.created": rt.SessionCreatedEvent,
    "session.updated": rt.SessionUpdatedEvent,
    "input_audio_buffer.speech_started": rt.InputAudioBufferSpeechStartedEvent,
    "input_audio_buffer.speech_stopped": rt.InputAudioBufferSpeechStoppedEvent,
    "input_audio_buffer.committed": rt.InputAudioBufferCommittedEvent,
    "input_audio_buffer.cleared": rt.InputAudioBufferClearedEvent,
    "conversation.item.added": rt.ConversationItemAdded,
    "conversation.item.done": rt.ConversationItemDone,
    "conversation.item.deleted": rt.ConversationItemDeletedEvent,
    "conversation.item.retrieved": ConversationItemRetrieved,
    "conversation.item.truncated": rt.ConversationItemTruncatedEvent,
    "conversation.item.input_audio_transcription.delta": rt.ConversationItemInputAudioTranscriptionDeltaEvent,
    "conversation.item.input_audio_transcription.completed": (
        rt.ConversationItemInputAudioTranscriptionCompletedEvent
    ),
    "conversation.item.input_audio_transcription.failed": (
        rt.ConversationItemInputAudioTranscriptionFailedEvent
    ),
    "response.created": rt.ResponseCreatedEvent,
    "response.done": rt.ResponseDoneEvent,
    "response.output_item.added": rt.ResponseOutputItemAddedEvent,
    "response.output_item.done": rt.ResponseOutputItemDoneEvent,
    "response.content_part.added": rt.ResponseContentPartAddedEvent,
    "response.content_part.done": rt.ResponseContentPartDoneEvent,
    "response.output_audio.delta": rt.ResponseAudioDeltaEvent,
    "response.output_audio.done": rt.ResponseAudioDoneEvent,
    "response.output_audio_transcript.delta": rt.ResponseAudioTranscriptDeltaEvent,
    "response.output_audio_transcript.done": rt.ResponseAudioTranscriptDoneEvent,
    "response.output_text.delta": rt.ResponseTextDeltaEvent,
    "response.output_text.done": rt.ResponseTextDoneEvent,
    "response.function_call_arguments.delta": rt.ResponseFunctionCallArgumentsDeltaEvent,
    "response.function_call_arguments.done": rt.ResponseFunctionCallArgumentsDoneEvent,
}


def server_event(type_: str, **fields: Any) -> str:
    """A server event validated by its SDK model and serialised to JSON with only the given fields."""
    model = _SERVER_EVENT_MODELS[type_]
    event = model.model_validate({"type": type_, "event_id": new_id("event"), **fields})
    return event.model_dump_json(exclude_unset=True)


def error_event(
    code: str,
    message: str,
    param: str | None = None,
    event_id: str | None = None,
    error_type: str = "invalid_request_error",
) -> str:
    error = {
        "type": error_type,
        "code": code,
        "message": message,
        "param": param,
        "event_id": event_id,
    }
    return server_event("error", error=error)


# --- session config ----------------------------------------------------------------------------

DEFAULT_TURN_DETECTION: dict[str, Any] = {
    "type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 200,
    "idle_timeout_ms": None, "create_response": True, "interrupt_response": True,
}  # fmt: skip
PCM_FORMAT = {"type": "audio/pcm", "rate": 24000}
_REPLACED_WHOLE = {"turn_detection", "format", "truncation", "transcription", "noise_reduction", "tools"}


def default_session(model: str) -> dict[str, Any]:
    """The session GA OpenAI reports in ``session.created`` (server VAD on, audio out, no transcription)."""
    return {
        "type": "realtime", "object": "realtime.session", "id": new_id("sess"), "model": model,
        "output_modalities": ["audio"], "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [], "tool_choice": "auto",
        "max_output_tokens": "inf", "tracing": None, "truncation": "auto", "prompt": None,
        "audio": {
            "input": {
                "format": dict(PCM_FORMAT), "transcription": None, "noise_reduction": None,
                "turn_detection": dict(DEFAULT_TURN_DETECTION),
            },
            "output": {"format": dict(PCM_FORMAT), "voice": "marin", "speed": 1.0},
        },
    }  # fmt: skip


def merge_session(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Apply a ``session.update``: only the fields present change; typed unions replace as a whole."""
    merged = copy.deepcopy(current)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in _REPLACED_WHOLE:
            merged[key] = merge_session(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def check_session(session: dict[str, Any]) -> None:
    """Reject settings this engine cannot honour (OpenAI would reject them too)."""
    if session.get("type") != "realtime":
        raise ProtocolError("invalid_value", "Only 'realtime' sessions are supported.", "session.type")
    mods = session.get("output_modalities") or ["audio"]
    if len(mods) != 1:
        raise ProtocolError(
            "invalid_value", "output_modalities must be ['audio'] or ['text'].", "session.output_modalities"
        )
    for direction in ("input", "output"):
        fmt = ((session.get("audio") or {}).get(direction) or {}).get("format") or PCM_FORMAT
        if fmt.get("type") != "audio/pcm" or fmt.get("rate", 24000) != 24000:
            raise ProtocolError(
                "invalid_value",
                "This engine speaks audio/pcm at 24000 Hz only.",
                f"session.audio.{direction}.format",
            )


DEFAULT_SEMANTIC_VAD: dict[str, Any] = {
    "type": "semantic_vad", "eagerness": "auto", "create_response": True, "interrupt_response": True,
}  # fmt: skip


def turn_detection(session: dict[str, Any]) -> dict[str, Any] | None:
    """Effective server-VAD settings (defaults filled in), or None when turn detection is off."""
    td = ((session.get("audio") or {}).get("input") or {}).get("turn_detection")
    if not td:
        return None
    return {**DEFAULT_TURN_DETECTION, **{k: v for k, v in td.items() if v is not None}}


def effective_session(session: dict[str, Any]) -> dict[str, Any]:
    """``session`` with ``turn_detection``'s defaults filled in, as OpenAI echoes it: a client reading
    ``session.updated`` after a partial update (``{"type": "server_vad"}``) must see that
    ``interrupt_response`` and ``create_response`` are on, or it cancels replies itself."""
    td = ((session.get("audio") or {}).get("input") or {}).get("turn_detection")
    if not td:
        return session
    defaults = DEFAULT_SEMANTIC_VAD if td.get("type") == "semantic_vad" else DEFAULT_TURN_DETECTION
    filled = copy.deepcopy(session)
    given = {k: v for k, v in td.items() if v is not None}
    filled["audio"]["input"]["turn_detection"] = {**defaults, **given}
    return filled
