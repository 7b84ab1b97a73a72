"""Fair scheduling of blocking model work (speech-to-text, text-to-speech) across connections.

Each connection (an "owner") has its own bounded FIFO of jobs; a fixed set of worker threads takes the
next job round-robin across owners. One client that queues 150 transcriptions delays another client's
transcription by at most the jobs already running, instead of 150 (a shared FIFO pool, as before).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class QueueFullError(RuntimeError):
    """An owner already has its maximum of jobs waiting; the new one is refused (the caller reports it)."""


@dataclass
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]


class FairScheduler:
    """Round-robin over owners' FIFO queues (the owner served least recently goes next), ``workers`` jobs
    at a time in a dedicated thread pool.

    Use from one event loop. ``run(owner, fn, *args)`` awaits ``fn(*args)``; cancelling the caller while
    the job still waits removes it from the queue (a job already running finishes, its result dropped).
    """

    def __init__(self, name: str, workers: int = 1, max_pending_per_owner: int = 32) -> None:
        self.name, self.workers, self.max_pending = name, workers, max_pending_per_owner
        self._queues: dict[Hashable, deque[_Job]] = {}  # owners with waiting jobs, in order of arrival
        self._last_served: dict[Hashable, int] = {}  # owner → dispatch number of its latest job
        self._dispatched = 0
        self._running = 0
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=f"voicenb-{name}")

    def pending(self, owner: Hashable) -> int:
        """Jobs of ``owner`` waiting (not yet running)."""
        return len(self._queues.get(owner, ()))

    @property
    def running(self) -> int:
        return self._running

    async def run(self, owner: Hashable, fn: Callable[..., T], *args: Any) -> T:
        queue = self._queues.get(owner)
        if queue is not None and len(queue) >= self.max_pending:
            raise QueueFullError(
                f"too many {self.name} jobs waiting for this connection (limit {self.max_pending})"
            )
        job = _Job(fn, args, asyncio.get_running_loop().create_future())
        self._queues.setdefault(owner, deque()).append(job)
        self._dispatch()
        try:
            return await job.future
        except asyncio.CancelledError:
            self._withdraw(owner, job)
            raise

    def forget(self, owner: Hashable) -> None:
        """Drop every waiting job of ``owner`` (its connection closed)."""
        self._last_served.pop(owner, None)
        for job in self._queues.pop(owner, ()):
            job.future.cancel()

    def shutdown(self) -> None:
        for owner in list(self._queues):
            self.forget(owner)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _withdraw(self, owner: Hashable, job: _Job) -> None:
        queue = self._queues.get(owner)
        if queue and job in queue:
            queue.remove(job)
            if not queue:
                del self._queues[owner]

    def _next_job(self) -> _Job | None:
        """The first waiting job of the owner served least recently (ties: the earliest to arrive)."""
        while self._queues:
            owner = min(self._queues, key=lambda o: self._last_served.get(o, -1))
            queue = self._queues[owner]
            job = queue.popleft()
            if not queue:
                del self._queues[owner]
            if not job.future.done():
                self._dispatched += 1
                self._last_served[owner] = self._dispatched
                return job
        return None

    def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._running < self.workers:
            job = self._next_job()
            if job is None:
                return
            self._running += 1
            done = loop.run_in_executor(self._executor, job.fn, *job.args)
            done.add_done_callback(lambda f, job=job: self._finished(f, job))

    def _finished(self, done: asyncio.Future[Any], job: _Job) -> None:
        self._running -= 1
        if not job.future.done():
            if done.cancelled():
                job.future.cancel()
            elif done.exception() is not None:
                job.future.set_exception(done.exception())  # type: ignore[arg-type]
            else:
                job.future.set_result(done.result())
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._dispatch()
