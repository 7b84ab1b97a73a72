"""Summarisers: the offline one keeps facts within a budget; the OpenAI one sends the right prompt."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FakeChat
from voicenb.summarisers import ChatSummariser, ExtractiveSummariser
from voicenb.tokens import count_text_tokens

TURNS = [
    ("user", "Um, hi, yeah, I'm ringing about my order. It's HH-30518."),
    ("assistant", "Thanks. Could you confirm the name on the account?"),
    ("user", "It's Priya Sethi."),
    ("assistant", "Thanks Priya. I can book an engineer for Thursday the 14th of March."),
    ("user", "That's fine, thank you."),
]


def test_offline_summary_keeps_names_numbers_dates():
    text = ExtractiveSummariser().summarise_sync(TURNS, None)
    for fact in ("30518", "Sethi", "14th of March", "Thursday"):
        assert fact in text
    assert "Um," not in text and "confirm the name" not in text  # filler and questions dropped
    assert count_text_tokens(text) < sum(count_text_tokens(t) for _, t in TURNS)


def test_offline_summary_rolls_previous_summary_in():
    first = ExtractiveSummariser().summarise_sync(TURNS[:3], None)
    second = ExtractiveSummariser().summarise_sync([("user", "Actually, change it to Friday.")], first)
    assert "30518" in second and "Friday" in second
    assert second.index("Sethi") < second.index("Friday")  # the correction comes last


def test_offline_summary_respects_its_budget():
    many = [("user", f"Reference number {n} belongs to Ms Example{n}.") for n in range(200)]
    text = ExtractiveSummariser().summarise_sync(many, None, budget_tokens=120)
    assert count_text_tokens(text) <= 120
    assert "199" in text  # the latest lines are kept


OPS = {
    "gist": "An engineer visit for order HH-30518.",
    "ops": [
        {"op": "add", "subject": "order", "value": "HH-30518"},
        {"op": "add", "subject": "name", "value": "Priya Sethi"},
    ],
}


@pytest.fixture
def chat():
    server = FakeChat(lambda body: json.dumps(OPS))
    yield server
    server.close()


async def test_openai_summariser_prompt(chat):
    text = await ChatSummariser(chat.client()).summarise(TURNS, "- mood: caller is angry", "French", 300)
    # the model's operations applied to the previous summary's entries (every value the user stated
    # is held, so nothing is asked again), then the room left holds more of what was said
    assert text.splitlines() == [
        "About: An engineer visit for order HH-30518.",
        "- mood: caller is angry",
        "- order: HH-30518",
        "- name: Priya Sethi",
        "- User: Um, hi, yeah, I'm ringing about my order.",
        "- Assistant: I can book an engineer for Thursday the 14th of March.",
    ]
    body = chat.requests[-1]["body"]
    # the default is a current reasoning model: room for its hidden reasoning, low effort, no temperature
    assert body["model"] == "gpt-5.4-mini" and body["max_completion_tokens"] == 600 + 2000
    assert body["reasoning_effort"] == "low" and "temperature" not in body and "max_tokens" not in body
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["ops", "gist"]
    system, user = body["messages"]
    assert "Write the values in French" in system["content"]
    assert "ONLY the latest value" in system["content"] and "Do not answer" in system["content"]
    assert "- mood: caller is angry" in user["content"] and "HH-30518" in user["content"]


async def test_openai_summariser_local_model_gets_greedy_max_tokens(chat):
    """Any other model (the engine's "local", Ollama, llama-server) gets the classic arguments."""
    await ChatSummariser(chat.client(), model="local").summarise(TURNS, None, None, 300)
    body = chat.requests[-1]["body"]
    assert body["max_tokens"] == 600 and body["temperature"] == 0 and "reasoning_effort" not in body


async def test_openai_summariser_defaults_to_conversation_language(chat):
    await ChatSummariser(chat.client()).summarise(TURNS, None, None, 300)
    assert "same language the conversation is in" in chat.requests[-1]["body"]["messages"][0]["content"]


async def test_an_update_replaces_the_value_and_the_memory_carries_over_folds():
    answers = iter([
        {"gist": "Kitchen.", "ops": [{"op": "add", "subject": "budget", "value": "£32,000"}]},
        {"gist": "Kitchen.", "ops": [{"op": "update", "subject": "Budget", "value": "£25,000"}]},
    ])  # fmt: skip
    server = FakeChat(lambda body: json.dumps(next(answers)))
    try:
        summariser = ChatSummariser(server.client(), model="local")
        first = await summariser.summarise([("user", "Our budget is £32,000.")], None, "en", 300)
        second = await summariser.summarise([("user", "Make it £25,000.")], first, "en", 300)
    finally:
        server.close()
    assert "£32,000" in first and second.splitlines()[-1] == "- budget: £25,000" and "32" not in second
    entry = summariser.memory.find("budget")
    assert entry is not None and entry.replaced == ["£32,000"]  # the history stays in the data


async def test_values_no_entry_holds_are_asked_about_once_more_and_the_rest_kept_as_notes():
    bodies: list[dict] = []

    def answer(body: dict) -> str:
        bodies.append(body)
        ops = [{"op": "add", "subject": "budget", "value": "£25,000"}] if len(bodies) == 1 else []
        return json.dumps({"gist": "", "ops": ops})

    server = FakeChat(answer)
    turns = [("user", "Me and Hannah said twenty-five grand, and the ceiling is 2.35 metres.")]
    try:
        summariser = ChatSummariser(server.client(), model="local")
        text = await summariser.summarise(turns, None, "en", 300)
    finally:
        server.close()
    assert len(bodies) == 2  # one question more, about exactly the values no entry holds
    recheck = bodies[1]["messages"][-1]["content"]
    assert "'hannah'" in recheck and "'2.35'" in recheck and "'25000'" not in recheck
    # what the model still left out stays, as a short note in the user's words (a small model under a
    # schema writes fewer facts than were said; a stated name or number must not vanish)
    assert summariser.last_fold is not None and summariser.last_fold.unplaced == []
    assert text.splitlines() == [
        "- budget: £25,000",
        "- Me and Hannah said twenty-five grand, and the ceiling is 2.35 metres.",
    ]
    note = summariser.memory.entries[-1]
    assert note.subject == "" and note.turn == 0  # data like any entry: a later fold can update it


async def test_a_model_that_fails_falls_back_to_the_extractive_summary():
    server = FakeChat(lambda body: "not json at all")
    try:
        summariser = ChatSummariser(server.client(), model="local", fallback=ExtractiveSummariser())
        text = await summariser.summarise(TURNS, None, "en", 300)
    finally:
        server.close()
    assert "30518" in text and "Sethi" in text


async def test_a_slow_first_answer_skips_the_second_question_and_keeps_the_values():
    bodies: list[dict] = []

    def answer(body: dict) -> str:
        bodies.append(body)
        return json.dumps({"ops": [], "gist": ""})

    server = FakeChat(answer)
    try:
        summariser = ChatSummariser(server.client(), model="local")
        summariser.recheck_within_s = 0.0  # as if the first answer had taken longer than allowed
        await summariser.summarise([("user", "Our budget is £25,000.")], None, "en", 300)
    finally:
        server.close()
    assert len(bodies) == 1 and summariser.last_fold is not None
    assert summariser.last_fold.unplaced == [] and "£25,000" in summariser.memory.entries[0].value


async def test_a_model_that_gives_no_answer_in_time_leaves_the_memory_and_the_values_as_notes():
    import threading

    release = threading.Event()

    def answer(body: dict) -> str:
        release.wait(10)  # the model is still prefilling when the fold's time is up
        return json.dumps({"gist": "", "ops": []})

    server = FakeChat(answer)
    try:
        summariser = ChatSummariser(server.client(), model="local")
        summariser.answer_within_s = 0.3
        first = "- budget: £25,000"
        text = await summariser.summarise(
            [("user", "The ceiling is 2.35 metres, Hannah says.")], first, "en", 300
        )
    finally:
        release.set()
        server.close()
    assert len(server.requests) == 1  # no retry and no second question
    assert text.splitlines() == ["- budget: £25,000", "- The ceiling is 2.35 metres, Hannah says."]
    assert summariser.last_fold is not None and summariser.last_fold.unplaced == []


async def test_sentences_kept_in_spare_room_are_not_the_models_to_change():
    bodies: list[dict] = []

    def answer(body: dict) -> str:
        bodies.append(body)
        return json.dumps({"gist": "", "ops": [{"op": "add", "subject": "fence", "value": "orange"}]})

    server = FakeChat(answer)
    said = "My neighbour painted the garden fence bright orange without asking anybody."
    try:
        summariser = ChatSummariser(server.client(), model="local")
        first = await summariser.summarise([("user", said)], None, "en", 300)
        await summariser.summarise([("user", "Anyway, the weather turned lovely.")], first, "en", 300)
    finally:
        server.close()
    assert f"- User: {said}" in first.splitlines()
    facts = bodies[-1]["messages"][-1]["content"].split("New turns:")[0]
    assert "fence: orange" in facts and "neighbour" not in facts
