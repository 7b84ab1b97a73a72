"""The narrow contracts between a connection and its parts, as protocols: what a connection uses of its
engine (`EngineHost`; `server.OfflineEngine` is one), what each part of a connection may use of it
(`SpeechHost`, `WarmHost`, `TurnHost`, `ResponseHost`, `ReplyHost`; `connection.Connection` is each),
and what the reply item and function calling may use of their response (`RunningResponse`,
`CallingRun`; `responses.ResponseRun` is both). Both sides import this module, not each other, so there
is no import circle and pyright checks every use."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Awaitable, Coroutine
from typing import Any, Protocol

from .components import Components
from .config import EngineConfig
from .conversation import Conversation
from .fairness import FairScheduler
from .usage import Window


class EngineHost(Protocol):
    """What a connection uses of its engine: its settings and models, the speech jobs' fair queues,
    the log of prompts given to the reply LLM, and the point where truncation starts."""

    @property
    def config(self) -> EngineConfig: ...
    @property
    def parts(self) -> Components: ...
    @property
    def stt_jobs(self) -> FairScheduler: ...
    @property
    def tts_jobs(self) -> FairScheduler: ...
    @property
    def llm_calls(self) -> deque[list[dict[str, str]]]: ...
    @property
    def truncation_at(self) -> int: ...


class SpeechHost(Protocol):
    """What transcription needs of its connection: the wire, the session (its transcription settings),
    the speech-to-text model and its fair queue, where the connection owns its jobs."""

    @property
    def session(self) -> dict[str, Any]: ...
    @property
    def parts(self) -> Components: ...
    @property
    def stt_jobs(self) -> FairScheduler: ...
    async def send(self, message: str) -> None: ...


class WarmHost(Protocol):
    """What warming the reply model's cache needs of its connection: what the next prompt is made of,
    whether a reply has the model now, and a background task's lifetime."""

    @property
    def session(self) -> dict[str, Any]: ...
    @property
    def parts(self) -> Components: ...
    @property
    def conversation(self) -> Conversation: ...
    @property
    def replying(self) -> bool: ...
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...


class TurnHost(Protocol):
    """What the input audio buffer needs of its connection: the wire, and the conversation's side of a
    user turn (room for it, committing it)."""

    async def send(self, message: str) -> None: ...
    def check_conversation_room(self, audio_bytes: int, event_id: str | None = None) -> None: ...
    async def commit(
        self, pcm: bytes, item_id: str, transcript: asyncio.Future[str] | None = None
    ) -> None: ...


class ResponseHost(Protocol):
    """What a response needs of its connection: the wire, the session, the conversation, the settings
    and model parts, speech synthesis, and its transcripts."""

    previous_window: Window | None  # the last response's window: the next one's cache counts from it

    @property
    def config(self) -> EngineConfig: ...
    @property
    def parts(self) -> Components: ...
    @property
    def session(self) -> dict[str, Any]: ...
    @property
    def conversation(self) -> Conversation: ...
    @property
    def conversation_id(self) -> str: ...
    @property
    def truncation_at(self) -> int: ...
    async def send(self, message: str) -> None: ...
    async def transcripts_ready(self, item_ids: list[str]) -> None: ...
    async def synthesize(self, text: str) -> bytes: ...
    def record_prompt(self, messages: list[dict[str, str]]) -> None: ...


class ReplyHost(ResponseHost, Protocol):
    """What running one response after another needs of the connection, besides what each response
    needs: whether the user is speaking, cache warming between responses, a response task's lifetime."""

    @property
    def user_speaking(self) -> bool: ...
    def prewarm(self) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...


class RunningResponse(Protocol):
    """What the assistant item a response writes needs of that response."""

    @property
    def id(self) -> str: ...
    @property
    def conn(self) -> ResponseHost: ...
    @property
    def in_conversation(self) -> bool: ...
    @property
    def cancel_reason(self) -> str | None: ...
    async def until_cancelled(self, awaitable: Awaitable[Any]) -> Any: ...


class CallingRun(RunningResponse, Protocol):
    """What function calling needs of the response it runs in."""

    call_item: Any  # the function call item, once there is one

    @property
    def stop_llm(self) -> threading.Event: ...
