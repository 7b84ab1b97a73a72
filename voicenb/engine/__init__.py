"""Offline realtime engine: a loopback websocket server speaking OpenAI's GA Realtime protocol with
local speech models (silero VAD, faster-whisper STT, a GGUF reply LLM, piper TTS).

    async with OfflineEngine(EngineConfig()) as eng:
        client = AsyncOpenAI(api_key=eng.config.token, websocket_base_url=eng.url)
        async with client.realtime.connect(model="gpt-realtime") as conn: ...
"""

from .config import EngineConfig, MissingExtraError
from .server import OfflineEngine
from .server import serve_forever as serve

__all__ = ["EngineConfig", "MissingExtraError", "OfflineEngine", "serve"]
