"""The default offline brain with its real models: Qwen2.5-1.5B replies (KV prefix reused across
turns), summaries through the engine's chat-completions endpoint, and a Spanish spoken turn."""

from __future__ import annotations

import asyncio
import base64
import shutil

import pytest
from openai import AsyncOpenAI

from tests.conftest import require_offline_models, wait_until
from tests.engine.fakes import collect_until, connect, next_event
from tests.engine.test_protocol import add, system_text, user_text
from voicenb.audio import chunk_pcm, silence
from voicenb.engine import EngineConfig, MissingExtraError, OfflineEngine
from voicenb.summarisers import ChatSummariser

pytestmark = pytest.mark.offline


@pytest.fixture(scope="module")
def brain_config() -> EngineConfig:
    require_offline_models()
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs espeak-ng (make espeak) for Spanish speech")
    return EngineConfig(llm="qwen2.5-1.5b", stt="base", max_reply_tokens=40)


async def ask(conn, text: str) -> str:
    await add(conn, user_text(text))
    await conn.response.create(response={"output_modalities": ["text"]})
    events = await collect_until(conn, "response.done", timeout=120)
    assert events[-1].response.status == "completed", events[-1].response.status_details
    return next(e for e in events if e.type == "response.output_text.done").text


async def test_replies_reuse_the_prefix_summaries_run_offline_and_spanish_is_heard(brain_config):
    try:
        engine = OfflineEngine(brain_config)
        await engine.start()
    except MissingExtraError as e:
        pytest.skip(str(e))
    try:
        llm = engine.parts.llm
        assert "Qwen2.5-Coder-1.5B" in engine.models_used["llm"] and llm.n_ctx == 8192
        assert "whisper base" in engine.models_used["stt"]
        async with connect(engine.url) as conn:
            await conn.session.update(
                session={"type": "realtime", "instructions": "Answer in one short sentence."}
            )
            await next_event(conn, "session.updated")
            await ask(conn, "Hi, I'm Priya. I'd like a table for four on Friday at 7:30.")
            answer = await ask(conn, "Sorry, make it five people. How many people is the table for?")
            assert "5" in answer or "five" in answer.lower(), answer
            # the second prompt extended the first: everything up to the new turn came from the KV cache
            assert llm.last_cached_tokens > 0.6 * llm.last_prompt_tokens

            # a summary replaces the first exchange: the engine re-prefills the new prefix in the
            # background, so the next reply again finds all but its new turn in the cache
            items = list(engine.connections[-1].conversation.items)
            await add(conn, system_text("Summary: Priya booked a table for five on Friday at 7:30."), "root")
            for item in items[:2]:
                await conn.conversation.item.delete(item_id=item.id)
            server = engine.connections[-1]
            gone = {item.id for item in items[:2]}
            await wait_until(lambda: not gone & {i.id for i in server.conversation.items}, timeout=30)
            await asyncio.wait_for(server.prewarmer._task, 120)  # the re-prefill the deletes started
            answer = await ask(conn, "What time is it booked for?")
            assert "7:30" in answer, answer
            assert llm.last_cached_tokens > 0.6 * llm.last_prompt_tokens

        # text past the context: the oldest turns are dropped; a single turn too long fails loudly
        from voicenb.engine.llm import ContextOverflowError

        long_turn = {"role": "user", "content": "word " * 3000}
        last = {"role": "user", "content": "Hi"}
        history = [{"role": "system", "content": "Be brief."}, *[long_turn] * 4, last]
        tokens, _, dropped = llm._reply.fit(history, 60)
        assert dropped >= 2 and len(tokens) + 60 <= llm.n_ctx
        with pytest.raises(ContextOverflowError, match="context is 8192"):
            llm._reply.fit([{"role": "user", "content": "word " * 9000}], 60)

        summariser = ChatSummariser(
            AsyncOpenAI(base_url=engine.chat_base_url, api_key="local"), model="local"
        )
        turns = [("user", "I'm Priya. A table for four on Friday at 7:30, by the window, please."),
                 ("assistant", "Of course, Priya."), ("user", "Actually, make it five people.")]  # fmt: skip
        summary = await asyncio.wait_for(summariser.summarise(turns, None, "English", 200), 240)
        low = summary.lower()
        assert "priya" in low and "7:30" in low and ("5" in low or "five" in low), summary
        # latest value wins in the memory's entries: a line may state four only as a note in the
        # user's own words (what the model left out is kept verbatim, never rewritten)
        said = {text.lower() for _, text in turns}
        for line in low.splitlines():
            if "four" in line:
                assert any(line.removeprefix("- ") in t for t in said), summary
        assert summariser.memory.entries and not any(
            "four" in e.value.lower() for e in summariser.memory.entries if e.subject
        ), summary

        from voicenb.engine.components import EspeakTTS

        # a sentence whisper base hears exactly from espeak's robotic voice (a question such as "¿Cuál es
        # la capital de España?" is heard differently on different CPUs: tests/engine/test_speech.py)
        request = "Quiero reservar una mesa para cinco personas."
        question = EspeakTTS(shutil.which("espeak-ng")).synthesize(request, "es")
        async with connect(engine.url) as conn:
            session = {
                "type": "realtime",
                "instructions": "Eres un asistente. Responde al usuario en una frase corta.",
                "output_modalities": ["text"],
                "audio": {"input": {"turn_detection": None}},
            }
            await conn.session.update(session=session)
            await next_event(conn, "session.updated")
            for chunk in chunk_pcm(silence(0.3) + question + silence(0.5), 200):
                await conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
            await conn.input_audio_buffer.commit()
            await conn.response.create()
            events = await collect_until(conn, "response.done", timeout=120)
            reply = next(e for e in events if e.type == "response.output_text.done").text
            heard = [i for i in engine.connections[-1].conversation.items if i.role == "user"][-1].text
            assert engine.connections[-1].transcriber.language == "es"
            assert "mesa" in heard.lower() and "cinco" in heard.lower(), heard  # Spanish is heard
            # The reply's wording varies with the model's cache state (reused prefixes change the numerics),
            # so only that it answered: what it knows is the eval's probe recall, not this test.
            assert reply.strip(), "no reply to the Spanish request"
    finally:
        await engine.stop()
