"""Summarisers: the offline one keeps facts within a budget; the OpenAI one sends the right prompt."""

from __future__ import annotations

import pytest

from tests.conftest import FakeChat
from voicenb.summarisers import OfflineSummariser, OpenAISummariser
from voicenb.tokens import count_text_tokens

TURNS = [
    ("user", "Um, hi, yeah, I'm ringing about my order. It's HH-30518."),
    ("assistant", "Thanks. Could you confirm the name on the account?"),
    ("user", "It's Priya Sethi."),
    ("assistant", "Thanks Priya. I can book an engineer for Thursday the 14th of March."),
    ("user", "That's fine, thank you."),
]


def test_offline_summary_keeps_names_numbers_dates():
    text = OfflineSummariser().summarise_sync(TURNS, None)
    for fact in ("30518", "Sethi", "14th of March", "Thursday"):
        assert fact in text
    assert "Um," not in text and "confirm the name" not in text  # filler and questions dropped
    assert count_text_tokens(text) < sum(count_text_tokens(t) for _, t in TURNS)


def test_offline_summary_rolls_previous_summary_in():
    first = OfflineSummariser().summarise_sync(TURNS[:3], None)
    second = OfflineSummariser().summarise_sync([("user", "Actually, change it to Friday.")], first)
    assert "30518" in second and "Friday" in second
    assert second.index("Sethi") < second.index("Friday")  # the correction comes last


def test_offline_summary_respects_its_budget():
    many = [("user", f"Reference number {n} belongs to Ms Example{n}.") for n in range(200)]
    text = OfflineSummariser().summarise_sync(many, None, budget_tokens=120)
    assert count_text_tokens(text) <= 120
    assert "199" in text  # the latest lines are kept


@pytest.fixture
def chat():
    server = FakeChat(lambda body: "- Order HH-30518, Priya Sethi.")
    yield server
    server.close()


async def test_openai_summariser_prompt(chat):
    text = await OpenAISummariser(chat.client()).summarise(TURNS, "- earlier: caller is angry", "French", 300)
    # the model's text, then the guard's note of the day the assistant booked (the model left it out)
    assert text.splitlines() == [
        "- Order HH-30518, Priya Sethi.",
        "- I can book an engineer for Thursday the 14th of March.",
    ]
    body = chat.requests[-1]["body"]
    assert body["model"] == "gpt-4o-mini" and body["max_tokens"] == 300
    system, user = body["messages"]
    assert "Write in French" in system["content"]
    assert "ONLY the latest value" in system["content"] and "Do not answer" in system["content"]
    assert "earlier: caller is angry" in user["content"] and "HH-30518" in user["content"]


async def test_openai_summariser_defaults_to_conversation_language(chat):
    await OpenAISummariser(chat.client()).summarise(TURNS, None, None, 300)
    assert "same language the conversation is in" in chat.requests[-1]["body"]["messages"][0]["content"]
