"""Deterministic stand-ins for the engine's models, and SDK-client helpers for engine tests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from openai import AsyncOpenAI

from voicenb.audio import SAMPLE_RATE


class ScriptedLLM:
    """Replies with fixed text word by word; ``delay_s`` per word keeps a response active for a while."""

    def __init__(self, reply: str = "Hello there. How can I help?", delay_s: float = 0.0) -> None:
        self.reply, self.delay_s = reply, delay_s

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        for n, word in enumerate(self.reply.split(" ")):
            if stop.is_set():
                return
            if self.delay_s:
                time.sleep(self.delay_s)
            yield word if n == 0 else " " + word


class ToneTTS:
    """``seconds_per_word`` of a quiet tone per word: audio length is known exactly."""

    def __init__(self, seconds_per_word: float = 0.5) -> None:
        self.seconds_per_word = seconds_per_word

    def synthesize(self, text: str) -> bytes:
        samples = int(len(text.split()) * self.seconds_per_word * SAMPLE_RATE)
        return bytes([0x10, 0x00]) * samples


@asynccontextmanager
async def connect(url: str, api_key: str = "test", close_timeout: float = 10.0) -> AsyncIterator[Any]:
    """The official SDK's realtime connection, exactly as an app would open it. A client that never
    reads its events needs a short ``close_timeout``: its unread backlog hides the server's close frame."""
    client = AsyncOpenAI(api_key=api_key, websocket_base_url=url)
    options: Any = {"close_timeout": close_timeout}
    async with client.realtime.connect(model="gpt-realtime", websocket_connection_options=options) as conn:
        first = await asyncio.wait_for(conn.recv(), 10)
        assert first.type == "session.created"
        yield conn


async def next_event(conn: Any, type_: str, timeout: float = 10.0, seen: list[Any] | None = None) -> Any:
    """Read events until one of ``type_`` arrives (others are appended to ``seen``)."""

    async def read() -> Any:
        while True:
            event = await conn.recv()
            if seen is not None:
                seen.append(event)
            if event.type == type_:
                return event

    return await asyncio.wait_for(read(), timeout)


async def collect_until(conn: Any, type_: str, timeout: float = 30.0) -> list[Any]:
    """Every event up to and including the first ``type_``."""
    seen: list[Any] = []
    await next_event(conn, type_, timeout, seen)
    return seen


class LoudnessVAD:
    """Speech probability 1.0 for a frame louder than ``level``, else 0.0: turns follow the test's audio."""

    def __init__(self, level: float = 0.05) -> None:
        self.level = level

    def score(self, frame_24k: Any) -> float:
        return 1.0 if float(abs(frame_24k).mean()) > self.level else 0.0

    def reset(self) -> None:
        pass


class ScriptedSTT:
    """Transcribes every clip as ``text`` after ``delay_s`` (one call at a time, like the real model), and
    records the byte length of each clip in call order: clips of distinct lengths tell clients apart."""

    def __init__(self, text: str = "hello", delay_s: float = 0.0) -> None:
        self.text, self.delay_s = text, delay_s
        self.calls: list[int] = []
        self._lock = threading.Lock()

    def transcribe(self, pcm: bytes) -> str:
        with self._lock:
            self.calls.append(len(pcm))
            if self.delay_s:
                time.sleep(self.delay_s)
            return self.text


def tone(seconds: float, amplitude: int = 8000) -> bytes:
    """A square wave loud enough for LoudnessVAD (PCM16 mono 24 kHz)."""
    n = int(seconds * SAMPLE_RATE)
    return np.where(np.arange(n) % 48 < 24, amplitude, -amplitude).astype("<i2").tobytes()
