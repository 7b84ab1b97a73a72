"""Summarise-and-prune: fold old turns into a summary at the root, then delete exactly those items.

It runs in the background after a completed response whose window reached the trigger; the dialogue
never waits for it. A fold deletes nothing unless its summary item is confirmed by the server. When
folds fall behind, the policy's `overdue` turns leave the window anyway (the full log keeps them) and
are owed to the next fold, so the window stays bounded while the memory catches up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .. import events as ev
from ..memory import FoldResult
from ..policy import Backoff, SummaryPlan, SummaryPolicy
from ..state import ConversationState, Item, summariser_line, summary_body, summary_item_text
from ..summarisers import Summariser
from .connection import Link
from .core import SessionCore


async def fold(
    summariser: Summariser, policy: SummaryPolicy, turns: Sequence[Item], previous: str | None
) -> str:
    """Every summariser call goes through here: the policy's language, budget and timeout."""
    pairs = [summariser_line(t) for t in turns]
    try:
        return await asyncio.wait_for(
            summariser.summarise(pairs, previous, policy.language, policy.summary_budget_tokens),
            policy.timeout_s,
        )
    except TimeoutError as exc:  # wait_for's has no message: the panel showed "TimeoutError: (retry in 2 s)"
        if str(exc):
            raise  # the summariser's own, with its reason
        raise TimeoutError(f"the summariser gave no summary within {policy.timeout_s:g} s") from None


class Pruner:
    """At most one summary at a time, started by the policy or by hand."""

    def __init__(self, core: SessionCore, link: Link, summariser: Summariser) -> None:
        self.core, self.link, self.summariser = core, link, summariser
        self.summaries = 0
        self.backoff = Backoff()  # this session's retry state after failed summaries
        self.owed: dict[str, Item] = {}  # out of the window, in no summary yet: the next fold takes them
        self._task: asyncio.Task | None = None
        self._holding: asyncio.Task | None = None
        core.subscribe(self._on_event)

    @property
    def running(self) -> bool:
        """A fold is running."""
        return self._task is not None and not self._task.done()

    @property
    def busy(self) -> bool:
        """A fold is running, or overdue turns are leaving the window."""
        return self.running or (self._holding is not None and not self._holding.done())

    def _on_event(self, event: ev.SessionEvent) -> None:
        if isinstance(event, ev.UsageUpdated):
            self.maybe_summarise()

    def maybe_summarise(self) -> asyncio.Task | None:
        """Apply the policy now (it runs after every response; call it after changing the policy live)."""
        core = self.core
        if not core.window_fresh or not self.link.is_open:
            return None  # the last window figure must postdate our last change
        if self.busy and not self.running:
            return None  # a hold is deleting: the window figure is about to change
        overdue = core.policy.overdue(core.state, core.ledger.window_tokens)
        if overdue:
            self._holding = asyncio.create_task(self._hold(overdue), name="voicenb-hold-window")
            return self._holding
        return self._fold_when_due(core.ledger.window_tokens)

    def _fold_when_due(self, window_tokens: int | None) -> asyncio.Task | None:
        core = self.core
        if self.running or not self.backoff.ready(core.clock()):
            return None  # one at a time; after a failure, wait for its retry time
        if window_tokens is not None and window_tokens < core.policy.trigger_tokens and not self.owed:
            return None
        return self._start(core.policy.plan(core.state, window_tokens, list(self.owed.values())))

    def summarise_now(self) -> asyncio.Task | None:
        """Summarise now regardless of the trigger. None if there is nothing to fold."""
        if self.running:
            return self._task
        return self._start(self.core.policy.plan_now(self.core.state, list(self.owed.values())))

    async def _hold(self, items: Sequence[Item]) -> None:
        """Folds fell behind: ``items`` leave the window now and are owed to the next fold."""
        core = self.core
        window = core.ledger.window_tokens
        dropped = await self.link.delete_items([i.id for i in items if i.id in core.state.window])
        self.owed |= {i.id: i for i in items if i.id in dropped}
        core.window_fresh = False
        core.publish(ev.TurnsDropped(tuple(dropped), window))
        self._fold_when_due(None)  # a fold not already running folds them now

    async def cancel(self) -> None:
        tasks, self._task, self._holding = [self._task, self._holding], None, None
        for task in tasks:
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    def _start(self, plan: SummaryPlan | None) -> asyncio.Task | None:
        if plan is None:
            return None
        self._task = asyncio.create_task(self._summarise(plan), name="voicenb-summary")
        return self._task

    def _report(self, result: FoldResult | None, turns: Sequence[Item]) -> None:
        """What the fold could not place, and what the memory's budget evicted, as events."""
        if result is None:
            return
        core = self.core
        if result.unplaced:
            ids = tuple(turns[s.turn].id if s.turn < len(turns) else "" for s in result.unplaced)
            core.publish(ev.SummaryFactsDropped(tuple(s.value for s in result.unplaced), ids))
        if result.evicted:
            core.publish(ev.SummaryEntriesEvicted(tuple(e.line().removeprefix("- ") for e in result.evicted)))

    async def _summarise(self, plan: SummaryPlan) -> None:
        """Turns that arrive meanwhile are untouched: we delete by id, never rewrite history."""
        core, ids = self.core, plan.item_ids
        core.publish(ev.SummaryStarted(tuple(ids)))
        previous = summary_body(plan.previous_summary.text) if plan.previous_summary else None
        try:
            text = await fold(self.summariser, core.policy, plan.turns, previous)
            summary_id = await self.link.create_item(
                "system", summary_item_text(text), ConversationState.SUMMARY_PREFIX, "root"
            )
            core.note({"type": "voicenb.summary", "item_id": summary_id, "summarises": ids})
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            delay = self.backoff.failed(core.clock(), core.policy.retry_base_s, core.policy.retry_max_s)
            core.publish(ev.SummaryFailed(f"{type(exc).__name__}: {str(exc) or 'no reason given'}", delay))
            return
        self.backoff.succeeded()
        self._report(getattr(self.summariser, "last_fold", None), plan.turns)
        deleted = await self.link.delete_items([i for i in ids if i in core.state.window])
        for item_id in ids:
            self.owed.pop(item_id, None)
        self.summaries += 1
        core.window_fresh = False
        core.publish(ev.SummaryFinished(summary_id, text, tuple(deleted)))
