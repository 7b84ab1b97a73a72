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

    def peek(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> str:
        """A reply's first tokens, to see whether it opens a function call: a queued line never does
        (and is not used up); with none queued, the fallback model's."""
        with self._lock:
            if self._queue or self.fallback is None:
                return ""
        return "".join(self.fallback.stream(messages, max_tokens, stop))

    def say(self, text: str) -> None:
        with self._lock:
            self._queue.append(text)

    def stream(
        self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event,
        *, grammar: str | None = None, prefix: str = "",
    ) -> Iterator[str]:  # fmt: skip
        """The next queued line; with none queued, the fallback model (function calls included:
        ``grammar`` and ``prefix`` reach it, see ``tool_calls.py``)."""
        with self._lock:
            text = self._queue.popleft() if self._queue else None
        if text is None and self.fallback is not None:
            cap = max_tokens if grammar else min(max_tokens, self.fallback_tokens)
            if grammar or prefix:
                yield from self.fallback.stream(messages, cap, stop, grammar=grammar, prefix=prefix)
            else:
                yield from self.fallback.stream(messages, cap, stop)
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


class AcknowledgingReplies:
    """A reply "LLM" for stress runs (``voicenb soak``): acknowledges the latest user turn in about
    ``words`` words, at once, so a long simulated call exercises the session, summaries and handoffs
    rather than a model's speed. Never empty: the engine fails an empty reply."""

    def __init__(self, words: int = 18) -> None:
        self.words = words

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        said = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "").split()
        reply = ["Noted,", "you", "said:", *said][: max(4, min(self.words, max_tokens))]
        for n, word in enumerate(reply):
            if stop.is_set():
                return
            yield word if n == 0 else " " + word
