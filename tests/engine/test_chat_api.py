"""The engine's OpenAI-compatible chat-completions endpoint, the failure path of a reply, and the
reply-first scheduler: no models (a scripted completer)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest
from openai import AsyncOpenAI

from tests.engine.fakes import ToneTTS, collect_until, connect
from tests.engine.test_protocol import add, user_text
from voicenb.engine import EngineConfig, OfflineEngine
from voicenb.engine.chat_api import BadRequest, ChatAPI, json_schema, parse_request
from voicenb.engine.llm import CompletionAbandoned, ContextOverflowError, Scheduler
from voicenb.memory import UPDATE_SCHEMA
from voicenb.summarisers import ChatSummariser


class EchoCompleter:
    """complete() answers with memory operations in JSON (as the grammar would have it); stream() raises."""

    def __init__(self) -> None:
        self.calls: list[list[dict[str, str]]] = []
        self.schemas: list[dict | None] = []

    def complete(self, messages, max_tokens, abandoned=None, json_schema=None):
        self.calls.append(messages)
        self.schemas.append(json_schema)
        ops = [{"op": "add", "subject": "table", "value": "four on Friday at 7:30"},
               {"op": "update", "subject": "table", "value": "five on Friday at 7:30"}]  # fmt: skip
        return json.dumps({"gist": "A dinner booking.", "ops": ops}), 42, 9

    def stream(self, messages, max_tokens, stop):
        raise ContextOverflowError("the prompt needs 9000 + 60 tokens but the model's context is 8192")
        yield ""  # pragma: no cover


@pytest.fixture
async def chat():
    api = ChatAPI(EchoCompleter(), "127.0.0.1", token=None)
    await api.start()
    yield api
    await api.stop()


def test_parse_request_rejects_bad_bodies_with_one_line_reasons():
    assert parse_request(b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}') == (
        [{"role": "user", "content": "hi"}], 5, False,
    )  # fmt: skip
    for body, reason in [
        (b"not json", "not JSON"), (b"[]", "JSON object"), (b'{"messages": []}', "non-empty"),
        (b'{"messages": [{"role": "tool", "content": "x"}]}', "role"),
        (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": -1}', "positive"),
    ]:  # fmt: skip
        with pytest.raises(BadRequest, match=reason):
            parse_request(body)


async def test_the_memory_summariser_gets_its_schema_through_the_endpoint(chat):
    summariser = ChatSummariser(AsyncOpenAI(base_url=chat.base_url, api_key="local"), model="local")
    turns = [("user", "A table for four on Friday at 7:30, please."), ("assistant", "Sure."),
             ("user", "Actually, make it five.")]  # fmt: skip
    text = await summariser.summarise(turns, None, "English", 200)
    assert text.splitlines() == ["About: A dinner booking.", "- table: five on Friday at 7:30"]
    assert chat.llm.calls and chat.llm.calls[0][0]["role"] == "system"
    assert chat.llm.schemas[0] == UPDATE_SCHEMA  # the local model is constrained to the operations' schema


def test_a_response_format_without_a_schema_object_is_a_bad_request():
    body = {"messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}  # fmt: skip
    with pytest.raises(BadRequest, match="schema"):
        json_schema(json.dumps(body).encode())
    assert json_schema(b'{"messages": [], "response_format": {"type": "text"}}') is None


async def test_errors_are_json_and_the_listener_keeps_serving(chat):
    async with httpx.AsyncClient(base_url=chat.base_url) as http:
        bad = await http.post("/chat/completions", content=b"{oops")
        assert bad.status_code == 400 and "not JSON" in bad.json()["error"]["message"]
        assert (await http.get("/nothing")).status_code == 404
        huge = await http.post("/chat/completions", content=b"x" * (2 * 1024 * 1024))
        assert huge.status_code != 200
    async with httpx.AsyncClient(base_url=chat.base_url) as http:
        ok = await http.post("/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
        assert ok.status_code == 200 and ok.json()["usage"]["prompt_tokens"] == 42


async def test_engine_exposes_chat_base_url_and_requires_its_token():
    config = EngineConfig(load_models=False, llm=EchoCompleter(), tts=ToneTTS(), token="secret-ish")
    async with OfflineEngine(config) as engine, httpx.AsyncClient() as http:
        url = f"{engine.chat_base_url}/chat/completions"
        body = {"messages": [{"role": "user", "content": "hi"}]}
        assert (await http.post(url, json=body)).status_code == 401
        ok = await http.post(url, json=body, headers={"Authorization": "Bearer secret-ish"})
        assert ok.status_code == 200


async def test_a_reply_that_cannot_be_produced_fails_visibly():
    config = EngineConfig(load_models=False, llm=EchoCompleter(), tts=ToneTTS())
    async with OfflineEngine(config) as engine, connect(engine.url) as conn:
        await add(conn, user_text("hello"))
        await conn.response.create(response={"output_modalities": ["text"]})
        events = await collect_until(conn, "error")
        done = next(e for e in events if e.type == "response.done")
        assert done.response.status == "failed"
        assert "context is 8192" in done.response.status_details.error.message
        assert "context is 8192" in events[-1].error.message


def _waiting_on(scheduler: Scheduler, n: int) -> None:
    """Until ``n`` threads wait on the scheduler's condition (polled: no guessed delay)."""
    deadline = time.monotonic() + 5
    while len(scheduler._cond._waiters) < n:  # type: ignore[attr-defined] (CPython's Condition)
        assert time.monotonic() < deadline, f"{n} waiting threads not within 5 s"
        time.sleep(0.001)


def test_background_work_yields_to_replies_between_steps():
    scheduler, order = Scheduler(), []

    def background():
        for step in range(6):
            scheduler.yield_to_replies()
            order.append(f"b{step}")

    with scheduler.reply():
        worker = threading.Thread(target=background)
        worker.start()
        _waiting_on(scheduler, 1)  # the background job blocks while the reply is active
        order.append("reply")
    worker.join(5)
    assert order == ["reply"] + [f"b{step}" for step in range(6)]


async def test_empty_reply_is_a_failed_response_not_silence():
    class Mute:
        def stream(self, messages, max_tokens, stop):
            return iter(())

    config = EngineConfig(load_models=False, llm=Mute(), tts=ToneTTS())
    async with OfflineEngine(config) as engine, connect(engine.url) as conn:
        await add(conn, user_text("hello"))
        await conn.response.create(response={"output_modalities": ["text"]})
        events = await collect_until(conn, "error")
        assert next(e for e in events if e.type == "response.done").response.status == "failed"
        await asyncio.sleep(0)


async def test_streamed_completions_feed_the_engine_from_another_endpoint():
    """ChatEndpointLLM (an engine whose replies come from a URL) reads this endpoint's stream."""
    from voicenb.engine.endpoints import ChatEndpointLLM

    class Words:
        def stream(self, messages, max_tokens, stop):
            yield from ["Madrid", " is", " the", " capital."]

    api = ChatAPI(Words(), "127.0.0.1", token=None)
    await api.start()
    try:
        remote = ChatEndpointLLM(api.base_url, "local")
        pieces = await asyncio.to_thread(
            lambda: list(remote.stream([{"role": "user", "content": "?"}], 9, threading.Event()))
        )
        assert "".join(pieces) == "Madrid is the capital."
    finally:
        await api.stop()


def _replying(scheduler: Scheduler, order: list[str]):
    """A reply thread's body: it records its name once it has the model, and holds it until ``hold``."""

    def reply(name: str, hold: threading.Event | None = None) -> None:
        with scheduler.reply():
            order.append(name)
            if hold is not None:
                hold.wait(5)

    return reply


def test_background_work_that_waited_its_patience_goes_before_the_next_reply():
    scheduler, order = Scheduler(patience_s=0.2), []
    release, reply = threading.Event(), _replying(scheduler, order)

    def background():
        with scheduler.background():
            for step in range(3):
                scheduler.yield_to_replies()
                order.append(f"b{step}")

    first = threading.Thread(target=reply, args=("r0", release))
    first.start()
    deadline = time.monotonic() + 5
    while not order:  # r0 holds the model
        assert time.monotonic() < deadline, "the first reply never started"
        time.sleep(0.001)
    worker = threading.Thread(target=background)
    worker.start()
    deadline = time.monotonic() + 5
    while not scheduler._urgent:  # its patience ran out while r0 held the model
        assert time.monotonic() < deadline, "the background job never became urgent"
        time.sleep(0.001)
    second = threading.Thread(target=reply, args=("r1",))
    second.start()
    _waiting_on(scheduler, 2)  # the job waits for r0, and r1 waits for the job
    release.set()
    for thread in (first, worker, second):
        thread.join(5)
    assert order == ["r0", "b0", "b1", "b2", "r1"]  # once started it ran to the end, before r1
    with scheduler.reply():  # patience is per job: the next reply is not held back
        order.append("after")
    assert order[-1] == "after"


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within 5 s"
        time.sleep(0.001)


def test_background_work_past_its_patience_runs_in_slices_with_replies_between():
    now = [0.0]
    scheduler, order = Scheduler(patience_s=0.0, slice_s=1.0, clock=lambda: now[0]), []
    steps = [threading.Event() for _ in range(3)]
    release, reply = threading.Event(), _replying(scheduler, order)
    steps[0].set()

    def background():
        with scheduler.background():
            for step, go in enumerate(steps):
                go.wait(5)
                scheduler.yield_to_replies()
                order.append(f"b{step}")

    threads = [threading.Thread(target=reply, args=("r0", release))]
    threads[0].start()
    _until(lambda: order == ["r0"], "the first reply")
    threads.append(threading.Thread(target=background))
    threads[1].start()
    _until(lambda: scheduler._urgent, "the job out of patience")
    threads.append(threading.Thread(target=reply, args=("r1",)))
    threads[2].start()
    _until(lambda: scheduler._waiting == 1, "the second reply waiting")
    release.set()  # r0 ends: the job's first slice starts at t=0
    _until(lambda: "b0" in order, "the job's first step")
    steps[1].set()  # still within its slice: r1 waits
    _until(lambda: "b1" in order, "the job's second step")
    assert not scheduler.should_yield()  # a long prefill goes on within the slice
    now[0] = 1.0  # the slice is over: r1 goes before the job's next step
    assert scheduler.should_yield()  # and a prefill stops at its next chunk for it
    steps[2].set()
    for thread in threads:
        thread.join(5)
    assert order == ["r0", "b0", "b1", "r1", "b2"]


class EndlessCompleter:
    """complete() runs until it is told that nobody waits for it any more."""

    def __init__(self) -> None:
        self.stopped = threading.Event()

    def complete(self, messages, max_tokens, abandoned=None):
        while not abandoned.wait(0.05):
            pass
        self.stopped.set()
        raise CompletionAbandoned("the client left")


async def test_a_completion_whose_client_gave_up_stops_and_the_next_request_is_served():
    completer = EndlessCompleter()
    api = ChatAPI(completer, "127.0.0.1", token=None)
    await api.start()
    try:
        body = {"messages": [{"role": "user", "content": "summarise this"}]}
        async with httpx.AsyncClient(base_url=api.base_url, timeout=0.3) as http:
            with pytest.raises(httpx.TimeoutException):  # a summariser's timeout closes the connection
                await http.post("/chat/completions", json=body)
        assert await asyncio.to_thread(completer.stopped.wait, 3.0)  # the model's time is free again
        completer.complete = EchoCompleter().complete
        async with httpx.AsyncClient(base_url=api.base_url, timeout=5.0) as http:
            assert (await http.post("/chat/completions", json=body)).status_code == 200
    finally:
        await api.stop()


def test_the_local_grammar_writes_the_operations_before_the_gist():
    """A small model that may write the gist first puts its whole summary there (measured on the 1.5B)."""
    from voicenb.engine.llm import _grammar

    root = _grammar(json.dumps(UPDATE_SCHEMA))._grammar.split("root ::=")[1].splitlines()[0]
    assert root.index("ops-kv") < root.index("gist-kv")
