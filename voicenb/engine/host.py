"""The narrow contracts between a connection and the response it runs, as protocols: what a response
may use of its connection (`ResponseHost`; `server.Connection` is one), and what function calling may use
of its response (`CallingRun`; `responses.ResponseRun` is one). Both sides import this module, not each
other, so there is no import circle and pyright checks every use."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Awaitable
from typing import Any, Protocol

from .components import Components
from .config import EngineConfig
from .conversation import Conversation
from .fairness import FairScheduler
from .usage import Window


class EngineView(Protocol):
    """What a response reads of the engine: its settings, the speech jobs' scheduler, its limit."""

    @property
    def config(self) -> EngineConfig: ...
    @property
    def tts_jobs(self) -> FairScheduler: ...
    @property
    def llm_calls(self) -> deque[list[dict[str, str]]]: ...
    @property
    def truncation_at(self) -> int: ...


class ResponseHost(Protocol):
    """What a response needs of its connection: the wire, the session, the conversation, the model
    parts, the language to answer in, and the engine."""

    previous_window: Window | None  # the last response's window: the next one's cache counts from it

    @property
    def engine(self) -> EngineView: ...
    @property
    def parts(self) -> Components: ...
    @property
    def session(self) -> dict[str, Any]: ...
    @property
    def conversation(self) -> Conversation: ...
    @property
    def conversation_id(self) -> str: ...
    @property
    def reply_language(self) -> str | None: ...
    async def send(self, message: str) -> None: ...
    async def transcripts_ready(self, item_ids: list[str]) -> None: ...


class CallingRun(Protocol):
    """What function calling needs of the response it runs in."""

    call_item: Any  # the function call item, once there is one

    @property
    def id(self) -> str: ...
    @property
    def conn(self) -> ResponseHost: ...
    @property
    def in_conversation(self) -> bool: ...
    @property
    def cancel_reason(self) -> str | None: ...
    @property
    def stop_llm(self) -> threading.Event: ...
    async def until_cancelled(self, awaitable: Awaitable[Any]) -> Any: ...
