"""Offline speech synthesis for spoken user turns in tests, demos and notebooks."""

from __future__ import annotations

from .components import _cached_tts


def synthesise(text: str, voice: str | None = None) -> bytes:
    """``text`` spoken by the bundled piper voice (or the ``voice`` .onnx given), as PCM16 mono 24 kHz.

    Raises MissingExtraError (naming ``voicenb[offline]``) when no voice is installed."""
    tts, _ = _cached_tts(voice)
    return tts.synthesize(text)
