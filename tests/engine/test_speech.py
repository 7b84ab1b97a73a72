"""Spoken conversation with the real offline models: piper speech in, VAD + STT, LLM, piper speech out."""

from __future__ import annotations

import asyncio
import base64

import pytest

from tests.engine.conftest import offline_config
from tests.engine.fakes import ScriptedLLM, collect_until, connect, next_event
from voicenb.audio import chunk_pcm, silence
from voicenb.engine import OfflineEngine

pytestmark = pytest.mark.offline

SESSION = {
    "type": "realtime",
    "instructions": "You are a helpful voice assistant. Answer in one short sentence.",
    "audio": {"input": {"transcription": {"model": "whisper-1"}}},
}


def spoken(text: str) -> bytes:
    from voicenb.engine.speech import synthesize

    return silence(0.3) + synthesize(text) + silence(0.8)


async def stream_live(conn, pcm: bytes, chunk_ms: int = 40) -> None:
    """Append ``pcm`` paced like a microphone (real time)."""
    loop = asyncio.get_running_loop()
    start, sent = loop.time(), 0.0
    for chunk in chunk_pcm(pcm, chunk_ms):
        await conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
        sent += len(chunk) / 48000
        await asyncio.sleep(max(0.0, start + sent - loop.time()))


async def test_spoken_turn_is_transcribed_and_answered_with_speech(speech_engine):
    engine = speech_engine
    assert "bundled" in engine.models_used["stt"] and "piper" in engine.models_used["tts"]
    async with connect(engine.url) as conn:
        await conn.session.update(session=SESSION)
        await next_event(conn, "session.updated")
        pump = asyncio.create_task(stream_live(conn, spoken("What is the capital of France?")))
        events = await collect_until(conn, "response.done", timeout=60)
        await pump
        types = [e.type for e in events]
        for expected in (
            "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed", "conversation.item.input_audio_transcription.completed",
            "response.created", "response.output_audio.delta", "response.output_audio_transcript.done",
        ):  # fmt: skip
            assert expected in types, expected
        assert types.index("input_audio_buffer.speech_started") < types.index("input_audio_buffer.committed")

        transcript = next(
            e for e in events if e.type.endswith("input_audio_transcription.completed")
        ).transcript
        # whisper base sometimes hears the clip's last word as "friends" when it runs after other tests
        # (a known flake, in the note); the question itself must come through.
        assert "what is the capital" in transcript.lower(), transcript

        audio = b"".join(base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta")
        reply = next(e for e in events if e.type == "response.output_audio_transcript.done").transcript
        assert len(audio) / 48000 > 0.5 and len(audio) % 2 == 0  # PCM16 at 24 kHz
        assert reply and reply == "".join(
            e.delta for e in events if e.type == "response.output_audio_transcript.delta"
        )
        done = events[-1].response
        assert done.status == "completed"
        usage = done.usage
        user_s = engine.connections[0].conversation.items[0].audio_s
        assert usage.input_token_details.audio_tokens == int(user_s * 10)
        assert usage.output_token_details.audio_tokens == int(len(audio) / 48000 * 20)
        messages = engine.llm_calls[-1]
        assert messages[0]["role"] == "system" and messages[-1] == {"role": "user", "content": transcript}


async def test_barge_in_cancels_the_active_response():
    slow = ScriptedLLM("Let me think. " + " ".join(["Still thinking."] * 20), delay_s=0.25)
    async with (
        OfflineEngine(offline_config(llm=slow, max_reply_sentences=30)) as engine,
        connect(engine.url) as conn,
    ):
        await conn.session.update(session=SESSION)
        await next_event(conn, "session.updated")
        await stream_live(conn, spoken("Tell me a long story."))
        await next_event(conn, "response.output_audio.delta", timeout=30)
        pump = asyncio.create_task(stream_live(conn, spoken("Stop, please.")))
        events = await collect_until(conn, "response.done", timeout=30)
        await pump
        assert "input_audio_buffer.speech_started" in [e.type for e in events]
        done = events[-1].response
        assert done.status == "cancelled" and done.status_details.reason == "turn_detected"
        assert done.output[0].status == "incomplete"
        # The interruption is itself a user turn that gets its own response.
        await next_event(conn, "input_audio_buffer.committed", timeout=30)
        await next_event(conn, "response.created", timeout=30)


async def test_synthesised_speech_is_24khz_pcm16():
    pytest.importorskip("piper", reason="piper-tts missing: pip install 'voicenb[offline]'")
    from voicenb.engine.speech import synthesize

    pcm = synthesize("Hello world.")
    assert len(pcm) % 2 == 0 and 0.5 < len(pcm) / 48000 < 3.0


def test_whisper_encodes_a_turn_sized_clip_once_and_only_its_frames():
    from voicenb.engine.components import encoder_frames

    assert encoder_frames(16_000 * 2) == 1000  # a 2 s turn: the 10 s floor
    assert encoder_frames(16_000 * 14) == 1600  # its own frames plus a margin, rounded up
    assert encoder_frames(16_000 * 29) == encoder_frames(16_000 * 90) == 3000  # whisper's whole window


def test_clear_speech_is_heard_from_the_short_window_and_unclear_speech_again_from_the_full_one():
    import shutil

    from voicenb.engine.components import EspeakTTS, WhisperSTT, resolve_whisper
    from voicenb.engine.speech import synthesize

    stt = WhisperSTT(resolve_whisper(None).location, 2)  # its own: other tests' engines share the cached one
    encoded: list[int] = []
    full_encode = stt._full_encode
    stt._full_encode = lambda features: encoded.append(features.shape[-1]) or full_encode(features)
    text, language = stt.transcribe_detect(silence(0.3) + synthesize("What is the capital of France?"))
    assert (text, language, encoded) == ("What is the capital of France?", "en", [1000])
    encoded.clear()
    robotic = EspeakTTS(shutil.which("espeak-ng")).synthesize("¿Cuál es la capital de España?", "es")
    text, language = stt.transcribe_detect(silence(0.3) + robotic + silence(0.5))
    assert encoded == [1000, 3000, 3000] and language == "es"  # unsure: heard again, whole window
    # espeak's robotic Spanish is at the edge of whisper base: which of the words it gets right moves
    # with the CPU's arithmetic ("Wallace a Capitán de España." on AVX2, "Walzacapitalespaya" with
    # another numpy): heard as Spanish words of the question, not as another language or a translation
    assert "capital" in text.lower() or "españa" in text.lower(), text
    encoded.clear()
    short = silence(0.3) + synthesize("What do bees make?") + silence(0.3)  # too short to be sure of English
    assert stt.transcribe_detect(short) == ("What do bees make?", "en")
    encoded.clear()
    assert stt.transcribe_detect(short, likely="en") == ("What do bees make?", "en") and encoded == [1000]
    spanish = EspeakTTS(shutil.which("espeak-ng")).synthesize(
        "Quiero reservar una mesa para cinco personas.", "es"
    )
    text, language = stt.transcribe_detect(silence(0.3) + spanish + silence(0.5), likely="en")
    assert language == "es" and "mesa" in text, text  # not forced into English: detected again


def test_a_spoken_turn_is_the_same_audio_every_time():
    from voicenb.engine.speech import synthesize

    assert synthesize("What is the capital of France?") == synthesize("What is the capital of France?")
