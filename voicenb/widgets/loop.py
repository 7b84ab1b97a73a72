"""Getting widget callbacks onto the session's event loop, and rate-limiting view updates.

With JupyterLab 4.4+ and ipykernel 7, widget messages may be handled on a *subshell* thread, not on
the thread that runs the kernel's asyncio loop (where the session lives). asyncio objects are not
thread-safe, so every widget callback hops onto the captured loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("voicenb.widgets")


def running_loop() -> asyncio.AbstractEventLoop:
    """The loop running in this thread; a clear error when there is none."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "voicenb widgets need a running asyncio loop: create them in a Jupyter cell (the kernel runs "
            "one) or inside a coroutine"
        ) from None


@dataclass(frozen=True)
class Hop:
    """One widget callback: where it was delivered and where it ran."""

    name: str
    from_thread: str
    ran_on_thread: str
    ran_on_loop_thread: bool


class LoopHop:
    """Runs callbacks on one event loop, whichever thread delivers them; keeps a record for tests."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop | None = None, on_error: Callable | None = None
    ) -> None:
        self.loop = loop or running_loop()
        # Created on the loop's own thread (the usual case), this is the loop thread.
        self.loop_thread_id = threading.get_ident() if loop is None else None
        self.on_error = on_error
        self.hops: deque[Hop] = deque(maxlen=500)
        self._tasks: set[asyncio.Task] = set()

    def __call__(self, name: str, fn: Callable[..., Any], *args: Any) -> None:
        """Schedule ``fn(*args)`` on the loop; a coroutine result becomes a task."""
        caller = threading.current_thread().name
        self.loop.call_soon_threadsafe(self._run, name, caller, fn, args)

    def _run(self, name: str, caller: str, fn: Callable[..., Any], args: tuple) -> None:
        if self.loop_thread_id is None:
            self.loop_thread_id = threading.get_ident()
        here = threading.current_thread()
        self.hops.append(Hop(name, caller, here.name, here.ident == self.loop_thread_id))
        try:
            result = fn(*args)
            if asyncio.iscoroutine(result):
                self.spawn(result, name)
        except Exception as exc:
            self._failed(name, exc)

    def spawn(self, coro: Coroutine, name: str) -> asyncio.Task:
        """A task on the loop whose failure is reported, not lost (call on the loop)."""
        task = self.loop.create_task(coro, name=f"voicenb-{name}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(name, t))
        return task

    def _done(self, name: str, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._failed(name, exc)

    def _failed(self, name: str, exc: BaseException) -> None:
        log.error("widget callback %s failed: %r", name, exc, exc_info=exc)
        if self.on_error is not None:
            self.on_error(name, exc)


class Throttle:
    """Call ``fn`` at most once per ``interval_s``: the first request runs at once, later ones are merged
    into one trailing call, so the last state is always shown. Use on the loop's thread."""

    def __init__(self, fn: Callable[[], None], interval_s: float, loop: asyncio.AbstractEventLoop) -> None:
        self.fn, self.interval_s, self.loop = fn, interval_s, loop
        self.calls = 0
        self._last = float("-inf")
        self._pending: asyncio.TimerHandle | None = None

    def request(self) -> None:
        if self._pending is not None:
            return  # a trailing call is already due; it will see the newest state
        wait = self._last + self.interval_s - self.loop.time()
        if wait <= 0:
            self._fire()
        else:
            self._pending = self.loop.call_later(wait, self._fire)

    def flush(self) -> None:
        """Run now (if anything is due) instead of waiting for the timer."""
        if self._pending is not None:
            self._pending.cancel()
            self._fire()

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _fire(self) -> None:
        self._pending = None
        self._last = self.loop.time()
        self.calls += 1
        try:
            self.fn()
        except Exception:  # a broken view must not stop later updates
            log.exception("view update failed")
