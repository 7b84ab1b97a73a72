"""The engine's speech parts over OpenAI-compatible HTTP, both ways: ``ChatAPI`` serving
``/v1/audio/transcriptions`` and ``/v1/audio/speech`` from (scripted) models, and ``EndpointSTT`` /
``EndpointTTS`` reaching them through the official SDK, as an engine whose parts are URLs does."""

from __future__ import annotations

import json

import openai
import pytest

from voicenb.audio import SAMPLE_RATE, silence
from voicenb.engine.audio_api import BadRequest, parse_speech, parse_transcription
from voicenb.engine.chat_api import ChatAPI
from voicenb.engine.endpoints import EndpointSTT, EndpointTTS, wav_bytes, wav_to_pcm24k


class HeardSTT:
    """Says how much audio it got, and in which language it was asked to listen."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str | None]] = []

    def transcribe_detect(self, pcm: bytes, language: str | None = None) -> tuple[str, str]:
        self.calls.append((len(pcm), language))
        return f"heard {len(pcm) // 2} samples", language or "de"


class ToneTTS:
    """Half a second of audio per call; remembers the language it was asked for."""

    multilingual = True

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def synthesize(self, text: str, language: str | None = None) -> bytes:
        self.calls.append((text, language))
        return b"\x01\x00" * (SAMPLE_RATE // 2)


@pytest.fixture
async def speech_server():
    stt, tts = HeardSTT(), ToneTTS()
    api = ChatAPI(None, "127.0.0.1", token=None, stt=stt, tts=tts)
    await api.start()
    yield api, stt, tts
    await api.stop()


async def test_a_turn_is_transcribed_through_the_sdk_with_its_language(speech_server):
    api, stt, _ = speech_server
    remote = EndpointSTT(api.base_url)
    pcm = silence(1.5)
    assert await _thread(remote.transcribe_detect, pcm) == (f"heard {len(pcm) // 2} samples", "de")
    assert await _thread(remote.transcribe_detect, pcm, "es") == (f"heard {len(pcm) // 2} samples", "es")
    assert stt.calls == [(len(pcm), None), (len(pcm), "es")]  # the whole turn, at the wire's 24 kHz


async def test_a_reply_is_spoken_through_the_sdk_in_its_language(speech_server):
    api, _, tts = speech_server
    remote = EndpointTTS(api.base_url)
    pcm = await _thread(remote.synthesize, "Hola, ¿qué tal?", "es")
    assert len(pcm) == SAMPLE_RATE  # half a second of PCM16 at 24 kHz
    await _thread(remote.synthesize, "Hello there.", "en")
    assert tts.calls == [("Hola, ¿qué tal?", "es"), ("Hello there.", None)]  # English: no language sent


async def test_bad_speech_requests_get_one_line_errors_and_the_server_keeps_serving(speech_server):
    api, stt, tts = speech_server
    client = openai.OpenAI(base_url=api.base_url, api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="16-bit PCM WAV"):
        await _thread(client.audio.transcriptions.create, model="whisper-1", file=("a.mp3", b"ID3 not a wav"))
    with pytest.raises(openai.BadRequestError, match="response_format must be one of wav, pcm"):
        await _thread(
            client.audio.speech.create, model="tts-1", voice="alloy", input="Hi", response_format="mp3"
        )
    with pytest.raises(openai.BadRequestError, match="'input' must be non-empty"):
        await _thread(client.audio.speech.create, model="tts-1", voice="alloy", input="  ")
    with pytest.raises(openai.NotFoundError, match="POST /v1/audio/transcriptions, POST /v1/audio/speech"):
        await _thread(
            client.chat.completions.create, model="local", messages=[{"role": "user", "content": "Hi"}]
        )
    assert stt.calls == [] and tts.calls == []  # nothing bad reached a model
    raw = await _thread(
        client.audio.speech.create, model="tts-1", voice="alloy", input="Hi", response_format="pcm"
    )
    assert raw.content == b"\x01\x00" * (SAMPLE_RATE // 2)  # OpenAI's pcm: raw 24 kHz samples


async def test_a_model_that_fails_is_a_500_naming_it_not_a_dead_server():
    class BrokenTTS:
        def synthesize(self, text: str) -> bytes:
            raise RuntimeError("voice file missing")

    api = ChatAPI(None, "127.0.0.1", token="room", tts=BrokenTTS(), stt=HeardSTT())
    await api.start()
    try:
        with pytest.raises(openai.InternalServerError, match="the local model failed: voice file missing"):
            await _thread(EndpointTTS(api.base_url, api_key="room").synthesize, "Hi")
        with pytest.raises(openai.AuthenticationError):  # the room's token is checked here too
            await _thread(EndpointSTT(api.base_url, api_key="wrong").transcribe, silence(0.5))
        assert await _thread(EndpointSTT(api.base_url, api_key="room").transcribe, silence(0.5))
    finally:
        await api.stop()


def test_requests_are_parsed_without_a_server():
    form = _form(
        {"file": wav_bytes(silence(0.2, rate=16_000), rate=16_000), "language": b"fr", "model": b"whisper-1"}
    )
    pcm, language, fmt = parse_transcription(*form)
    assert len(pcm) == len(silence(0.2)) and language == "fr" and fmt == "json"  # resampled to 24 kHz
    with pytest.raises(BadRequest, match="needs a 'file' field"):
        parse_transcription(*_form({"model": b"whisper-1"}))
    with pytest.raises(BadRequest, match="multipart/form-data"):
        parse_transcription("application/json", b"{}")
    with pytest.raises(BadRequest, match="response_format must be one of json, verbose_json"):
        parse_transcription(*_form({"file": wav_bytes(silence(0.1)), "response_format": b"srt"}))
    assert parse_speech(json.dumps({"input": "Hallo", "language": "de"}).encode()) == ("Hallo", "de", "wav")
    with pytest.raises(BadRequest, match="longer than 4096"):
        parse_speech(json.dumps({"input": "a" * 4097}).encode())
    with pytest.raises(BadRequest, match="not JSON"):
        parse_speech(b"input=hi")


def test_a_wav_of_another_rate_and_stereo_is_mixed_down_to_the_wire_format():
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(48_000)
        w.writeframes(b"\x00\x10\x00\x30" * 4800)  # 0.1 s, left 4096 and right 12288
    pcm = wav_to_pcm24k(out.getvalue())
    assert len(pcm) == 2 * 2400
    middle = int.from_bytes(pcm[2400:2402], "little", signed=True)
    assert abs(middle - 8192) < 50  # the mean of the two channels
    with pytest.raises(ValueError, match="did not send a WAV"):
        wav_to_pcm24k(b"RIFF????")


def _form(fields: dict[str, bytes]) -> tuple[str, bytes]:
    boundary = "voicenb-test-boundary"
    body = b""
    for name, value in fields.items():
        filename = '; filename="a.wav"' if name == "file" else ""
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{filename}\r\n\r\n'.encode()
        body += value + b"\r\n"
    return f"multipart/form-data; boundary={boundary}", body + f"--{boundary}--\r\n".encode()


async def _thread(fn, *args, **kw):
    import asyncio

    return await asyncio.to_thread(fn, *args, **kw)
