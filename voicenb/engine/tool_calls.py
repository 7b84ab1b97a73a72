"""Function calling on the local model: the session's ``tools`` and ``tool_choice`` reach the prompt in the
format Qwen2.5 was trained on (a ``# Tools`` block in the system message, calls as
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, outputs as ``<tool_response>``), and a call's
JSON is generated under a grammar built from the tools' schemas (llama.cpp), so its arguments are
schema-valid by construction.

``auto``: the model's first tokens decide (a ``<tool_call>`` or a ``{`` opens a call, anything else is
a spoken reply, generated from the same cached prompt); ``required`` and a named function go straight
to the constrained call; ``none`` keeps the tools in the prompt (its cached prefix holds) and never
calls (a reply that would open a call is generated without the tools block instead). The events are
the API's: a ``function_call`` output item, ``response.function_call_arguments.delta`` / ``.done``,
then ``response.done`` with the call.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from dataclasses import dataclass
from typing import Any

from .conversation import CALL_CLOSE, CALL_OPEN, ServerItem, new_id
from .host import CallingRun
from .protocol import server_event

PEEK_TOKENS = 3  # enough for "<tool_call>" (one token in Qwen2.5) after a stray newline
MAX_CALL_TOKENS = 256

TOOLS_HEADER = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
    "<args-json-object>}\n</tool_call>"
)


@dataclass(frozen=True)
class ToolsInPlay:
    """The function tools a response may call and how (``auto``, ``required`` or one tool's name)."""

    tools: tuple[dict[str, Any], ...]
    choice: str  # "auto" | "required" | "function" | "none"
    name: str | None = None  # the one function a named tool_choice forces

    @classmethod
    def of(cls, session: dict[str, Any], params: dict[str, Any], llm: Any) -> ToolsInPlay | None:
        """What the session (or this ``response.create``) allows; None: no tools, or a reply model that
        cannot generate under a grammar."""
        tools = params.get("tools", session.get("tools")) or []
        functions = tuple(t for t in tools if t.get("type", "function") == "function" and t.get("name"))
        choice = params.get("tool_choice", session.get("tool_choice")) or "auto"
        if not functions or not _constrains(llm):
            return None
        if choice == "none":  # the tools stay in the prompt (its cached prefix), but no call is made
            return cls(functions, "none")
        if isinstance(choice, dict):
            name = choice.get("name")
            if choice.get("type") != "function" or not any(t["name"] == name for t in functions):
                return cls(functions, "auto")  # an MCP choice, or a function not offered: let the model pick
            return cls(functions, "function", name)
        return cls(functions, "required" if choice == "required" else "auto")

    def system_text(self, instructions: str) -> str:
        """The instructions followed by the tools block, as Qwen2.5's chat template writes it."""
        lines = [json.dumps(_chat_tool(t), ensure_ascii=False) for t in self.tools]
        return f"{instructions}\n\n{TOOLS_HEADER}\n" + "\n".join(lines) + TOOLS_FOOTER

    def call_schema(self) -> dict[str, Any]:
        """The JSON schema of one call object ``{"name": ..., "arguments": {...}}`` (the grammar)."""
        offered = [t for t in self.tools if self.name is None or t["name"] == self.name]
        options = [
            {
                "type": "object",
                "properties": {
                    "name": {"const": t["name"]},
                    "arguments": t.get("parameters") or {"type": "object"},
                },
                "required": ["name", "arguments"],
            }
            for t in offered
        ]
        return options[0] if len(options) == 1 else {"oneOf": options}


def session_instructions(session: dict[str, Any], llm: Any) -> str:
    """The session's instructions as the next reply's prompt starts (with the tools block when tools
    are in play): what a prewarm evaluates, so that reply starts from a warm cache."""
    instructions = session.get("instructions") or ""
    tools = ToolsInPlay.of(session, {}, llm)
    return tools.system_text(instructions) if tools is not None else instructions


def _chat_tool(tool: dict[str, Any]) -> dict[str, Any]:
    function = {k: tool[k] for k in ("name", "description", "parameters") if tool.get(k) is not None}
    return {"type": "function", "function": function}


def _constrains(llm: Any) -> bool:
    """The reply model generates under a JSON-schema grammar (``stream(..., grammar=, prefix=)``)."""
    stream = getattr(llm, "stream", None)
    if stream is None:
        return False
    try:
        parameters = inspect.signature(stream).parameters
    except (TypeError, ValueError):
        return False
    return "grammar" in parameters and "prefix" in parameters


# --- the conversation as the model reads it -------------------------------------------------------


# --- one response that calls a function --------------------------------------------------------------


def parse_call(text: str) -> tuple[str, str] | None:
    """(name, arguments JSON) from a generated call object (with or without its tags); None if it
    is not one."""
    body = text.strip().removeprefix(CALL_OPEN).split(CALL_CLOSE)[0].strip()
    try:
        call = json.loads(body)
    except ValueError:
        return None
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        return None
    arguments = call.get("arguments", {})
    if isinstance(arguments, str):  # some models write the arguments as a JSON string
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    return call["name"], json.dumps(arguments, ensure_ascii=False)


def opens_call(opening: str) -> bool:
    """The first tokens of a reply start a call: the tag, or (Qwen2.5-Coder-1.5B writes it so) the
    call's JSON object without it. A spoken reply never starts with a brace."""
    return opening.lstrip().startswith((CALL_OPEN, "{"))


ANSWER_FROM_RESULT = "Now answer the user in words, from this result."


def answers_a_tool(messages: list[dict[str, Any]]) -> bool:
    """The reply comes right after a tool's output (the prompt ends with its ``<tool_response>``)."""
    return bool(messages) and str(messages[-1].get("content", "")).rstrip().endswith("</tool_response>")


def asked_to_answer(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The prompt again, the tool's output followed by a plain request to answer from it: Qwen2.5 1.5B
    sometimes ends its turn at once after a ``<tool_response>`` it has nothing to call after."""
    last = messages[-1]
    return [*messages[:-1], {**last, "content": f"{last['content']}\n\n{ANSWER_FROM_RESULT}"}]


async def respond(run: CallingRun, tools: ToolsInPlay, messages: list[dict[str, Any]]) -> bool:
    """Let the model call a function instead of speaking; True when this response is a call (or was
    cancelled meanwhile: it then ends at once, as every cancelled response does)."""
    llm, stop = run.conn.parts.llm, run.stop_llm
    if tools.choice in ("auto", "none"):
        opening = await _opening(run, llm, messages)
        if run.cancel_reason:
            return True
        if not opens_call(opening):
            return False
        if tools.choice == "none":  # it would call, and may not: the reply reads no tools block
            messages[0] = {**messages[0], "content": messages[0]["content"].split(f"\n\n{TOOLS_HEADER}")[0]}
            return False
    schema = json.dumps(tools.call_schema())
    work = asyncio.to_thread(_generate, llm, messages, MAX_CALL_TOKENS, stop, schema, CALL_OPEN + "\n")
    text = await run.until_cancelled(work)
    if run.cancel_reason:
        return True
    call = parse_call(text or "")
    if call is None:
        return False  # a cut-off call: answer in words instead
    await emit_call(run, *call)
    return True


async def _opening(run: CallingRun, llm: Any, messages: list[dict[str, Any]]) -> str:
    """The reply's first tokens (from the prompt the reply then reuses, cached)."""
    peek = getattr(llm, "peek", None)  # a model that serves scripted lines too says which it is
    if peek is not None:
        work = asyncio.to_thread(peek, messages, PEEK_TOKENS, run.stop_llm)
    else:
        work = asyncio.to_thread(_generate, llm, messages, PEEK_TOKENS, run.stop_llm)
    return await run.until_cancelled(work) or ""


def _generate(
    llm: Any,
    messages: list[dict[str, Any]],
    max_tokens: int,
    stop: threading.Event,
    grammar: str | None = None,
    prefix: str = "",
) -> str:
    return "".join(llm.stream(messages, max_tokens, stop, grammar=grammar, prefix=prefix))


async def emit_call(run: CallingRun, name: str, arguments: str) -> None:
    """The function call as the API streams one: output item, argument deltas, done."""
    conn = run.conn
    item = ServerItem(new_id("item"), "assistant", [], "in_progress", type="function_call",
                call_id=new_id("call"), name=name)  # fmt: skip
    run.call_item = item
    if run.in_conversation:
        previous = conn.conversation.add(item)
        added = server_event("conversation.item.added", item=item.to_api(), previous_item_id=previous)
        await conn.send(added)
    ids = {"response_id": run.id, "item_id": item.id, "output_index": 0, "call_id": item.call_id}
    await conn.send(
        server_event("response.output_item.added", response_id=run.id, output_index=0, item=item.to_api())
    )
    await conn.send(server_event("response.function_call_arguments.delta", delta=arguments, **ids))
    item.arguments, item.status = arguments, "completed"
    done = server_event("response.function_call_arguments.done", arguments=arguments, name=name, **ids)
    await conn.send(done)
    await conn.send(
        server_event("response.output_item.done", response_id=run.id, output_index=0, item=item.to_api())
    )
    if run.in_conversation:
        await conn.send(server_event("conversation.item.done", item=item.to_api()))
