"""The engine's model parts behind OpenAI-compatible HTTP servers, chosen by URL: the reply LLM
(``/chat/completions``: llama.cpp's server, vLLM, Ollama), speech to text (``/audio/transcriptions``:
vLLM with a whisper model, speaches, ``voicenb serve-models``) and text to speech (``/audio/speech``).

A classroom runs one such server for the room and a light engine per room or per learner; the engine
keeps what is per connection (VAD, turn taking, the conversation) and sends only the model calls out.
Each part takes its key from ``VOICENB_{LLM,STT,TTS}_API_KEY``; a local server usually wants none, and
then no Authorization header is sent at all.
"""

from __future__ import annotations

import io
import os
import threading
import wave
from collections.abc import Iterator
from typing import Any, cast

from ..audio import SAMPLE_RATE, float_to_pcm, pcm_to_float, resample

CALL_TIMEOUT_S = 60.0  # one transcription or synthesis; the SDK's default (600 s) would hide a dead server


class _Endpoint:
    """An SDK client for one part's server, without a made-up key when the server wants none."""

    def __init__(self, base_url: str, model: str, part: str, api_key: str | None = None) -> None:
        from openai import Omit, OpenAI

        key = api_key or os.environ.get(f"VOICENB_{part}_API_KEY")
        self._client = OpenAI(
            base_url=base_url, api_key=key, timeout=CALL_TIMEOUT_S, max_retries=1, _enforce_credentials=False
        )
        self._auth: dict[str, Any] = {} if key else {"Authorization": Omit()}
        self._model = model
        self.base_url = base_url


class ChatEndpointLLM(_Endpoint):
    """Replies streamed from any OpenAI-compatible chat endpoint."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None) -> None:
        super().__init__(base_url, model, "LLM", api_key)

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        chunks = self._client.chat.completions.create(
            model=self._model,
            messages=cast(Any, messages),  # role/content dicts: the SDK's message params
            max_tokens=max_tokens,
            temperature=0.0,
            stream=True,
            extra_headers=self._auth,
        )
        for chunk in chunks:
            if stop.is_set():
                chunks.close()
                break
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content


class EndpointSTT(_Endpoint):
    """A turn's audio sent as a WAV file; the text, and the language when the server says it (vLLM,
    speaches and voicenb do in ``language``; OpenAI's json format does not, then the likely one)."""

    multilingual = True

    def __init__(self, base_url: str, model: str = "whisper-1", api_key: str | None = None) -> None:
        super().__init__(base_url, model, "STT", api_key)

    def transcribe(self, pcm: bytes, language: str | None = None) -> str:
        return self.transcribe_detect(pcm, language)[0]

    def transcribe_detect(
        self, pcm: bytes, language: str | None = None, likely: str | None = None
    ) -> tuple[str, str]:
        from openai import omit

        result = self._client.audio.transcriptions.create(
            model=self._model, file=("turn.wav", wav_bytes(pcm), "audio/wav"), response_format="json",
            language=language or omit, extra_headers=self._auth,
        )  # fmt: skip
        detected = (result.model_extra or {}).get("language")
        return result.text.strip(), str(detected or language or likely or "en")


class EndpointTTS(_Endpoint):
    """Speech as WAV (every server speaks it, with its rate in the header), resampled to the wire's
    24 kHz. A reply's language goes as ``language`` in the body only when it is not English: voicenb's
    server speaks it (espeak-ng); a server that does not know the field may refuse it."""

    multilingual = True

    def __init__(
        self, base_url: str, model: str = "tts-1", voice: str = "alloy", api_key: str | None = None
    ) -> None:
        super().__init__(base_url, model, "TTS", api_key)
        self._voice = voice

    def synthesize(self, text: str, language: str | None = None) -> bytes:
        extra = {"language": language} if language and not language.startswith("en") else None
        audio = self._client.audio.speech.create(
            model=self._model, voice=self._voice, input=text, response_format="wav",
            extra_headers=self._auth, extra_body=extra,
        )  # fmt: skip
        return wav_to_pcm24k(audio.content)


def wav_bytes(pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
    """PCM16 mono as a WAV file in memory."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def wav_to_pcm24k(data: bytes) -> bytes:
    """A 16-bit WAV file (any rate, mixed down) as PCM16 mono at 24 kHz; ValueError for anything else."""
    import numpy as np

    try:
        with wave.open(io.BytesIO(data)) as w:
            width, rate, channels = w.getsampwidth(), w.getframerate(), w.getnchannels()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise ValueError(f"the speech server did not send a WAV file: {e}") from None
    if width != 2:
        raise ValueError(f"the speech server sent {8 * width}-bit audio; 16-bit PCM WAV is needed")
    samples = pcm_to_float(raw).reshape(-1, channels).mean(axis=1).astype(np.float32)
    return float_to_pcm(resample(samples, rate, SAMPLE_RATE))
