"""What a voice call's context costs: one window definition for every view, and a steady-state cost
model of the context policies. Pure: no I/O, no asyncio. In data-flow order:

- `window`  -- `window_breakdown`: what the next response re-reads, the one figure every view shows;
- `rates`   -- `TokenRates`: how fast a call grows its window, per minute;
- `costs`   -- USD per minute of each policy (`summarise_cost`, `auto_cost`, ...) and `simulate_call`;
- `optimal` -- the cost-optimal (trigger, target) of summarise-and-prune (`optimal_pair`), capped by the
  quality ceiling and the truncation point (`bounded_pair`).
"""

from .costs import (
    CallSeries,
    CostPerMinute,
    auto_cost,
    no_pruning_cost,
    retention_cost,
    sawtooth_cost,
    simulate_call,
    summarise_cost,
)
from .optimal import (
    QUALITY_CEILING_TOKENS,
    SUMMARY_FLOOR_TOKENS,
    PolicyPoint,
    TriggerBounds,
    bounded_pair,
    floor_target,
    max_trigger,
    optimal_pair,
    optimal_trigger,
    policy_costs,
    summary_budget,
    trigger_sweep,
)
from .rates import TEXT_TOKENS_PER_WORD, TokenRates
from .window import (
    M,
    WindowFigures,
    estimated_window_after_summary,
    item_tokens,
    last_window_usage,
    window_breakdown,
    window_series,
)

__all__ = [
    "QUALITY_CEILING_TOKENS",
    "SUMMARY_FLOOR_TOKENS",
    "TEXT_TOKENS_PER_WORD",
    "CallSeries",
    "CostPerMinute",
    "M",
    "PolicyPoint",
    "TokenRates",
    "TriggerBounds",
    "WindowFigures",
    "auto_cost",
    "bounded_pair",
    "estimated_window_after_summary",
    "floor_target",
    "item_tokens",
    "last_window_usage",
    "max_trigger",
    "no_pruning_cost",
    "optimal_pair",
    "optimal_trigger",
    "policy_costs",
    "retention_cost",
    "sawtooth_cost",
    "simulate_call",
    "summarise_cost",
    "summary_budget",
    "trigger_sweep",
    "window_breakdown",
    "window_series",
]
