"""Offline speech synthesis for spoken user turns in tests, demos and notebooks."""

from __future__ import annotations

from .components import LanguageTTS, PiperTTS, _cached_tts


def synthesize(text: str, voice: str | None = None) -> bytes:
    """``text`` spoken by the bundled piper voice (or the ``voice`` .onnx given), as PCM16 mono 24 kHz;
    the same text is the same audio, so a spoken turn is heard the same way on every run.

    Raises MissingExtraError (naming ``voicenb[offline]``) when no voice is installed."""
    tts, _ = _cached_tts(voice)
    english = tts.english if isinstance(tts, LanguageTTS) else tts  # piper, beside espeak-ng
    if isinstance(english, PiperTTS):
        return english.synthesize(text, reproducible=True)
    return english.synthesize(text)
