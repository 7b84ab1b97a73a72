"""OpenAI-compatible ``POST /v1/audio/transcriptions`` and ``POST /v1/audio/speech`` from the engine's
local speech models, so a classroom's engines can share one model server (``voicenb serve-models``)
the way they share a chat endpoint. Requests are parsed here, without I/O; ``ChatAPI`` serves them.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import Any

from ..audio import SAMPLE_RATE

MAX_AUDIO_BODY_BYTES = 25 * 1024 * 1024  # OpenAI's limit for one file to transcribe
MAX_SPEECH_CHARS = 4096  # OpenAI's limit for one speech request
TRANSCRIPTION_FORMATS = ("json", "verbose_json")
SPEECH_FORMATS = ("wav", "pcm")  # pcm: raw 16-bit mono at 24 kHz, as OpenAI sends it


class BadRequest(ValueError):
    """A request the server refuses with HTTP 400 and this one-line reason."""


@dataclass(frozen=True)
class Binary:
    """A response body that is not JSON (synthesised audio)."""

    data: bytes
    content_type: str


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code, "param": None}}


def form_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a ``multipart/form-data`` body (the file's bytes under its field name)."""
    if not content_type.startswith("multipart/form-data"):
        raise BadRequest("the body must be multipart/form-data with a 'file' field")
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload
    return fields


def parse_transcription(content_type: str, body: bytes) -> tuple[bytes, str | None, str]:
    """(PCM16 mono 24 kHz, language or None, response format) of a transcription request."""
    from .endpoints import wav_to_pcm24k

    fields = form_fields(content_type, body)
    if "file" not in fields:
        raise BadRequest("the form needs a 'file' field")
    fmt = fields.get("response_format", b"json").decode(errors="replace")
    if fmt not in TRANSCRIPTION_FORMATS:
        raise BadRequest(f"response_format must be one of {', '.join(TRANSCRIPTION_FORMATS)}")
    try:
        pcm = wav_to_pcm24k(fields["file"])
    except ValueError as e:
        raise BadRequest(f"the file must be a 16-bit PCM WAV ({e})") from None
    language = fields.get("language", b"").decode(errors="replace").strip() or None
    return pcm, language, fmt


def parse_speech(body: bytes) -> tuple[str, str | None, str]:
    """(text, language or None, response format) of a speech request."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"body is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    text = data.get("input")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("'input' must be non-empty text")
    if len(text) > MAX_SPEECH_CHARS:
        raise BadRequest(f"'input' is longer than {MAX_SPEECH_CHARS} characters")
    fmt = data.get("response_format") or "wav"
    if fmt not in SPEECH_FORMATS:
        raise BadRequest(f"response_format must be one of {', '.join(SPEECH_FORMATS)} here")
    language = data.get("language")
    return text, language if isinstance(language, str) and language else None, fmt


async def transcribe(stt: Any, content_type: str, body: bytes) -> tuple[int, Any]:
    try:
        pcm, language, fmt = parse_transcription(content_type, body)
    except BadRequest as e:
        return 400, error_body(str(e), "invalid_request")
    detect = getattr(stt, "transcribe_detect", None)
    if detect is not None:
        text, detected = await asyncio.to_thread(detect, pcm, language)
    else:
        text, detected = await asyncio.to_thread(stt.transcribe, pcm), language or "en"
    result: dict[str, Any] = {"text": text, "language": detected}
    if fmt == "verbose_json":
        result |= {"task": "transcribe", "duration": round(len(pcm) / 2 / SAMPLE_RATE, 3), "segments": []}
    return 200, result


async def speak(tts: Any, body: bytes) -> tuple[int, Any]:
    from .endpoints import wav_bytes

    try:
        text, language, fmt = parse_speech(body)
    except BadRequest as e:
        return 400, error_body(str(e), "invalid_request")
    if language and not language.startswith("en") and getattr(tts, "multilingual", False):
        pcm = await asyncio.to_thread(tts.synthesize, text, language)
    else:
        pcm = await asyncio.to_thread(tts.synthesize, text)
    if fmt == "pcm":
        return 200, Binary(pcm, "audio/pcm")
    return 200, Binary(wav_bytes(pcm), "audio/wav")
