"""The local model (Qwen2.5-Coder-1.5B) calls a registered tool through the session, answers from its
result, and still knows the booking reference after five folds of the conversation."""

from __future__ import annotations

import json

import pytest

from tests.conftest import require_offline_models, wait_until
from tests.engine.fakes import ToneTTS
from voicenb import events as ev
from voicenb.policy import SummaryPolicy
from voicenb.session import SessionConfig, VoiceSession
from voicenb.summarisers import ExtractiveSummariser

pytestmark = pytest.mark.offline

booked: list[dict] = []


def book_table(name: str, time: str, people: int) -> dict:
    """Book a table at the restaurant.

    Args:
        name: the name the booking is under
        time: the time of the booking, 24-hour HH:MM
        people: how many people
    """
    booked.append({"name": name, "time": time, "people": people})
    return {"reference": "BK-4821", "status": "confirmed"}


CHAT = [
    "Do you have parking nearby?",
    "Is there a vegetarian menu?",
    "Can we bring a birthday cake?",
    "Is the terrace open in the evening?",
    "Do you take card payments?",
]


@pytest.fixture(scope="module")
def local_llm():
    require_offline_models()
    from voicenb.engine.llm import LlamaCppLLM
    from voicenb.engine.models import resolve_llm

    return LlamaCppLLM(resolve_llm("qwen2.5-1.5b").location, threads=2)


async def test_the_local_model_books_a_table_and_the_reference_survives_five_folds(local_llm):
    from voicenb.engine import EngineConfig, OfflineEngine

    config = EngineConfig(load_models=False, llm=local_llm, tts=ToneTTS(), max_reply_tokens=48)
    instructions = "You are a restaurant's voice assistant. Answer in one short sentence."
    session_config = SessionConfig(
        instructions=instructions, output_modalities=["text"], turn_detection=False
    )
    policy = SummaryPolicy(trigger_tokens=100_000, keep_last=2, min_turns=1)  # folds by hand below
    async with OfflineEngine(config) as engine:
        session = VoiceSession(
            session_config, policy=policy, summariser=ExtractiveSummariser(), tools=[book_table],
            websocket_base_url=engine.url, api_key="local",
        )  # fmt: skip
        seen: list[ev.SessionEvent] = []
        session.subscribe(seen.append)
        async with session:

            async def say(text: str) -> str:
                before = len(session.state.turns())
                await session.send_text(text)
                await wait_until(
                    lambda: (
                        any(t.role == "assistant" and t.text for t in session.state.turns()[before:])
                        and not session.core.response_active
                        and not session.tool_runner.running
                    ),
                    timeout=180,
                )
                return session.state.turns()[-1].text

            reply = await say("Please book a table for Ana at 7 pm tonight, we are four people.")
            call = next(e for e in seen if isinstance(e, ev.ToolCalled))
            for line in CHAT:
                await say(line)
                task = session.summarise_now()
                assert task is not None
                await task
            answer = await say("What is my booking reference?")

    args = json.loads(call.arguments)
    assert call.name == "book_table" and set(args) == {"name", "time", "people"}  # schema-valid
    assert booked and booked[0]["name"] == "Ana" and booked[0]["people"] == 4 and booked[0]["time"] == "19:00"
    assert any(isinstance(e, ev.ToolReturned) for e in seen)
    kinds = [i.kind for i in session.state.log.values()]
    assert "function_call" in kinds and "function_call_output" in kinds  # both in the full log
    assert "4821" in reply  # the reply used the tool's result
    assert session.summaries == 5
    gone = [i for i in session.state.log.values() if i.is_tool]
    assert all(i.deleted_by == "summary" for i in gone)  # folded with the turns, call and output together
    assert "4821" in answer, answer
