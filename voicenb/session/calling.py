"""Runs the model's function calls: each call of a response in parallel, sync tools off the event loop,
every failure (raised, timed out, bad arguments, unknown tool) an error output the model can talk
about. Then one ``response.create`` so the model answers from the outputs. The session never dies of a
tool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from openai.types.realtime import (
    RealtimeClientEventParam,
    RealtimeConversationItemFunctionCallOutputParam,
    RealtimeResponseCreateParamsParam,
)

from .. import events as ev
from .core import SessionCore
from .tools import Tool, ToolArgumentsError, ToolBox, error_output, output_text

log = logging.getLogger("voicenb.session")

MAX_ROUNDS = 4  # tool rounds in a row without a user turn; then the model must answer in words
# After a round of only these the model answers: the local 1.5B recalled again and again, never answering
ANSWER_AFTER = frozenset({"recall"})


class ToolRunner:
    """Watches `ToolCalled` events; sends outputs and the next ``response.create`` through ``send``."""

    def __init__(
        self,
        core: SessionCore,
        tools: ToolBox,
        send: Callable[[RealtimeClientEventParam], Awaitable[None]],
    ) -> None:
        self.core, self.tools, self.send = core, tools, send
        self._pending: dict[str, list[ev.ToolCalled]] = {}  # response id -> its calls
        self._tasks: set[asyncio.Task] = set()
        self.rounds = 0  # tool rounds since the last user turn
        self.answer_next = False  # a reply was asked to call a named tool: the one after it answers
        core.subscribe(self._on_event)

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def _on_event(self, event: ev.SessionEvent) -> None:
        if isinstance(event, ev.ToolCalled):
            calls = self._pending.setdefault(event.response_id, [])
            calls.append(event)
            if len(calls) == 1:  # the other calls of this response.done are published in the same tick
                asyncio.get_running_loop().call_soon(self._start, event.response_id)
        elif isinstance(event, ev.ItemAdded) and event.role == "user":
            self.rounds = 0

    def _start(self, response_id: str) -> None:
        calls = self._pending.pop(response_id, [])
        if calls:
            task = asyncio.create_task(self._round(calls), name="voicenb-tools")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def cancel(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _round(self, calls: list[ev.ToolCalled]) -> None:
        outputs = await asyncio.gather(*(self.call(c) for c in calls))
        try:
            for call, output in zip(calls, outputs, strict=True):
                item: RealtimeConversationItemFunctionCallOutputParam = {
                    "type": "function_call_output",
                    "call_id": call.call_id,
                    "output": output,
                }
                await self.send({"type": "conversation.item.create", "item": item})
            self.rounds += 1
            if self.core.response_active:
                return  # the user spoke meanwhile: that response reads the outputs
            response: RealtimeResponseCreateParamsParam = {}
            forced, self.answer_next = self.answer_next, False
            if forced or self.rounds >= MAX_ROUNDS or all(c.name in ANSWER_AFTER for c in calls):
                response["tool_choice"] = "none"  # a model calling tools in a loop must now speak
            elif self.core.config.tool_choice != "auto":
                response["tool_choice"] = "auto"  # "required" or a named tool forced the call, not the answer
            await self.send({"type": "response.create", "response": response})
        except Exception as exc:  # the connection is gone: a handoff re-seeds what it can
            log.warning("tool outputs not sent: %s", exc)

    async def call(self, called: ev.ToolCalled) -> str:
        """Run one call; returns the output text the model reads (an error output on failure)."""
        started = self.core.clock()
        t = self.tools.get(called.name)
        try:
            if t is None:
                raise UnknownTool(f"no tool named {called.name!r}")
            output = output_text(await _run(t, t.arguments(called.arguments)))
        except Exception as exc:
            error = _reason(exc, t)
            output = error_output(error)
            self.core.publish(
                ev.ToolFailed(called.call_id, called.name, error, output, self.core.clock() - started)
            )
            return output
        self.core.publish(ev.ToolReturned(called.call_id, called.name, output, self.core.clock() - started))
        return output


class UnknownTool(LookupError):
    pass


async def _run(t: Tool, kwargs: dict[str, Any]) -> Any:
    """A call under its timeout; a sync tool runs in a thread of its own."""
    started = time.monotonic()
    if t.is_async:
        result = await asyncio.wait_for(t.fn(**kwargs), t.timeout_s)
    else:
        result = await asyncio.wait_for(_in_thread(t.fn, kwargs), t.timeout_s)
    if asyncio.iscoroutine(result):  # a plain function that returned a coroutine
        remaining = max(0.001, t.timeout_s - (time.monotonic() - started))
        result = await asyncio.wait_for(result, remaining)
    return result


def _in_thread(fn: Callable[..., Any], kwargs: dict[str, Any]) -> asyncio.Future[Any]:
    """``fn(**kwargs)`` in a daemon thread. Not ``asyncio.to_thread``: a tool that hangs past its
    timeout is abandoned (Python cannot stop a thread), and a hung pool thread would hold up
    ``asyncio.run``'s exit, which waits for the default executor."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not fut.done():
            fut.set_result(value) if ok else fut.set_exception(value)

    def work() -> None:
        try:
            value, ok = fn(**kwargs), True
        except BaseException as exc:  # delivered to the awaiting call, which reports it
            value, ok = exc, False
        with contextlib.suppress(RuntimeError):  # the loop closed while the tool ran
            loop.call_soon_threadsafe(settle, ok, value)

    name = f"voicenb-tool-{getattr(fn, '__name__', 'fn')}"
    threading.Thread(target=work, name=name, daemon=True).start()
    return fut


def _reason(exc: BaseException, t: Tool | None) -> str:
    if isinstance(exc, TimeoutError) and t is not None:
        return f"{t.name} did not answer within {t.timeout_s:g} s"
    if isinstance(exc, ToolArgumentsError | UnknownTool):
        return str(exc)
    return f"{t.name if t else 'tool'} failed: {type(exc).__name__}: {exc}"
