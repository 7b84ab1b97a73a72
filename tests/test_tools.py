"""Function tools: schemas from type hints, checked arguments, and calls run by the session against the
offline engine (a reply-model double that calls functions as the local model does)."""

from __future__ import annotations

import asyncio
import json
import threading

import pydantic
import pytest

from tests.conftest import wait_until
from tests.engine.fakes import ToneTTS
from tests.tool_fakes import ToolCallingLLM
from voicenb import events as ev
from voicenb.engine import EngineConfig, OfflineEngine
from voicenb.session import SessionConfig, VoiceSession
from voicenb.session.tools import (
    MAX_OUTPUT_CHARS,
    ToolArgumentsError,
    ToolBox,
    output_text,
    tool,
)


def book_table(name: str, time: str, people: int = 2) -> dict:
    """Book a table at the restaurant.

    More text the schema does not need.

    Args:
        name: who the booking is for
        time (str): the time, HH:MM
        people: how many people

    Returns:
        the booking
    """
    return {"reference": "BK-4821", "name": name, "time": time, "people": people}


BOOKING = {"name": "book_table", "arguments": {"name": "Ana", "time": "19:00", "people": 4}}


# --- schemas and arguments (pure) ------------------------------------------------------------------


def test_schema_comes_from_type_hints_and_docstring():
    spec = tool(book_table).spec()
    assert spec["type"] == "function" and spec["name"] == "book_table"
    assert spec["description"] == "Book a table at the restaurant."
    params = spec["parameters"]
    assert params["required"] == ["name", "time"]  # people has a default
    assert params["properties"]["people"] == {
        "type": "integer",
        "default": 2,
        "description": "how many people",
    }
    assert params["properties"]["time"]["description"] == "the time, HH:MM"
    assert params["additionalProperties"] is False
    assert "title" not in json.dumps(params)  # titles cost the local model tokens and say nothing


def test_decorator_forms_and_bad_definitions():
    @tool
    def ping() -> str:
        """Say pong."""
        return "pong"

    @tool(name="lookup-order", timeout_s=2)
    async def lookup(order: int) -> str:
        return str(order)

    assert ping.name == "ping" and ping.parameters["properties"] == {}
    assert lookup.name == "lookup-order" and lookup.timeout_s == 2 and lookup.is_async
    with pytest.raises(ValueError, match="kwargs"):
        tool(lambda **kw: None, name="anything")
    with pytest.raises(ValueError, match="tool name"):
        tool(book_table, name="book a table")
    with pytest.raises(ValueError, match="already registered"):
        ToolBox([book_table, book_table])


def test_arguments_are_checked_against_the_schema():
    t = tool(book_table)
    assert t.arguments('{"name": "Ana", "time": "19:00", "people": "4"}') == {
        "name": "Ana",
        "time": "19:00",
        "people": 4,
    }
    for bad, says in [
        ('{"name": "Ana", "time": "19:00", "people": "four"}', "people"),
        ('{"name": "Ana"}', "time: Field required"),
        ('{"name": "Ana", "time": "19:00", "colour": "red"}', "colour"),
        ("not json", "invalid arguments"),
    ]:
        with pytest.raises(ToolArgumentsError, match=says) as caught:
            t.arguments(bad)
        assert "\n" not in str(caught.value)  # one line the model (and a log) can read


def test_outputs_are_text_and_bounded():
    class Booking(pydantic.BaseModel):
        reference: str

    assert output_text("as is") == "as is"
    assert json.loads(output_text({"n": 1})) == {"n": 1}
    assert json.loads(output_text(Booking(reference="BK-1"))) == {"reference": "BK-1"}
    assert len(output_text("x" * 100_000)) <= MAX_OUTPUT_CHARS


# --- the session runs calls against the offline engine ---------------------------------------------------


def _session(engine: OfflineEngine, registered: list, recall: bool = False, **config: object) -> VoiceSession:
    cfg = SessionConfig(output_modalities=["text"], turn_detection=False, **config)  # type: ignore[arg-type]
    return VoiceSession(cfg, tools=registered, websocket_base_url=engine.url, api_key="local", recall=recall)


async def _converse(
    llm: ToolCallingLLM, registered: list, text: str, use: str | None = None, **config: object
):  # fmt: skip
    async with OfflineEngine(EngineConfig(load_models=False, llm=llm, tts=ToneTTS())) as engine:
        session = _session(engine, registered, **config)
        seen: list[ev.SessionEvent] = []
        session.subscribe(seen.append)
        async with session:
            await session.send_text(text, tool=use)
            await wait_until(lambda: any(isinstance(e, ev.TranscriptDone) for e in seen), timeout=10)
            await session.wait_idle(quiet_s=0.3, timeout_s=10)
            connected = session.connected
            server_items = [(i.type, i.call_id) for i in engine.connections[-1].conversation.items]
    return session, seen, connected, server_items


async def test_a_call_runs_and_the_reply_uses_its_result():
    llm = ToolCallingLLM([BOOKING], reply=lambda out: f"Booked, reference {json.loads(out)['reference']}.")
    session, seen, connected, server_items = await _converse(
        llm, [book_table], "Table for Ana at 7, four of us"
    )

    called = next(e for e in seen if isinstance(e, ev.ToolCalled))
    returned = next(e for e in seen if isinstance(e, ev.ToolReturned))
    assert called.name == "book_table" and json.loads(called.arguments) == BOOKING["arguments"]
    assert json.loads(returned.output)["reference"] == "BK-4821"
    kinds = [(i.kind, i.role) for i in session.state.log.values()]
    assert kinds == [
        ("message", "user"),
        ("function_call", "tool"),
        ("function_call_output", "tool"),
        ("message", "assistant"),
    ]
    call, output = list(session.state.log.values())[1:3]
    assert call.call_id == output.call_id == called.call_id and output.name == "book_table"
    assert call.text == "book_table(name='Ana', time='19:00', people=4)"
    assert session.state.turns()[-1].text == "Booked, reference BK-4821."
    assert [t for t, _ in server_items] == ["message", "function_call", "function_call_output", "message"]
    assert connected
    # The session told the server its tools; the model read them, and generated the call under their schema.
    assert "book_table" in llm.prompts[0][0]["content"]
    schema = llm.grammars[0]
    assert schema["properties"]["name"] == {"const": "book_table"}
    assert schema["properties"]["arguments"]["required"] == ["name", "time"]


def _raises(name: str) -> str:
    """A tool that always fails."""
    raise RuntimeError("the booking system is down")


async def _hangs(name: str) -> str:
    """A tool that never answers."""
    await asyncio.sleep(30)
    return "late"


released = threading.Event()


def _hangs_in_a_thread(name: str) -> str:
    """A sync tool that never answers in time."""
    released.wait(30)
    return "late"


@pytest.mark.parametrize(
    ("fn", "arguments", "error"),
    [
        (_raises, {"name": "Ana"}, "RuntimeError: the booking system is down"),
        (_hangs, {"name": "Ana"}, "did not answer within 0.2 s"),
        (_hangs_in_a_thread, {"name": "Ana"}, "did not answer within 0.2 s"),
        (_raises, {"name": 7, "extra": 1}, "invalid arguments"),
    ],
)
async def test_a_failing_call_is_an_error_the_model_answers(fn, arguments, error):
    broken = tool(fn, name="book", timeout_s=0.2)
    llm = ToolCallingLLM(
        [{"name": "book", "arguments": arguments}],
        reply=lambda out: f"Sorry, that did not work: {json.loads(out)['error']}",
    )
    released.clear()
    try:
        session, seen, connected, _ = await _converse(llm, [broken], "Book for Ana")
    finally:
        released.set()
    failed = [e for e in seen if isinstance(e, ev.ToolFailed)]
    assert len(failed) == 1 and error in failed[0].error
    assert json.loads(failed[0].output)["error"] == failed[0].error
    assert not any(isinstance(e, ev.ToolReturned) for e in seen)
    reply = session.state.turns()[-1]
    assert reply.role == "assistant" and reply.text.startswith("Sorry") and error in reply.text
    assert connected and not session.errors


async def test_an_unknown_tool_is_an_error_output_too():
    llm = ToolCallingLLM([BOOKING], reply=lambda out: f"Sorry: {out}")
    # the model calls a tool the session did not register (another client's session.update named it)
    other = {"type": "function", "name": "book_table", "parameters": {"type": "object"}}
    _, seen, connected, _ = await _converse(llm, [], "Book", tools=[other])
    failed = next(e for e in seen if isinstance(e, ev.ToolFailed))
    assert "no tool named 'book_table'" in failed.error and connected


async def test_tool_choice_none_keeps_the_model_from_calling():
    llm = ToolCallingLLM([BOOKING], chat="I cannot book right now.")
    session, seen, _, _ = await _converse(llm, [book_table], "Book", tool_choice="none")
    assert not any(isinstance(e, ev.ToolCalled) for e in seen)
    assert "# Tools" in llm.prompts[0][0]["content"]  # the cached prefix keeps the tools block ...
    assert "# Tools" not in llm.prompts[-1][0]["content"] and not llm.grammars  # ... a would-be call not
    assert session.state.turns()[-1].text == "I cannot book right now."


async def test_a_named_tool_choice_constrains_to_that_function():
    def cancel(reference: str) -> str:
        """Cancel a booking."""
        return "cancelled"

    call = {"name": "cancel", "arguments": {"reference": "BK-1"}}
    llm = ToolCallingLLM([call], reply=lambda out: f"It is {out}.")
    choice = {"type": "function", "name": "cancel"}
    session, seen, _, _ = await _converse(llm, [book_table, cancel], "Cancel BK-1", tool_choice=choice)
    assert llm.grammars[0]["properties"]["name"] == {"const": "cancel"}  # only that function's schema
    assert next(e for e in seen if isinstance(e, ev.ToolReturned)).output == "cancelled"
    assert session.state.turns()[-1].text == "It is cancelled."


async def test_one_reply_can_be_asked_to_call_a_named_tool_and_the_next_answers_from_it():
    def cancel(reference: str) -> str:
        """Cancel a booking."""
        return "cancelled"

    call = {"name": "cancel", "arguments": {"reference": "BK-1"}}
    llm = ToolCallingLLM([call, BOOKING], reply=lambda out: f"It is {out}.")
    engine = OfflineEngine(EngineConfig(load_models=False, llm=llm, tts=ToneTTS()))
    async with engine, _session(engine, [book_table, cancel]) as session:
        sent: list[dict] = []
        send = session.tool_runner.send
        session.tool_runner.send = lambda event: (sent.append(event), send(event))[1]
        assert await session.ask("Cancel BK-1", tool="cancel") == "It is cancelled."
        assert llm.grammars[0]["properties"]["name"] == {"const": "cancel"}  # that reply had to call it
        assert sent[-1] == {"type": "response.create", "response": {"tool_choice": "none"}}
        await session.ask("Book for Ana")  # the model's own call: its answer may call again
        assert sent[-1] == {"type": "response.create", "response": {}}
        with pytest.raises(ValueError, match=r"no tool named .refund.*book_table, cancel"):
            await session.send_text("Refund me", tool="refund")


async def test_ask_says_why_when_the_reply_fails_instead_of_waiting():
    llm = ToolCallingLLM([], chat="")  # a model that says nothing: the engine fails the response
    engine = OfflineEngine(EngineConfig(load_models=False, llm=llm, tts=ToneTTS()))
    async with engine, _session(engine, []) as session:
        why = "the reply to 'Hello' failed: the reply model produced no text"
        with pytest.raises(RuntimeError, match=why):
            await session.ask("Hello", timeout=30)
    assert [t.text for t in session.state.turns() if t.role == "user"] == ["Hello"]  # still in the log


async def test_ask_returns_the_answer_after_the_tool_round_not_the_call():
    release = threading.Event()

    def book(name: str, time: str, people: int) -> dict:
        """Book a table."""
        release.wait(5)  # a lookup that takes a while: ask() must wait for the answer after it
        return {"reference": "BK-7"}

    call = {"name": "book", "arguments": {"name": "Ana", "time": "19:00", "people": 4}}
    llm = ToolCallingLLM([call], reply=lambda out: f"Booked: {json.loads(out)['reference']}.")
    engine = OfflineEngine(EngineConfig(load_models=False, llm=llm, tts=ToneTTS()))
    async with engine, _session(engine, [book]) as session:
        asyncio.get_running_loop().call_later(0.3, release.set)
        assert await session.ask("Table for Ana at 7, four of us") == "Booked: BK-7."
        assert await session.ask("Thanks!") == llm.chat  # no call this time: the reply itself
        release.clear()
        llm.calls = [call]
        with pytest.raises(TimeoutError, match="no answer to 'Book again"):
            await session.ask("Book again", timeout=0.5)
        release.set()


# --- calls in the state, the pruning policy and the summary ---------------------------------------------


def _message(state, item_id: str, role: str, text: str) -> None:
    kind = "output_text" if role == "assistant" else "input_text"
    item = {"id": item_id, "type": "message", "role": role, "content": [{"type": kind, "text": text}]}
    state.on_item_added(item, state.window[-1] if state.window else None)
    state.on_item_done(item)


def _call(state, n: int, output: str | None, name: str = "book_table") -> None:
    call = {"id": f"fc{n}", "type": "function_call", "call_id": f"call{n}", "name": name,
            "arguments": json.dumps(BOOKING["arguments"]), "status": "completed"}  # fmt: skip
    state.on_item_added(call, state.window[-1])
    if output is not None:
        out = {"id": f"out{n}", "type": "function_call_output", "call_id": f"call{n}", "output": output}
        state.on_item_added(out, state.window[-1])


def _conversation(outputs: list[str | None]):
    from voicenb.state import ConversationState

    state = ConversationState()
    for n, output in enumerate(outputs):
        _message(state, f"u{n}", "user", f"Question {n}: book it please.")
        _call(state, n, output)
        _message(state, f"a{n}", "assistant", f"Answer {n}.")
    return state


def test_a_call_folds_with_its_output_never_apart():
    from voicenb.policy import SummaryPolicy

    state = _conversation(['{"reference": "BK-1"}', '{"reference": "BK-2"}', "ok"])
    plan = SummaryPolicy(trigger_tokens=10, keep_last=2, min_turns=1).plan(state)
    assert plan is not None
    assert [i.id for i in plan.turns] == ["u0", "fc0", "out0", "a0", "u1", "fc1", "out1", "a1"]
    # a call with its output still coming is not folded, nor anything after it
    waiting = _conversation(['{"reference": "BK-1"}', None, "ok"])
    plan = SummaryPolicy(trigger_tokens=10, keep_last=2, min_turns=1).plan(waiting)
    assert plan is not None and [i.id for i in plan.turns] == ["u0", "fc0", "out0", "a0", "u1"]
    # a call whose output comes after the kept turns stays with it
    state = _conversation([])
    _message(state, "u0", "user", "Book it please.")
    _call(state, 0, None)
    _message(state, "u9", "user", "Hurry please.")
    _message(state, "a9", "assistant", "One moment.")
    state.on_item_added(
        {"id": "late", "type": "function_call_output", "call_id": "call0", "output": "x"}, "a9"
    )
    plan = SummaryPolicy(trigger_tokens=10, keep_last=2, min_turns=1).plan(state)
    assert plan is not None and [i.id for i in plan.turns] == ["u0"]


def test_calls_are_tool_items_not_turns():
    state = _conversation(['{"reference": "BK-1"}'])
    call, output = state.log["fc0"], state.log["out0"]
    assert call.is_tool and output.is_tool and not call.is_turn and not output.is_turn
    assert [t.id for t in state.turns()] == ["u0", "a0"]
    assert state.tool_output("call0") is output and output.name == "book_table"


async def test_a_booking_reference_survives_five_folds_of_the_extractive_summary():
    from voicenb.policy import SummaryPolicy
    from voicenb.session.pruning import fold
    from voicenb.summarisers import ExtractiveSummariser

    state = _conversation(['{"reference": "BK-4821", "status": "confirmed"}'])
    policy = SummaryPolicy(trigger_tokens=1_500, keep_last=0, min_turns=1)
    summariser = ExtractiveSummariser()
    plan = policy.plan(state)
    assert plan is not None
    summary = await fold(summariser, policy, plan.turns, None)
    topics = ["the weather", "parking", "the menu", "vegan options", "the wine list"]
    for k, topic in enumerate(topics):
        later = _conversation([])
        _message(later, f"u{k}", "user", f"Tell me about {topic}, please.")
        _message(later, f"a{k}", "assistant", f"Here is what I know about {topic}: it is fine.")
        summary = await fold(summariser, policy, later.turns(), summary)
    assert "BK-4821" in summary


# --- recall: the built-in tool over the full log ------------------------------------------------------


def _folded(state, *ids: str) -> None:
    for item_id in ids:
        state.on_item_deleted(item_id, by="summary")


def test_recall_finds_folded_turns_verbatim_with_when_they_were_said():
    from voicenb.session.recall import search

    state = _conversation([])
    _message(state, "u0", "user", "My order number is 30518 and the tiles are sage green.")
    _message(state, "a0", "assistant", "Noted: order 30518, sage green tiles.")
    _message(state, "u1", "user", "The engineer should come on Thursday morning.")
    _message(state, "a1", "assistant", "Thursday morning it is.")
    _message(state, "u2", "user", "What colour were the tiles again?")
    state.log["u0"].at_s = 65.0
    _folded(state, "u0", "a0", "u1", "a1")
    hits = search(state, "tiles colour")
    assert [h.text for h in hits] == [
        "My order number is 30518 and the tiles are sage green.",
        "Noted: order 30518, sage green tiles.",
    ]
    assert hits[0].line().startswith("[1 min 05 s into the call, 4 turns ago, the user] My order number")
    assert search(state, "what colour were the tiles again") and not any(
        "again" in h.text for h in search(state, "what colour were the tiles again")
    )  # the question itself is still in the window: never returned
    assert search(state, "xylophone") == []


def test_recall_is_on_by_default_where_the_model_uses_it_and_off_offline():
    from voicenb.session import VoiceSession as Session

    online = Session.openai(api_key="sk-test")
    remote = Session.connect_to("wss://realtime.example.com/v1")
    local = Session.connect_to("ws://127.0.0.1:9/v1")  # voicenb serve: the same local model
    offline = Session.offline()
    assert "recall" in online.tools and "recall" in remote.tools
    assert "recall" not in offline.tools and "recall" not in local.tools
    assert (
        "recall" in Session.offline(recall=True).tools
        and "recall" not in Session.openai(api_key="sk-test", recall=False).tools
    )


async def test_recall_is_on_by_default_and_off_with_one_flag():
    llm = ToolCallingLLM([])
    async with OfflineEngine(EngineConfig(load_models=False, llm=llm, tts=ToneTTS())) as engine:
        with_recall = _session(engine, [], recall=True)
        without = _session(engine, [book_table], recall=False)
    assert [t["name"] for t in with_recall.config.tools] == ["recall"]
    assert "summarised" in with_recall.config.tools[0]["description"]  # it says when to use it
    assert [t["name"] for t in without.config.tools] == ["book_table"]


async def test_the_model_recalls_a_folded_detail_through_the_session():
    from voicenb.policy import SummaryPolicy
    from voicenb.summarisers import ExtractiveSummariser

    call = {"name": "recall", "arguments": {"query": "order number"}}
    llm = ToolCallingLLM(
        [], reply=lambda out: "It was " + "".join(c for c in out.split("]")[-1] if c.isdigit())
    )
    config = SessionConfig(output_modalities=["text"], turn_detection=False)
    policy = SummaryPolicy(trigger_tokens=100_000, keep_last=0, min_turns=1)
    async with OfflineEngine(EngineConfig(load_models=False, llm=llm, tts=ToneTTS())) as engine:
        session = VoiceSession(config, policy=policy, summariser=ExtractiveSummariser(), recall=True,
                               websocket_base_url=engine.url, api_key="local")  # fmt: skip
        async with session:
            await session.send_text("My order number is 30518.")  # plain chat: no call queued
            await wait_until(lambda: len(session.state.turns()) == 2 and not session.core.response_active)
            task = session.summarise_now()
            assert task is not None
            await task
            llm.calls = [call]
            await session.send_text("What was my order number?")
            await wait_until(lambda: len(session.state.turns()) == 4, timeout=10)
            await session.wait_idle(quiet_s=0.3, timeout_s=10)
    (call_item,) = [i for i in session.state.log.values() if i.kind == "function_call"]
    output = session.state.tool_output(call_item.call_id)
    assert output is not None and "the user] My order number is 30518." in output.text
    assert "30518" in session.state.turns()[-1].text


async def test_a_handoff_folds_what_a_tool_returned_into_the_new_sessions_summary():
    from voicenb.policy import SummaryPolicy
    from voicenb.summarisers import ExtractiveSummariser

    llm = ToolCallingLLM([BOOKING], reply=lambda out: "Booked.", chat="Sure.")
    config = SessionConfig(output_modalities=["text"], turn_detection=False)
    policy = SummaryPolicy(trigger_tokens=100_000, keep_last=2, min_turns=1)
    async with OfflineEngine(EngineConfig(load_models=False, llm=llm, tts=ToneTTS())) as engine:
        session = VoiceSession(config, policy=policy, summariser=ExtractiveSummariser(), tools=[book_table],
                               websocket_base_url=engine.url, api_key="local", recall=False)  # fmt: skip
        async with session:
            for n, text in enumerate(["Book for Ana at 7, four of us", "Thanks", "Parking?"], 1):
                await session.send_text(text)
                await wait_until(lambda n=n: len(session.state.turns()) == 2 * n, timeout=10)
                await session.wait_idle(quiet_s=0.2, timeout_s=10)
            await session.handoff_now()
            summary = session.state.current_summary()
    assert summary is not None and "BK-4821" in summary.text


def test_scripted_replies_leave_calls_to_their_model_and_never_spend_a_line_on_a_peek():
    from voicenb.engine.tool_calls import ToolsInPlay
    from voicenb.tools.scripted import ScriptedReplies

    model = ToolCallingLLM([BOOKING])
    replies = ScriptedReplies(model)
    stop = threading.Event()
    tools = {"tools": [tool(book_table).spec()], "tool_choice": "auto"}
    assert ToolsInPlay.of(tools, {}, replies) is not None  # the eval's probes may call tools
    prompt = [{"role": "system", "content": "# Tools"}, {"role": "user", "content": "Book"}]
    replies.say("A scripted line.")
    assert replies.peek(prompt, 3, stop) == ""  # a scripted line is never a call ...
    assert "".join(replies.stream(prompt, 50, stop)) == "A scripted line. "  # ... and is still there
    assert replies.peek(prompt, 3, stop) == "<tool_call>"  # none queued: the model's own opening
    call = "".join(replies.stream(prompt, 50, stop, grammar="{}", prefix="<tool_call>\n"))
    assert json.loads(call) == BOOKING
