"""The reply model's cache is warmed while the user speaks or pauses, so a reply starts with its prompt
already evaluated: the instructions at connection, the next turn's header after each reply, and the
guessed transcript while the VAD waits out its silence window."""

from __future__ import annotations

import asyncio
import base64

from tests.conftest import drain_loop
from tests.engine.fakes import LoudnessVAD, ScriptedLLM, ScriptedSTT, ToneTTS, connect, next_event, tone
from voicenb.audio import silence
from voicenb.engine import EngineConfig, OfflineEngine

VAD = {"type": "server_vad", "silence_duration_ms": 1500}
LONG_WINDOW = {"type": "realtime", "output_modalities": ["text"], "audio": {"input": {"turn_detection": VAD}}}


class PrefillingLLM(ScriptedLLM):
    """A scripted reply model that records each prefill it is asked for (the real one warms its cache)."""

    def __init__(self) -> None:
        super().__init__("It is noon.")
        self.prefills: list[list[dict[str, str]]] = []

    def prefill(self, messages: list[dict[str, str]]) -> int:
        self.prefills.append(messages)
        return 0


def _config(llm: PrefillingLLM) -> EngineConfig:
    return EngineConfig(load_models=False, vad=LoudnessVAD, stt=ScriptedSTT("what time is it"), llm=llm,
                        tts=ToneTTS())  # fmt: skip


async def _wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "not within the timeout"
        await asyncio.sleep(0.02)


async def test_a_guessed_transcript_is_prefilled_before_the_turn_ends_and_the_next_header_after_it():
    llm = PrefillingLLM()
    session = {**LONG_WINDOW, "instructions": "Be brief."}
    async with OfflineEngine(_config(llm)) as eng, connect(eng.url) as conn:
        await conn.session.update(session=session)
        await next_event(conn, "session.updated")
        await _wait_for(lambda: any(m[0]["content"] == "Be brief." for m in llm.prefills))
        llm.prefills.clear()
        for pcm in (tone(0.6), silence(0.6)):  # a pause well inside the 1.5 s silence window
            await conn.input_audio_buffer.append(audio=base64.b64encode(pcm).decode())
        await _wait_for(lambda: bool(llm.prefills))
        assert llm.prefills[0][-1] == {"role": "user", "content": "what time is it"}
        assert not eng.connections[0].conversation.items  # before the VAD committed anything
        await conn.input_audio_buffer.append(audio=base64.b64encode(silence(1.2)).decode())
        await next_event(conn, "response.done")
        await _wait_for(lambda: llm.prefills[-1][-2:-1] == [{"role": "assistant", "content": "It is noon."}])
        assert llm.prefills[-1][-1] == {"role": "user", "content": ""}  # the next turn's header


async def test_no_guess_is_prefilled_when_the_speaker_goes_on():
    llm = PrefillingLLM()
    session = LONG_WINDOW
    async with OfflineEngine(_config(llm)) as eng, connect(eng.url) as conn:
        await conn.session.update(session=session)
        await next_event(conn, "session.updated")
        server = eng.connections[0]
        warmed: list[str] = []
        server.prewarmer.warm_with = warmed.append  # the guesses it would prefill, recorded at once
        stt = server.parts.stt
        stt.delay_s = 0.3  # the guess arrives after the speaker resumed
        for pcm in (tone(0.6), silence(0.1), tone(0.6)):
            await conn.input_audio_buffer.append(audio=base64.b64encode(pcm).decode())
        await _wait_for(lambda: bool(server.input_audio._speculation))
        guess = server.input_audio._speculation[0]
        await _wait_for(guess.done)
        await drain_loop()  # the guess's done callback decides now
        assert stt.calls and guess.result() and not warmed  # a guess was made, and not prefilled
