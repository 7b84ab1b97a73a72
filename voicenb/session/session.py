"""`VoiceSession`: the one class users meet, a thin facade over the session's parts.

    core (state, ledger, events) <- link (SDK connection) ; pruner (summaries) ; handoff ; backend
    lifecycle (live or closed, connect, the send route) ; asking (`ask()`) ; views (read-only figures)

``VoiceSession.offline()``, ``VoiceSession.openai(api_key=...)`` and ``VoiceSession.connect_to(url)``
say where it talks; plain ``VoiceSession()`` picks OpenAI when a key is set, else the offline engine,
and says which when it connects (`backend.describe()`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, TypeVar

from openai.types.realtime import ConversationItemParam

from ..model_table import warn_if_deprecated
from ..policy import SummaryPolicy
from ..summarisers import Summariser
from .asking import ASK_TIMEOUT_S, answer, item_events
from .backends import Backend
from .calling import ToolRunner
from .config import HandoffPolicy, SessionConfig
from .connection import Link
from .core import SessionCore, Subscriber
from .defaults import default_policy, default_summariser
from .handoff import Handoff
from .lifecycle import Lifecycle
from .pruning import Pruner
from .recall import recall_tool
from .tools import Tool, ToolBox
from .views import SessionViews

NEXT_TIMEOUT_S = 60.0  # `next()` gives up after this by default: a reply takes seconds, not minutes
E = TypeVar("E")


class VoiceSession(SessionViews):
    """A realtime voice session that keeps every turn and summarises its own context.

    ``async with VoiceSession.offline() as s: await s.run(source)``.
    """

    def __init__(
        self,
        config: SessionConfig | None = None,
        *,
        policy: SummaryPolicy | None = None,
        summariser: Summariser | None = None,
        backend: Backend | None = None,
        api_key: str | None = None,
        websocket_base_url: str | None = None,
        engine_config: Any = None,
        handoff: HandoffPolicy | None = None,
        recorder: Any = None,
        confirm_timeout_s: float = 10.0,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        recall: bool | None = None,
    ) -> None:
        if backend is None:
            backend = Backend.offline(engine_config) if engine_config is not None else None
        self.backend = backend or Backend.default(api_key, websocket_base_url)
        self.tools = ToolBox(tools)  # Python callables the model may call (`voicenb.session.tools`)
        if recall is None:  # on where the model uses it: a local 1.5B never calls it, and the tools
            recall = not self.backend.on_this_machine  # block costs every prompt 230 tokens (2x the folds)
        if recall and "recall" not in self.tools:  # search the full log: what the summary dropped
            self.tools.add(recall_tool(lambda: self.core.state))
        config = config or SessionConfig()
        if not self.backend.on_this_machine:  # the name may reach OpenAI: say when it stops answering
            warn_if_deprecated(config.model)
        if len(self.tools):
            config = dataclasses.replace(config, tools=[*config.tools, *self.tools.specs()])
        policy = policy or default_policy(config.model, self.backend)
        self.core = SessionCore(config, policy, recorder=recorder)
        self.link = Link(self.core, confirm_timeout_s)
        self.pruner = Pruner(self.core, self.link, summariser or default_summariser(self.backend))
        self.handoff_policy = handoff or HandoffPolicy()
        self._handoff = Handoff(self.core, self.link, self.pruner, self.backend, self.handoff_policy)
        self.lifecycle = Lifecycle(
            self.core, self.link, self.pruner, self._handoff, self.backend, own_summariser=summariser is None
        )
        self.tool_runner = ToolRunner(self.core, self.tools, self.lifecycle.send)

    # --- explicit backends -------------------------------------------------------------------------

    @classmethod
    def offline(
        cls, config: SessionConfig | None = None, *, engine_config: Any = None, **kw: Any
    ) -> VoiceSession:
        """The offline engine on loopback, with local models: no key, no internet."""
        return cls(config, backend=Backend.offline(engine_config), **kw)

    @classmethod
    def openai(
        cls, config: SessionConfig | None = None, *, api_key: str | None = None, **kw: Any
    ) -> VoiceSession:
        """OpenAI's Realtime API (key from ``api_key`` or ``OPENAI_API_KEY``)."""
        return cls(config, backend=Backend.openai(api_key), **kw)

    @classmethod
    def connect_to(
        cls, url: str, config: SessionConfig | None = None, *, api_key: str | None = None,
        trust_key: bool = False, **kw: Any,
    ) -> VoiceSession:  # fmt: skip
        """Any server speaking the GA protocol, e.g. ``ws://127.0.0.1:8765/v1`` (`voicenb serve`)."""
        return cls(config, backend=Backend.remote(url, api_key, trust_key=trust_key), **kw)

    # --- lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> VoiceSession:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the connection, configure the session and start reading server events."""
        await self.lifecycle.connect()

    async def close(self) -> None:
        """End the session: the one way to stop (`run()` returns, the panel shows it closed)."""
        await self._handoff.stop()
        await self.tool_runner.cancel()
        await self.pruner.cancel()
        await self.link.drop()
        await self.backend.stop()
        self.lifecycle.set_closed("closed")

    async def run(self, source: AsyncIterator[bytes] | None = None) -> None:
        """Pump ``source`` to the server until it ends (then wait for the dialogue to settle);
        without a source, run until the session is closed."""
        if not self.link.is_open and not self.lifecycle.closed.is_set() and not self._handoff.active:
            await self.connect()
        if source is not None:
            await self.pump(source)
            await self.wait_idle()
        else:
            await self.lifecycle.closed.wait()

    async def pump(self, source: AsyncIterator[bytes]) -> None:
        """Send every chunk of ``source`` as ``input_audio_buffer.append``."""
        async for chunk in source:
            if self.lifecycle.closed.is_set():
                break
            await self.send_audio(chunk)

    async def wait_idle(self, quiet_s: float = 1.5, timeout_s: float = 120.0) -> None:
        """Wait until no server event has arrived for ``quiet_s`` and no summary or handoff is running."""
        clock = self.core.clock
        deadline = clock() + timeout_s
        while clock() < deadline and not self.lifecycle.closed.is_set():
            if (
                not self.summarising
                and not self.tool_runner.running
                and not self._handoff.active
                and clock() - self.core.last_event_at >= quiet_s
            ):
                return
            await asyncio.sleep(0.05)

    # --- client commands ---------------------------------------------------------------------------

    async def send_audio(self, pcm: bytes) -> None:
        """Send PCM16 24 kHz audio; during a handoff it is kept (bounded) and sent afterwards."""
        await self.lifecycle.send_audio(pcm)

    async def commit_audio(self, *, respond: bool = True) -> None:
        """End the user's turn by hand (push-to-talk, or with server VAD off) and ask for a reply."""
        await self.link.send({"type": "input_audio_buffer.commit"})
        if respond:
            await self.link.send({"type": "response.create"})

    async def truncate(self, item_id: str, audio_end_ms: int, content_index: int = 0) -> None:
        """Tell the server the user heard only ``audio_end_ms`` of an assistant item (barge-in)."""
        await self.link.send({"type": "conversation.item.truncate", "item_id": item_id,
                              "content_index": content_index, "audio_end_ms": audio_end_ms})  # fmt: skip

    async def cancel_response(self) -> None:
        """Barge-in from the client side: stop the response being generated."""
        await self.link.send({"type": "response.cancel"})

    async def send_text(self, text: str, *, respond: bool = True, tool: str | None = None) -> None:
        """Add a typed user turn (and ask for a reply). ``tool``: the reply must first call the tool of
        that name (``"recall"``: look back into the log); the reply after it answers from the result
        (it calls nothing more)."""
        item: ConversationItemParam = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        }
        await self.send_item(item, respond=respond, tool=tool)

    async def ask(self, text: str, *, tool: str | None = None, timeout: float = ASK_TIMEOUT_S) -> str:
        """Say ``text`` as a typed turn and return the bot's answer once it is complete, after any tool
        calls it made on the way (``tool`` as `send_text`). Raises `RuntimeError` with the server's
        reason when the reply fails, `TimeoutError` after ``timeout`` s."""
        say = functools.partial(self.send_text, text, tool=tool)  # sent once `answer` listens
        return await answer(self.core, self.tool_runner, say, text, timeout)

    async def send_item(
        self, item: ConversationItemParam, *, respond: bool = False, tool: str | None = None
    ) -> None:
        """Append any conversation item (API shape), optionally asking for a reply (that first calls
        ``tool``, as `send_text`). During a handoff (or a drop it will heal) the item is kept and sent to
        the new session."""
        events = item_events(item, self.tools, respond=respond, tool=tool)
        if respond:
            self.tool_runner.answer_next = bool(tool)  # the reply after the forced call answers
        for event in events:
            await self.lifecycle.send(event)

    def summarise_now(self) -> asyncio.Task | None:
        """Summarise now regardless of the trigger (a button in the panel). None if nothing to fold."""
        return self.pruner.summarise_now()

    def maybe_summarise(self) -> asyncio.Task | None:
        """Apply the policy now (after changing it live)."""
        return self.pruner.maybe_summarise()

    def handoff_now(self, reason: str = "requested") -> asyncio.Task:
        """Move to a fresh server session now, seeded with the summary and the last turns."""
        return self._handoff.start(reason)

    # --- events --------------------------------------------------------------------------------------

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn(event)`` for every published event; returns a function that unsubscribes."""
        return self.core.subscribe(fn)

    async def next(
        self, kind: type[E], *, where: Callable[[E], bool] | None = None,
        timeout: float | None = NEXT_TIMEOUT_S,
    ) -> E:  # fmt: skip
        """The next event of ``kind``: ``await session.next(UsageUpdated)``. Raises `TimeoutError`
        after ``timeout`` seconds (a cell must not hang when nobody talks); ``timeout=None`` waits on."""
        try:
            return await self.core.next(kind, where=where, timeout=timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no {kind.__name__} event within {timeout:g} s (is the session running and is anyone "
                "talking?): pass timeout= to wait longer, or timeout=None to wait without limit"
            ) from None
