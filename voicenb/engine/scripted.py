"""Scripted engine parts: a reply "LLM" that says given lines and a "TTS" that only takes time.

The eval and the benchmarks use them so the engine bills a voice call exactly (user audio 10 tok/s,
assistant audio 20 tok/s) while every model and scorer reads the exact words.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from typing import Any

from ..audio import WPM, silence, spoken_seconds


class ScriptedReplies:
    """The engine's reply LLM: answers each response with the next queued assistant turn, verbatim.

    With nothing queued it hands the response to ``fallback`` (a real model), capped at
    ``fallback_tokens``: the eval's probe questions are answered by the model itself."""

    def __init__(self, fallback: Any = None, fallback_tokens: int = 60) -> None:
        self._queue: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self.fallback, self.fallback_tokens = fallback, fallback_tokens

    def say(self, text: str) -> None:
        with self._lock:
            self._queue.append(text)

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        with self._lock:
            text = self._queue.popleft() if self._queue else None
        if text is None and self.fallback is not None:
            yield from self.fallback.stream(messages, min(max_tokens, self.fallback_tokens), stop)
            return
        for word in (text or "").split(" "):  # word by word, as a model streams
            if stop.is_set():
                return
            yield word + " "


class EstimatedSpeech:
    """The engine's TTS: silence as long as the words take to say (only the duration is billed)."""

    def __init__(self, wpm: int = WPM) -> None:
        self.wpm = wpm

    def synthesize(self, text: str) -> bytes:
        return silence(spoken_seconds(text, self.wpm))
