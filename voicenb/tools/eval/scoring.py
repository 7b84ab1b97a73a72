"""Scoring, pure: a fact survives when one of its answers is a case-insensitive substring of the
final server-side context (summary + kept turns). A correction's superseded value is *flagged* when it
is still there as if current: the current answer is gone, or the superseded value comes after it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .conversations import Fact


@dataclass(frozen=True)
class FactResult:
    id: str
    kind: str
    survived: bool
    superseded_flag: bool = False  # an old value still reads as current
    superseded_mentioned: bool = False  # an old value is still mentioned at all


def _last_at(haystack: str, needles: Sequence[str]) -> int:
    return max((haystack.rfind(n.lower()) for n in needles if n), default=-1)


def score_fact(context: str, fact: Fact) -> FactResult:
    """Score one fact against the server-side context (already joined, any case)."""
    text = context.lower()
    answer_at = _last_at(text, fact.answers)
    old_at = _last_at(text, fact.superseded)
    flagged = old_at >= 0 and (answer_at < 0 or old_at > answer_at)
    return FactResult(fact.id, fact.kind, answer_at >= 0, flagged, old_at >= 0)


def score_facts(context: Sequence[str], facts: Sequence[Fact]) -> list[FactResult]:
    """Score every fact against the context items' texts, in server order (summary first)."""
    joined = "\n".join(context)
    return [score_fact(joined, f) for f in facts]


def fact_survival(results: Sequence[FactResult]) -> float:
    return sum(r.survived for r in results) / len(results) if results else 1.0
