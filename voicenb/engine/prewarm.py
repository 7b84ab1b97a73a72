"""Warming the reply model's cache ahead of a reply: the next reply's prompt is evaluated in the
background whenever its prefix is known or changed, and again with a guessed transcript while the VAD
waits out a turn's silence window, so the reply starts with its prompt already in the cache."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from . import tool_calls
from .conversation import llm_messages
from .host import WarmHost

log = logging.getLogger("voicenb.engine")
PREWARM_SETTLE_S = 0.3


class Prewarmer:
    """One connection's cache warming: at most one background prefill of the known prefix at a time."""

    def __init__(self, host: WarmHost) -> None:
        self.host = host
        self._task: asyncio.Task[Any] | None = None
        self._dirty = False  # the prefix changed since the running prefill read it

    @property
    def _prefill(self) -> Any:
        return getattr(self.host.parts.llm, "prefill", None)

    def prewarm(self) -> None:
        """When the next reply's prefix is known or changed (a connection opened, a reply ended, a
        summary inserted, items deleted, new instructions), evaluate it in the background so that reply
        starts warm."""
        if self._prefill is None:
            return
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = self.host.spawn(self._loop())

    def warm_with(self, user_text: str) -> None:
        """Evaluate the reply's prompt with a guessed transcript of the user turn in progress."""
        if self.host.replying or self._prefill is None:
            return  # a reply runs: it has the model
        self.host.spawn(asyncio.to_thread(self._prefill, self.next_prompt(user_text)))

    def next_prompt(self, user_text: str = "") -> list[dict[str, str]]:
        """The next reply's prompt as far as it is known: the conversation, then the user turn that
        comes next (its header at least; its words when a transcript is guessed)."""
        instructions = tool_calls.session_instructions(self.host.session, self.host.parts.llm)
        messages = llm_messages(instructions, list(self.host.conversation.items))
        if user_text or not messages or messages[-1]["role"] != "user":
            messages.append({"role": "user", "content": user_text})
        return messages

    async def _loop(self) -> None:
        while self._dirty:
            self._dirty = False
            await asyncio.sleep(PREWARM_SETTLE_S)  # a summary deletes items one by one: let them land
            if self.host.replying:
                return  # the reply warms the cache itself
            evaluated = await asyncio.to_thread(self._prefill, self.next_prompt())
            log.debug("prewarmed the reply prefix: %d tokens evaluated", evaluated)
