"""Handoff: move to a fresh server session without forgetting (the 60-minute cap, dropped sockets).

The new session is seeded with the rolling summary (folding older turns) plus the last turns as text
items; audio captured during the gap is kept (bounded) and sent afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import logging
import random

from openai.types.realtime import InputAudioBufferAppendEventParam, RealtimeClientEventParam

from .. import events as ev
from ..audio import pcm_duration_s
from ..state import ConversationState, Item, TranscriptStatus, summary_body, summary_item_text
from .backends import Backend
from .config import SESSION_ENDING_CODES, HandoffPolicy
from .connection import Link, Role
from .core import SessionCore
from .pruning import Pruner, fold

log = logging.getLogger("voicenb.session")


class GapAudio:
    """Audio captured while no server session is open, up to ``limit_s``; the excess is counted."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.dropped_s = 0.0
        self._chunks: list[bytes] = []
        self._seconds = 0.0

    def keep(self, pcm: bytes) -> None:
        seconds = pcm_duration_s(pcm)
        if self._seconds + seconds <= self.limit_s:
            self._chunks.append(pcm)
            self._seconds += seconds
        else:
            self.dropped_s += seconds
            log.warning("dropped %.2f s of audio captured during a handoff", seconds)

    def take(self) -> tuple[list[bytes], float]:
        chunks, seconds = self._chunks, self._seconds
        self._chunks, self._seconds = [], 0.0
        return chunks, seconds


class Handoff:
    """Watches for drops, session-ending errors and the session's age; re-seeds a new session."""

    def __init__(
        self, core: SessionCore, link: Link, pruner: Pruner, backend: Backend, policy: HandoffPolicy
    ) -> None:
        self.core, self.link, self.pruner, self.backend, self.policy = core, link, pruner, backend, policy
        self.gap = GapAudio(policy.gap_buffer_s)
        self.count = 0
        self.active = False
        self._task: asyncio.Task | None = None
        self._timer: asyncio.Task | None = None
        self.on_failed = lambda: None
        self._items: collections.deque[RealtimeClientEventParam] = collections.deque()
        self._last_start = 0.0
        self._owed: tuple[str | None, list[Item]] | None = None
        core.subscribe(self._on_event)

    def _on_event(self, event: ev.SessionEvent) -> None:
        if isinstance(event, ev.Error) and event.code in SESSION_ENDING_CODES and self.policy.on_disconnect:
            self.start(event.code or "session ended")

    def start(self, reason: str = "requested") -> asyncio.Task:
        """Move to a fresh server session now (one at a time)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(reason), name="voicenb-handoff")
        return self._task

    def start_timer(self) -> None:
        if self.policy.after_s and self._timer is None:
            self._timer = asyncio.create_task(
                self._age_timer(self.policy.after_s), name="voicenb-handoff-timer"
            )

    async def stop(self) -> None:
        for task in (self._timer, self._task):
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._timer = self._task = None

    async def _age_timer(self, after_s: float) -> None:
        """Hand off before the server's session cap, at a turn boundary."""
        core = self.core
        while True:
            await asyncio.sleep(max(0.05, self.link.opened_at + after_s - core.clock()))
            if core.clock() - self.link.opened_at < after_s:
                continue  # a handoff happened meanwhile
            while core.response_active or core.speech_active:
                await asyncio.sleep(0.05)
            await self.start("session age")

    async def _run(self, reason: str) -> None:
        core = self.core
        self.active = True
        core.publish(ev.HandoffStarted(reason))
        await self._wait_rate_limit(reason)
        await self.pruner.cancel()  # it targets the old session; the log keeps its turns anyway
        await self.link.drop()
        core.response_active = core.speech_active = False
        # After a handoff that gave up, the server holds nothing: its seed is still owed.
        summary, recent = self._owed if self._owed and not core.state.window else await self.seed_plan()
        core.note({"type": "voicenb.handoff", "reason": reason, "at_s": core.clock() - core.started_at})
        attempts, error = await self._reopen(summary, recent)
        self.active = False
        self._owed = (summary, recent) if error is not None else None
        if error is not None:
            core.publish(ev.HandoffFailed(reason, attempts, f"{error}"))
            self.on_failed()
            return
        self.count += 1
        core.window_fresh = False
        await self.flush_items()
        sent_s = await self.flush_gap()
        core.publish(ev.HandoffFinished(reason, tuple(core.state.window), sent_s, self.gap.dropped_s))

    async def _wait_rate_limit(self, reason: str) -> None:
        """Automatic handoffs in a row (a server that accepts and drops) wait between starts."""
        now = self.core.clock()
        wait = self._last_start + self.policy.min_interval_s - now
        if reason != "reconnect" and self._last_start and wait > 0:
            await asyncio.sleep(wait)
        self._last_start = self.core.clock()

    async def _reopen(self, summary: str | None, recent: list[Item]) -> tuple[int, Exception | None]:
        """Open and seed a new session, retrying with jittered exponential back-off within the window."""
        deadline = self.core.clock() + self.policy.retry_window_s
        attempt, error = 0, None
        while True:
            attempt += 1
            try:
                await self.link.open(self.backend)
                await self.seed(summary, recent)
                return attempt, None
            except Exception as exc:
                error = exc
                log.warning("handoff attempt %d failed: %s", attempt, exc)
                await self.link.drop()
            delay = min(self.policy.max_backoff_s, self.policy.backoff_s * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.0)  # jitter: many clients must not retry in lockstep
            out_of_tries = self.policy.max_retries is not None and attempt >= self.policy.max_retries
            if out_of_tries or self.core.clock() + delay > deadline:
                return attempt, error
            await asyncio.sleep(delay)

    def queue_item(self, event: RealtimeClientEventParam) -> None:
        """A client item sent while no session is open: kept (bounded) and sent after the handoff."""
        if len(self._items) >= self.policy.max_queued_items:
            raise ConnectionError(f"not connected, and {len(self._items)} items already wait for the handoff")
        self._items.append(event)

    async def flush_items(self) -> None:
        while self._items:
            await self.link.send(self._items[0])
            self._items.popleft()

    async def flush_gap(self) -> float:
        """Send the audio kept during the gap; what cannot be sent now is kept for the next try."""
        chunks, seconds = self.gap.take()
        for i, pcm in enumerate(chunks):
            try:
                await self.link.send(append_audio(pcm))
            except Exception:
                for rest in chunks[i:]:
                    self.gap.keep(rest)
                return seconds - sum(pcm_duration_s(c) for c in chunks[i:])
        return seconds

    async def seed_plan(self) -> tuple[str | None, list[Item]]:
        """The summary (folding any older unsummarised turns) and the last turns to re-seed verbatim."""
        core = self.core
        # function calls and outputs among the older turns fold with them (what a tool returned)
        items = [i for i in core.state.window_items() if (i.is_turn or i.is_tool)]
        items = [i for i in items if i.status is TranscriptStatus.COMPLETE]
        turns = [i for i in items if i.is_turn]
        keep = self.policy.keep_last if self.policy.keep_last is not None else core.policy.keep_last
        recent = turns[max(0, len(turns) - keep) :]
        older = items[: items.index(recent[0])] if recent else items
        current = core.state.current_summary()
        summary = summary_body(current.text) if current else None
        if older:
            try:
                summary = await fold(self.pruner.summariser, core.policy, older, summary)
            except Exception as exc:  # cannot summarise: carry those turns verbatim rather than drop them
                core.report_error(
                    f"handoff summary failed, seeding turns verbatim: {exc!r}", "summary_failed"
                )
                recent = turns
        return summary, recent

    async def seed(self, summary: str | None, recent: list[Item]) -> None:
        core = self.core
        if summary:
            summary_id = await self.link.create_item(
                "system", summary_item_text(summary), ConversationState.SUMMARY_PREFIX
            )
            core.note({"type": "voicenb.summary", "item_id": summary_id, "summarises": []})
            core.note({"type": "voicenb.seeded", "item_id": summary_id, "copy_of": "summary"})
        for turn in recent:
            role: Role = "assistant" if turn.role == "assistant" else "user"  # a turn: one or the other
            new_id = await self.link.create_item(role, turn.text, "seed_")
            core.note({"type": "voicenb.seeded", "item_id": new_id, "copy_of": turn.id})


def append_audio(pcm: bytes) -> InputAudioBufferAppendEventParam:
    return {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()}
