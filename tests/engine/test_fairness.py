"""FairScheduler: round-robin across owners, bounded per owner, cancellable while waiting."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tests.conftest import wait_until
from voicenb.engine.fairness import FairScheduler, QueueFullError


class Gate:
    """A job that blocks until released, recording the order jobs started in."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = threading.Event()

    def job(self, name: str) -> str:
        self.started.append(name)
        self.release.wait(5)
        return name


async def wait_started(gate: Gate, n: int) -> None:
    while len(gate.started) < n:
        await asyncio.sleep(0.005)


async def test_a_newcomer_runs_before_the_flooders_backlog():
    scheduler, gate = FairScheduler("test", workers=1, max_pending_per_owner=100), Gate()
    flood = [asyncio.create_task(scheduler.run("a", gate.job, f"a{n}")) for n in range(5)]
    await wait_started(gate, 1)
    other = asyncio.create_task(scheduler.run("b", gate.job, "b0"))
    await wait_until(lambda: scheduler.pending("b") == 1)
    assert scheduler.pending("a") == 4
    gate.release.set()
    assert await other == "b0"
    await asyncio.gather(*flood)
    assert gate.started == ["a0", "b0", "a1", "a2", "a3", "a4"]
    scheduler.shutdown()


async def test_two_busy_owners_alternate():
    scheduler, gate = FairScheduler("test", workers=1), Gate()
    gate.release.set()
    tasks = [asyncio.create_task(scheduler.run(o, gate.job, f"{o}{n}")) for o in "ab" for n in range(3)]
    await asyncio.gather(*tasks)
    assert gate.started == ["a0", "b0", "a1", "b1", "a2", "b2"]
    scheduler.shutdown()


async def test_per_owner_bound_and_cancelled_jobs_leave_the_queue():
    scheduler, gate = FairScheduler("test", workers=1, max_pending_per_owner=2), Gate()
    running = asyncio.create_task(scheduler.run("a", gate.job, "a0"))
    await wait_started(gate, 1)
    waiting = [asyncio.create_task(scheduler.run("a", gate.job, f"a{n}")) for n in (1, 2)]
    await wait_until(lambda: scheduler.pending("a") == 2)
    with pytest.raises(QueueFullError, match="limit 2"):
        await scheduler.run("a", gate.job, "a3")
    other = asyncio.create_task(scheduler.run("b", gate.job, "b0"))  # another owner is not limited
    waiting[0].cancel()
    await wait_until(lambda: scheduler.pending("a") == 1)
    gate.release.set()
    await asyncio.gather(running, waiting[1], other, return_exceptions=True)
    assert gate.started == ["a0", "b0", "a2"]  # a1 was withdrawn before it ran
    scheduler.shutdown()


async def test_forget_drops_an_owners_waiting_jobs():
    scheduler, gate = FairScheduler("test", workers=1), Gate()
    running = asyncio.create_task(scheduler.run("a", gate.job, "a0"))
    await wait_started(gate, 1)
    queued = asyncio.create_task(scheduler.run("a", gate.job, "a1"))
    await wait_until(lambda: scheduler.pending("a") == 1)
    scheduler.forget("a")
    gate.release.set()
    assert await running == "a0"
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert gate.started == ["a0"]
    scheduler.shutdown()
