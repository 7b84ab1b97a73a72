"""Typed turns that want an answer: the events that send one (and name a tool its reply must call first),
and `answer`, the wait behind ``VoiceSession.ask()`` for the reply after any tool calls."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from openai.types.realtime import (
    ConversationItemParam,
    RealtimeClientEventParam,
    ResponseCreateEventParam,
)

from .. import events as ev
from .calling import ToolRunner
from .core import SessionCore
from .tools import ToolBox

ASK_TIMEOUT_S = 180.0  # `ask()`: a reply, its tool calls and the answer after them, on a slow machine


def item_events(
    item: ConversationItemParam, tools: ToolBox, *, respond: bool, tool: str | None
) -> list[RealtimeClientEventParam]:
    """The client events that append ``item`` and, with ``respond``, ask for a reply that first calls
    ``tool`` (None: any or none). ValueError when ``tools`` has no tool of that name."""
    if tool is not None and tool not in tools:
        names = ", ".join(t.name for t in tools) or "none"
        raise ValueError(f"no tool named {tool!r}: this session's tools are {names}")
    events: list[RealtimeClientEventParam] = [{"type": "conversation.item.create", "item": item}]
    if respond:
        create: ResponseCreateEventParam = {"type": "response.create"}
        if tool:
            create["response"] = {"tool_choice": {"type": "function", "name": tool}}
        events.append(create)
    return events


async def answer(
    core: SessionCore, runner: ToolRunner, say: Callable[[], Awaitable[None]], text: str, timeout: float
) -> str:
    """Send the turn (``say``: ``text`` as a typed turn) and return the assistant's last words once no
    response and no tool call is running. `RuntimeError` with the server's reason when the reply fails,
    `TimeoutError` after ``timeout`` s."""
    before = len(core.state.turns())
    done: asyncio.Queue[ev.UsageUpdated] = asyncio.Queue()
    unsubscribe = core.subscribe(lambda e: done.put_nowait(e) if isinstance(e, ev.UsageUpdated) else None)
    try:
        async with asyncio.timeout(timeout):
            await say()
            while True:
                record = (await done.get()).record
                await asyncio.sleep(0)  # a call this response asked for starts in this tick
                if core.response_active or runner.running:
                    continue
                if record.status == "failed":
                    why = core.errors[-1].message if core.errors else "no reason given"
                    raise RuntimeError(f"the reply to {text[:40]!r} failed: {why}")
                said = [t.text for t in core.state.turns()[before:] if t.role == "assistant" and t.text]
                if said:
                    return said[-1]
    except TimeoutError:
        raise TimeoutError(f"no answer to {text[:40]!r} within {timeout:g} s") from None
    finally:
        unsubscribe()
