"""Speech in the conversation's language: the session's transcription language (or the detected one)
reaches the recogniser, and a TTS that speaks several languages is asked for that language."""

from __future__ import annotations

import base64
import shutil

import pytest

from tests.engine.fakes import ToneTTS, collect_until, connect, next_event
from voicenb.engine import EngineConfig, OfflineEngine
from voicenb.engine.components import EspeakTTS, LanguageTTS


class Recorder(ToneTTS):
    multilingual = True

    def __init__(self) -> None:
        super().__init__(0.1)
        self.languages: list[str | None] = []

    def synthesize(self, text: str, language: str | None = None) -> bytes:
        self.languages.append(language)
        return super().synthesize(text)


class DetectingSTT:
    def __init__(self) -> None:
        self.asked: list[str | None] = []
        self.likely: list[str | None] = []

    def transcribe_detect(
        self, pcm: bytes, language: str | None = None, likely: str | None = None
    ) -> tuple[str, str]:
        self.asked.append(language)
        self.likely.append(likely)
        return "hola", "es"

    def transcribe(self, pcm: bytes) -> str:
        return "hola"


class Says:
    def stream(self, messages, max_tokens, stop):
        yield "Hola, ¿qué tal?"


async def say(conn) -> list:
    await conn.input_audio_buffer.append(audio=base64.b64encode(bytes(48000)).decode())
    await conn.input_audio_buffer.commit()
    await conn.response.create()
    return await collect_until(conn, "response.done")


@pytest.mark.parametrize("given", [None, "es"])
async def test_language_reaches_stt_and_tts(given):
    stt, tts = DetectingSTT(), Recorder()
    config = EngineConfig(load_models=False, stt=stt, llm=Says(), tts=tts)
    async with OfflineEngine(config) as engine, connect(engine.url) as conn:
        transcription = {"model": "whisper-1", **({"language": given} if given else {})}
        audio_in = {"turn_detection": None, "transcription": transcription}
        session = {"type": "realtime", "audio": {"input": audio_in}}
        await conn.session.update(session=session)
        await next_event(conn, "session.updated")
        events = await say(conn)
        assert events[-1].response.status == "completed"
        assert stt.asked == [given]  # the session's language, or None: detect
        assert tts.languages == ["es"]  # detected or given, the reply is spoken in Spanish
        await say(conn)
        assert stt.likely == [None, "es"]  # the next turn tries the conversation's language first


def test_language_tts_routes_english_to_its_voice_and_others_to_espeak():
    binary = shutil.which("espeak-ng")
    if binary is None:
        pytest.skip("needs espeak-ng (make espeak)")
    english = Recorder()
    tts = LanguageTTS(english, EspeakTTS(binary))
    assert len(tts.synthesize("Hola, buenos días.", "es")) > 24_000  # espeak spoke it
    assert english.languages == []
    tts.synthesize("Hello.", "en")
    tts.synthesize("Hello.")
    assert len(english.languages) == 2
