"""When and what to summarise: pure decisions over the conversation state, no I/O, no asyncio."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .economics import (
    QUALITY_CEILING_TOKENS,
    SUMMARY_FLOOR_TOKENS,
    TriggerBounds,
    bounded_pair,
    item_tokens,
    summary_budget,
)
from .state import ConversationState, Item, TranscriptStatus
from .tokens import model_spec


@dataclass
class Backoff:
    """Exponential back-off after summariser failures: runtime state, owned by one session's pruner
    (the policy only says how long to wait, so two sessions sharing a policy never share a back-off)."""

    failures: int = 0
    not_before: float = 0.0

    def failed(self, now: float, base_s: float, max_s: float) -> float:
        """Record a failure at ``now``; returns the delay before the next attempt."""
        delay = min(base_s * 2**self.failures, max_s)
        self.failures += 1
        self.not_before = now + delay
        return delay

    def succeeded(self) -> None:
        self.failures, self.not_before = 0, 0.0

    def ready(self, now: float) -> bool:
        return now >= self.not_before


@dataclass
class SummaryPlan:
    """What one summary run folds: the turns to summarise (with the function calls and outputs among
    them) and the summary item it replaces."""

    turns: list[Item]
    previous_summary: Item | None = None

    @property
    def item_ids(self) -> list[str]:
        ids = [t.id for t in self.turns]
        return [self.previous_summary.id, *ids] if self.previous_summary else ids


@dataclass
class SummaryPolicy:
    """Summarise-and-prune rules.

    * ``trigger_tokens``: summarise once a completed response reports a window at or above this;
      default derived from the model, below the server's own truncation point.
    * ``keep_last``: the most recent turns always stay verbatim.
    * ``min_turns``: do not bother summarising fewer turns than this.
    * ``language``: language of the summary; None means the conversation's own language.
    * ``summary_share``: the summary may use at most this share of the trigger, so that summary plus
      kept turns stay well under it however long the conversation runs; never less than
      ``summary_floor_tokens`` (a smaller summary drops facts silently).
    * ``target_tokens``: the low-water mark. A prune folds as many of the oldest turns as it takes for
      summary + kept turns to fall to about this (None: fold everything but ``keep_last``). A high
      trigger and a low target bust the prefix cache rarely (``docs/realtime-protocol.md``).
    * ``timeout_s``: a summariser taking longer has failed; nothing is deleted and it retries later.
    * ``retry_base_s`` / ``retry_max_s``: after a failure the next try waits ``retry_base_s``, doubling
      per failure in a row up to ``retry_max_s`` (the waiting itself is the session's, not the policy's).
    * ``hold_window``: when folds fall behind (they fail, or the dialogue outruns them) and the window
      passes the trigger plus its latest exchange, the turns a fold would take leave the window at
      once (`overdue`); the full log keeps them and the next summary folds them. False: nothing
      leaves the window without a summary, and the server truncates at its own point.

    ``SummaryPolicy.for_model(name)`` takes the trigger and target from the cost model, capped by the
    quality ceiling (`voicenb.economics.bounded_pair`); ``bounds`` keeps why, and `describe` says it.
    """

    trigger_tokens: int = 20_000
    keep_last: int = 4
    min_turns: int = 2
    language: str | None = None
    summary_share: float = 0.25
    timeout_s: float = 60.0  # a summariser that hangs counts as failed (and is retried later)
    retry_base_s: float = 2.0
    retry_max_s: float = 60.0
    target_tokens: int | None = None
    hold_window: bool = True
    summary_floor_tokens: int = SUMMARY_FLOOR_TOKENS
    bounds: TriggerBounds | None = None  # what chose the trigger (None: set by hand)

    @classmethod
    def for_model(
        cls, model: str, keep_last: int = 4, ceiling: int = QUALITY_CEILING_TOKENS, **overrides: Any
    ) -> SummaryPolicy:
        """The cost-optimal trigger and target for ``model`` on a typical voice call, capped by the
        quality ceiling and the server's truncation point (`voicenb.economics.bounded_pair`);
        ``overrides`` set any other field."""
        point, bounds = bounded_pair(model_spec(model), keep_last=keep_last, ceiling=ceiling)
        fields = {"trigger_tokens": point.trigger, "target_tokens": point.target, "bounds": bounds}
        return cls(keep_last=keep_last, **{**fields, **overrides})

    def describe(self) -> str:
        """One line: when it summarises, down to what, and which bound chose the trigger."""
        target = f" down to ~{self.target_tokens:,}" if self.target_tokens else ""
        head = f"summarise at {self.trigger_tokens:,} tokens{target}, keeping the last {self.keep_last} turns"
        if self.bounds is None:
            return f"{head} (trigger set by hand)"
        if self.trigger_tokens == self.bounds.trigger:
            return f"{head}: {self.bounds.describe()}"
        return f"{head} (trigger set by hand; {self.bounds.describe()})"

    @property
    def summary_budget_tokens(self) -> int:
        return summary_budget(self.trigger_tokens, self.summary_share, self.summary_floor_tokens)

    def should_summarise(self, window_tokens: int, state: ConversationState) -> bool:
        return window_tokens >= self.trigger_tokens and self.plan(state, window_tokens) is not None

    def plan(
        self, state: ConversationState, window_tokens: int | None = None, owed: Sequence[Item] = ()
    ) -> SummaryPlan | None:
        """The oldest window turns that may be folded, or None if too few.

        Selection walks the window oldest-first, stops at the first turn whose transcript is still
        pending (its words are unknown, so summarising or deleting it would lose them) and skips
        turns whose transcription failed (they stay verbatim: the server still has their audio).
        A function call folds together with its output, never without it: a call whose output has not
        arrived (or comes after the kept turns) stops the selection like a pending turn.
        With a ``target_tokens`` and the current ``window_tokens`` it stops once the window, less the
        folded turns and the old summary, plus a new summary of full budget, is down to the target.
        ``owed`` (turns that left the window unsummarised, oldest first) come first, at most about
        ``trigger_tokens`` of them per fold, so a fold that catches up takes no longer than usual.
        """
        behind = _head(owed, self.trigger_tokens, self.min_turns)
        chosen = behind + (self._select(state, window_tokens) if len(behind) == len(owed) else [])
        if sum(1 for i in chosen if i.is_turn) < max(1, self.min_turns):
            return None
        return SummaryPlan(chosen, state.current_summary())

    def overdue(self, state: ConversationState, window_tokens: int) -> list[Item]:
        """The items to drop from the window now because folds fell behind: what a fold would take,
        once the window is past the trigger plus its latest exchange (one exchange may overshoot a
        trigger any time; two mean the fold that should have run did not). [] while within that, or
        with ``hold_window`` off."""
        if not self.hold_window or window_tokens <= self.trigger_tokens + _latest_exchange_tokens(state):
            return []
        return self._select(state, window_tokens)

    def _select(self, state: ConversationState, window_tokens: int | None) -> list[Item]:
        remaining = self._after_fold_tokens(window_tokens, state.current_summary())
        chosen: list[Item] = []
        turns = 0
        for unit in _fold_units(state, self._candidates(state)):
            if remaining is not None and remaining <= (self.target_tokens or 0) and turns >= self.min_turns:
                break
            if unit is None or unit[0].status is TranscriptStatus.PENDING:
                break
            if unit[0].status is TranscriptStatus.COMPLETE:
                chosen += unit
                turns += sum(1 for i in unit if i.is_turn)
                if remaining is not None:
                    remaining -= sum(sum(item_tokens(i)) for i in unit)
        return chosen

    def _candidates(self, state: ConversationState) -> list[Item]:
        """Window turns and tool items before the last ``keep_last`` turns."""
        items = [i for i in state.window_items() if i.is_turn or i.is_tool]
        turn_at = [n for n, i in enumerate(items) if i.is_turn]
        if self.keep_last == 0:
            return items
        if self.keep_last > len(turn_at):
            return []
        return items[: turn_at[-self.keep_last]]

    def _after_fold_tokens(self, window_tokens: int | None, previous: Item | None) -> int | None:
        """The window if nothing but the summary changed (None: no target, fold all candidates)."""
        if self.target_tokens is None or window_tokens is None or self.target_tokens >= self.trigger_tokens:
            return None  # a target at or above the trigger would re-trigger at once: fold all candidates
        old_summary = sum(item_tokens(previous)) if previous else 0
        return window_tokens - old_summary + self.summary_budget_tokens

    def plan_now(self, state: ConversationState, owed: Sequence[Item] = ()) -> SummaryPlan | None:
        """A manual "summarise now": same selection, but one turn is enough."""
        return SummaryPolicy(
            self.trigger_tokens, self.keep_last, 1, self.language, self.summary_share,
            summary_floor_tokens=self.summary_floor_tokens,
        ).plan(state, owed=owed)  # fmt: skip


def _head(items: Sequence[Item], tokens: int, min_turns: int) -> list[Item]:
    """The oldest ``items`` up to about ``tokens``, and at least ``min_turns`` turns."""
    read = turns = 0
    for n, item in enumerate(items):
        if read >= tokens and turns >= min_turns:
            return list(items[:n])
        read += sum(item_tokens(item))
        turns += item.is_turn
    return list(items)


def _latest_exchange_tokens(state: ConversationState) -> int:
    """Tokens of the window from its last user turn on: the user's words, the reply, any tool calls."""
    items = state.window_items()
    users = [n for n, i in enumerate(items) if i.is_turn and i.role == "user"]
    return sum(sum(item_tokens(i)) for i in items[users[-1] if users else len(items) :])


def _fold_units(state: ConversationState, candidates: list[Item]) -> list[list[Item] | None]:
    """The candidates as units that fold whole: a turn alone, or a call with its output. None marks a
    call whose output is not among the candidates (selection stops there)."""
    units: list[list[Item] | None] = []
    taken: set[str] = set()
    ids = {i.id for i in candidates}
    for item in candidates:
        if item.id in taken:
            continue
        if item.kind == "function_call":
            output = state.tool_output(item.call_id)
            if output is not None and not output.in_window:  # its output is already gone: fold it alone
                units.append([item])
            elif output is None or output.id not in ids:
                units.append(None)
            else:
                taken.add(output.id)
                units.append([item, output])
        else:
            units.append([item])
    return units
