"""Function calling in the offline engine: the GA events (checked by the SDK's own types) and a real
third-party client, openai-agents' realtime agent with a ``@function_tool``, completing a call."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import pytest

from tests.engine.fakes import ToneTTS, collect_until, connect
from tests.tool_fakes import ToolCallingLLM
from voicenb.engine import EngineConfig, OfflineEngine
from voicenb.engine.tool_calls import parse_call

BOOK_TABLE = {
    "type": "function",
    "name": "book_table",
    "description": "Book a table.",
    "parameters": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "time": {"type": "string"}, "people": {"type": "integer"}},
        "required": ["name", "time", "people"],
    },
}
CALL = {"name": "book_table", "arguments": {"name": "Ana", "time": "19:00", "people": 4}}


def _engine(llm: Any, token: str | None = None) -> OfflineEngine:
    return OfflineEngine(EngineConfig(load_models=False, llm=llm, tts=ToneTTS(), token=token))


async def test_a_function_call_streams_as_the_api_streams_it():
    llm = ToolCallingLLM([CALL], reply=lambda out: f"Booked: {json.loads(out)['reference']}.")
    async with _engine(llm) as engine, connect(engine.url) as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"],
                                           "tools": [BOOK_TABLE], "tool_choice": "auto"})  # fmt: skip
        await collect_until(conn, "session.updated")
        await conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Book"}]}
        )
        await conn.response.create()
        events = await collect_until(conn, "response.done")  # each one parsed by the SDK's typed models
        types = [e.type for e in events]
        i = types.index
        assert i("response.output_item.added") < i("response.function_call_arguments.delta")
        assert i("response.function_call_arguments.delta") < i("response.function_call_arguments.done")
        assert (
            i("response.function_call_arguments.done") < i("response.output_item.done") < i("response.done")
        )
        done = events[i("response.function_call_arguments.done")]
        assert done.name == "book_table" and json.loads(done.arguments) == CALL["arguments"]
        response = events[-1].response
        assert response.status == "completed" and response.usage.output_tokens > 0
        (call,) = response.output
        assert call.type == "function_call" and call.call_id == done.call_id and call.status == "completed"
        assert "output_text" not in " ".join(types)  # a call, not a spoken reply

        output = {"reference": "BK-4821"}
        await conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": call.call_id, "output": json.dumps(output)}
        )
        await conn.response.create()
        events = await collect_until(conn, "response.done")
        assert events[-1].response.output[0].content[0].text == "Booked: BK-4821."
        items = engine.connections[-1].conversation.items
        assert [x.type for x in items] == ["message", "function_call", "function_call_output", "message"]
        # the model read the call and its output in the template's own format
        prompt = llm.prompts[-1]
        assert prompt[-2]["role"] == "assistant" and prompt[-2]["content"].startswith("<tool_call>")
        assert prompt[-1] == {
            "role": "user",
            "content": f"<tool_response>\n{json.dumps(output)}\n</tool_response>",
        }


class SilentAfterResults(ToolCallingLLM):
    """Qwen2.5 1.5B after some tool outputs: ends its turn at once, unless asked plainly to answer."""

    def stream(self, messages, max_tokens, stop, *, grammar=None, prefix=""):
        last = messages[-1]["content"]
        self.prompts.append(last)
        if last.endswith("</tool_response>"):
            return iter([])
        return iter(["Your table is booked."] if "answer the user" in last else [])


@pytest.mark.parametrize("modality", ["audio", "text"])
async def test_a_model_silent_after_a_tool_result_is_asked_once_more_to_answer(modality):
    llm = SilentAfterResults([])
    async with _engine(llm) as engine, connect(engine.url) as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": [modality]})
        for item in [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Book"}]},
            {"type": "function_call", "call_id": "c1", "name": "book_table", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": '{"reference": "BK-1"}'},
        ]:
            await conn.conversation.item.create(item=item)
        await conn.response.create()
        done = (await collect_until(conn, "response.done"))[-1].response
        part = done.output[0].content[0]
        assert done.status == "completed"
        assert (part.transcript if modality == "audio" else part.text) == "Your table is booked."
        # asked once more: the same prompt, the output followed by a plain request to answer from it
        output = '<tool_response>\n{"reference": "BK-1"}\n</tool_response>'
        assert llm.prompts == [output, output + "\n\nNow answer the user in words, from this result."]


async def test_tool_choice_required_forces_a_call_and_bad_items_are_errors():
    llm = ToolCallingLLM([CALL], chat="I would rather talk.")
    async with _engine(llm) as engine, connect(engine.url) as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"],
                                           "tools": [BOOK_TABLE], "tool_choice": "required"})  # fmt: skip
        await collect_until(conn, "session.updated")
        await conn.response.create()  # no user turn: only "required" makes it call
        events = await collect_until(conn, "response.done")
        assert events[-1].response.output[0].type == "function_call"
        assert llm.grammars  # generated under the tools' schema
        await conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": "", "output": "x"}
        )
        error = (await collect_until(conn, "error"))[-1]
        assert error.error.param == "item.call_id"


def test_a_generated_call_parses_with_or_without_its_tags():
    assert parse_call('<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>') == ("f", '{"a": 1}')
    assert parse_call('{"name": "f", "arguments": "{\\"a\\": 1}"}') == ("f", '{"a": 1}')
    assert parse_call("I will book it") is None
    assert parse_call('{"arguments": {}}') is None


async def test_an_openai_agents_realtime_agent_completes_a_call():
    pytest.importorskip("agents", reason="openai-agents missing: pip install -e '.[dev]'")
    os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")  # nothing leaves the machine
    from agents import function_tool
    from agents.realtime import RealtimeAgent, RealtimeRunner

    booked: list[tuple[str, str, int]] = []

    @function_tool
    def book_table(name: str, time: str, people: int) -> str:
        """Book a table at the restaurant."""
        booked.append((name, time, people))
        return json.dumps({"reference": "BK-4821"})

    llm = ToolCallingLLM(
        [CALL], reply=lambda out: f"You are booked, reference {json.loads(out)['reference']}."
    )
    async with _engine(llm, token="tools-test") as engine:
        agent = RealtimeAgent(name="host", instructions="Book tables.", tools=[book_table])
        model_config: Any = {
            "url": f"{engine.url}/realtime?model=gpt-realtime", "api_key": "tools-test",
            "initial_model_settings": {"tracing": None, "output_modalities": ["text"]},
        }  # fmt: skip
        session = await RealtimeRunner(agent).run(model_config=model_config)
        seen: list[Any] = []
        async with session:

            async def until_reply() -> None:
                async for event in session:
                    seen.append(event)
                    raw = getattr(getattr(event, "data", None), "data", None)
                    if isinstance(raw, dict) and raw.get("type") == "response.output_text.done":
                        return

            await session.send_message("Table for Ana at seven, four people")
            await asyncio.wait_for(until_reply(), 20)

    assert booked == [("Ana", "19:00", 4)]
    ends = [e for e in seen if e.type == "tool_end"]
    assert len(ends) == 1 and json.loads(ends[0].output) == {"reference": "BK-4821"}
    raw = [e.data.data for e in seen if isinstance(getattr(getattr(e, "data", None), "data", None), dict)]
    assert [r["text"] for r in raw if r["type"] == "response.output_text.done"] == [
        "You are booked, reference BK-4821."
    ]
    assert not [e for e in seen if e.type == "error"]


class _SlowToDecide(ToolCallingLLM):
    """Its first tokens take 3 s whatever happens (an uninterruptible prefill on a busy machine)."""

    def stream(self, messages, max_tokens, stop, *, grammar=None, prefix=""):
        time.sleep(3)
        yield "late"


async def test_a_response_deciding_whether_to_call_is_cancelled_at_once():
    llm = _SlowToDecide([CALL])
    async with _engine(llm) as engine, connect(engine.url) as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"],
                                           "tools": [BOOK_TABLE]})  # fmt: skip
        await collect_until(conn, "session.updated")
        await conn.response.create()
        await collect_until(conn, "response.created")
        started = asyncio.get_running_loop().time()
        await conn.response.cancel()
        done = (await collect_until(conn, "response.done", timeout=5))[-1]
        assert done.response.status == "cancelled" and done.response.output == []
        assert asyncio.get_running_loop().time() - started < 2
