"""A reply-model double that calls functions the way the local model does (tests of function calling).

It speaks the engine's function-calling contract (`voicenb.engine.tool_calls`): ``stream(messages,
max_tokens, stop, *, grammar=None, prefix="")``. Asked freely after a user turn it opens a call
(``<tool_call>``) when its prompt offers tools; asked under a grammar it writes the next call object
of ``calls``; after a tool response it says ``reply(output)``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any


class ToolCallingLLM:
    def __init__(
        self,
        calls: list[dict[str, Any]],
        reply: Callable[[str], str] = lambda output: f"Done: {output}",
        chat: str = "Hello, how can I help?",
    ) -> None:
        self.calls = list(calls)  # the call objects to write, in order ({"name": ..., "arguments": ...})
        self.reply, self.chat = reply, chat
        self.grammars: list[dict[str, Any]] = []  # every JSON schema a call was generated under
        self.prompts: list[list[dict[str, Any]]] = []

    def stream(
        self,
        messages: list[dict[str, Any]],
        max_tokens: int,
        stop: threading.Event,
        *,
        grammar: str | None = None,
        prefix: str = "",
    ) -> Iterator[str]:
        self.prompts.append([dict(m) for m in messages])  # as it was then (the engine may rewrite it)
        last = messages[-1]["content"] if messages else ""
        if grammar is not None:
            self.grammars.append(json.loads(grammar))
            yield json.dumps(self.calls.pop(0))
        elif "<tool_response>" in last:
            output = last.split("<tool_response>\n")[-1].split("\n</tool_response>")[0]
            yield from _words(self.reply(output))
        elif self.calls and messages[-1]["role"] == "user" and "# Tools" in messages[0]["content"]:
            yield "<tool_call>"
        else:
            yield from _words(self.chat)


def _words(text: str) -> Iterator[str]:
    for n, word in enumerate(text.split(" ")):
        yield word if n == 0 else " " + word
