"""`voicenb bench --folds`: the default offline summariser folding about N tokens of turns, alone: where
the offline default trigger must sit for a fold to take at most a minute on this machine."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

from ..session import VoiceSession

FOLD_SIZES = (1000, 2000, 3000, 4000, 5000)


def _bundled_turns() -> list[tuple[str, str]]:
    """The package's two planted-fact calls, one after the other: material for a fold of any size."""
    turns: list[tuple[str, str]] = []
    for name in ("support_call", "trip_planning"):
        data = json.loads(
            (resources.files("voicenb") / "data" / "conversations" / f"{name}.json").read_text()
        )
        turns += [(t["role"], t["text"]) for t in data["turns"]]
    return turns


def _turns_of(turns: list[tuple[str, str]], tokens: int) -> list[tuple[str, str]]:
    from ..tokens import count_text_tokens

    out: list[tuple[str, str]] = []
    while sum(count_text_tokens(t) for _, t in out) < tokens:
        out.append(turns[len(out) % len(turns)])
    return out


async def fold_pace(sizes: Sequence[int] = FOLD_SIZES, out: Callable[[str], None] = print) -> dict[str, Any]:
    """Seconds one fold of the default offline summariser (the engine's own model) takes for about
    ``sizes`` tokens of turns, each with a fresh memory, nothing else running. A fold that stops says
    why beside the figures it has."""
    from ..summarisers import ChatSummariser

    turns, seconds = _bundled_turns(), {}
    async with VoiceSession.offline() as session:
        client, model = session.backend.client_for_text()
        budget = session.policy.summary_budget_tokens

        def fresh() -> ChatSummariser:  # no fallback: a fold the model fails must not time the extractive one
            return ChatSummariser(client, model)

        await _fold_once(fresh(), turns[:2], budget)  # loads and warms the model
        for size in sizes:
            try:
                seconds[size] = await _fold_once(fresh(), _turns_of(turns, size), budget)
            except Exception as exc:
                out(f"fold of {size:,} tokens: failed ({type(exc).__name__}: {exc})")
                return {"fold_s": seconds, "fold_error": f"{type(exc).__name__}: {exc}"}
            out(f"fold of {size:,} tokens of turns: {seconds[size]:.1f} s")
        trigger = session.policy.trigger_tokens
    return {"fold_s": seconds, "fold_trigger_tokens": trigger}


async def _fold_once(summariser: Any, turns: list[tuple[str, str]], budget: int) -> float:
    started = time.perf_counter()
    await summariser.summarise(turns, None, None, budget)
    return round(time.perf_counter() - started, 1)
