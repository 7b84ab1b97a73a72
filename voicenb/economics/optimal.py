"""The cost-optimal summarise policy: the (trigger, target) pair that minimises `summarise_cost`.

The cost rises with the target t (bigger window, dearer bust, no gain), so t is the floor (summary +
``keep_last`` turns); over the trigger T it is ``a*T + b/(T - t)``, whose minimum is
``T = t + sqrt(2 * bust_usd * growth / (responses * cached_audio_price))``, capped below the server's
truncation point. See `optimal_pair`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..tokens import ModelSpec
from .costs import CostPerMinute, auto_cost, no_pruning_cost, retention_cost, summarise_cost
from .rates import TokenRates
from .window import M

SUMMARY_FLOOR_TOKENS = 400  # a summary below this drops facts (names, numbers, dates) silently

QUALITY_CEILING_TOKENS = 32_000
"""The window voicenb does not let grow past by default, whatever the model's own limit.

Answers drift as the window fills long before a 128k model truncates at 96k (the seed's own reason to
summarise at all; 32k is the window the seed's advice, and gpt-realtime, were built around). The cost
model alone would allow any trigger up to the truncation point; this caps it. A named constant, not a
measured optimum: pass ``ceiling=`` to `SummaryPolicy.for_model` to choose another.
"""


@dataclass(frozen=True)
class PolicyPoint:
    """A (trigger, target) pair with its expected cost."""

    trigger: int
    target: int
    summary_tokens: int
    cost: CostPerMinute


@dataclass(frozen=True)
class TriggerBounds:
    """The ceilings a default trigger respects, each with the reason it exists; the trigger is the
    lowest of them (on a tie the first listed, the harder limit, is the one named)."""

    model: str
    limits: tuple[tuple[str, int], ...]

    @property
    def trigger(self) -> int:
        return min(tokens for _, tokens in self.limits)

    @property
    def binding(self) -> str:
        """The reason of the lowest limit: the bound that applied."""
        return min(self.limits, key=lambda limit: limit[1])[0]

    def with_limit(self, reason: str, tokens: int) -> TriggerBounds:
        """These bounds and one more, which wins ties (it is the narrower, more specific limit)."""
        return TriggerBounds(self.model, ((reason, tokens), *self.limits))

    def describe(self) -> str:
        others = ", ".join(f"{reason} {tokens:,}" for reason, tokens in self.limits if reason != self.binding)
        return f"{self.binding} for {self.model} ({self.trigger:,}; also under: {others})"


def summary_budget(trigger: float, share: float = 0.25, floor: int = SUMMARY_FLOOR_TOKENS) -> int:
    """Tokens a summary may use: a share of the trigger, never below the floor that holds the facts --
    except that the floor never takes more than half the trigger (a summary that big would leave no
    room for the kept turns and re-trigger pruning on every response)."""
    return max(int(trigger * share), min(floor, int(trigger) // 2))


def floor_target(rates: TokenRates, summary_tokens: float, keep_last: int) -> int:
    """The lowest window a prune can reach: instructions, the summary and ``keep_last`` turns."""
    return math.ceil(rates.instructions_tokens + summary_tokens + keep_last / 2 * rates.exchange_tokens)


def max_trigger(spec: ModelSpec, rates: TokenRates) -> int:
    """The highest useful trigger: two exchanges below the server's truncation point, so the summary
    lands before the server starts trimming on its own."""
    return int(spec.truncation_at - 2 * rates.exchange_tokens)


def optimal_trigger(spec: ModelSpec, rates: TokenRates, target: float, summary_tokens: float) -> int:
    """The trigger minimising `summarise_cost` for a given target (closed form, capped)."""
    instr = rates.instructions_tokens
    kept_audio = max(target - instr - summary_tokens, 0.0)
    bust_usd = (
        summary_tokens * (spec.text_in - spec.text_cached) + kept_audio * (spec.audio_in - spec.audio_cached)
    ) / M
    span = math.sqrt(2 * bust_usd * rates.growth_per_min / (rates.responses_per_min * spec.audio_cached / M))
    hi = max_trigger(spec, rates)
    return int(min(max(target + span, target + rates.exchange_tokens), hi))


def optimal_pair(
    spec: ModelSpec,
    rates: TokenRates | None = None,
    keep_last: int = 4,
    share: float = 0.25,
    floor: int = SUMMARY_FLOOR_TOKENS,
) -> PolicyPoint:
    """The cost-optimal (trigger, target) for summarise-and-prune with ``keep_last`` verbatim turns:
    the target at its floor, the trigger the cheapest on a 100-token grid up to `max_trigger`.

    A grid rather than `optimal_trigger`'s closed form, because the summary budget (a share of the
    trigger) makes the target grow with the trigger."""
    rates = rates or TokenRates.voice_call()
    lowest = floor_target(rates, summary_budget(0, share, floor), keep_last)
    start = (lowest // 100 + 1) * 100
    candidates = [t for t in range(start, max_trigger(spec, rates) + 1, 100)
                  if floor_target(rates, summary_budget(t, share, floor), keep_last) < t]  # fmt: skip
    if not candidates:
        raise ValueError(f"{spec.name}: no trigger fits below its truncation point {spec.truncation_at}")
    points = trigger_sweep(spec, candidates, rates, keep_last, share, floor)
    return min(points, key=lambda p: p.cost.total)


def policy_costs(
    spec: ModelSpec,
    rates: TokenRates | None = None,
    *,
    ratios: Sequence[float] = (0.5,),
    keep_last: int = 4,
    minutes: float = 60.0,
) -> dict[str, CostPerMinute]:
    """Expected USD per minute of each policy, for tables and the panel (steady state; ``none`` is the
    theoretical unbounded window averaged over ``minutes``)."""
    rates = rates or TokenRates.voice_call()
    best, _ = bounded_pair(spec, rates, keep_last)
    costs = {"auto": auto_cost(spec, rates)}
    costs.update({f"retention {r:g}": retention_cost(spec, rates, r) for r in ratios})
    costs[f"summarise {best.trigger}/{best.target}"] = best.cost
    costs["none (theoretical)"] = no_pruning_cost(spec, rates, minutes)
    return costs


def trigger_sweep(
    spec: ModelSpec,
    triggers: Sequence[int],
    rates: TokenRates | None = None,
    keep_last: int = 4,
    share: float = 0.25,
    floor: int = SUMMARY_FLOOR_TOKENS,
) -> list[PolicyPoint]:
    """Expected summarise cost at each trigger, the target at its floor and the summary at its budget
    (notebook 03's cost-vs-trigger line; mark `optimal_pair` on it)."""
    rates = rates or TokenRates.voice_call()
    points = []
    for trigger in triggers:
        summary = summary_budget(trigger, share, floor)
        target = floor_target(rates, summary, keep_last)
        if target >= trigger:
            raise ValueError(f"trigger {trigger} is below the lowest window a prune reaches ({target})")
        points.append(
            PolicyPoint(trigger, target, summary, summarise_cost(spec, rates, trigger, target, summary))
        )
    return points


def bounded_pair(
    spec: ModelSpec,
    rates: TokenRates | None = None,
    keep_last: int = 4,
    ceiling: int = QUALITY_CEILING_TOKENS,
) -> tuple[PolicyPoint, TriggerBounds]:
    """The cost-optimal pair capped by the quality ceiling and the server's truncation point, and the
    bounds that chose it (`TriggerBounds.binding` names the one that applied)."""
    rates = rates or TokenRates.voice_call()
    best = optimal_pair(spec, rates, keep_last)
    bounds = TriggerBounds(spec.name, (
        ("the server's truncation point less two exchanges", max_trigger(spec, rates)),
        ("the quality ceiling", ceiling),
        ("the cost-optimal trigger", best.trigger),
    ))  # fmt: skip
    if bounds.trigger == best.trigger:
        return best, bounds
    return trigger_sweep(spec, [bounds.trigger], rates, keep_last)[0], bounds
