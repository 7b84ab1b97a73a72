"""Summary-fidelity eval: replay a conversation with planted facts through a real `VoiceSession` on
the offline engine under one context policy, then score what the server still holds and what it cost.

- `conversations` -- the schema, loading, joining and looping (pure);
- `replay`        -- the session against a scripted engine, per policy;
- `scoring`       -- fact survival and superseded values (pure);
- `report`        -- reports, the compare table and plot; `probes` -- the bot asked each fact at the end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import replace

from tqdm import tqdm

from .conversations import (
    Conversation,
    ConversationError,
    Fact,
    concat,
    extend_to_minutes,
    extend_with_chatter,
)
from .loading import load_conversation
from .locomo import token_f1
from .probes import ProbeResult, probe_f1, probe_recall
from .replay import POLICIES, RETENTION_SWEEP, THEORETICAL, EvalSettings, pairs, replay
from .report import EvalReport, build_report, compare_table, format_report, plot_compare
from .scoring import FactResult, fact_survival, score_fact, score_facts

__all__ = [
    "POLICIES",
    "RETENTION_SWEEP",
    "THEORETICAL",
    "Conversation",
    "ConversationError",
    "EvalReport",
    "EvalSettings",
    "Fact",
    "FactResult",
    "ProbeResult",
    "compare",
    "compare_settings",
    "compare_table",
    "evaluate",
    "extend_to_minutes",
    "extend_with_chatter",
    "fact_survival",
    "format_report",
    "load_conversation",
    "probe_f1",
    "probe_recall",
    "retention_sweep",
    "run",
    "score_fact",
    "score_facts",
    "token_f1",
]


async def evaluate(conv: Conversation, settings: EvalSettings, *, progress: bool = True) -> EvalReport:
    """Replay, score and (with ``settings.probe``) ask the probe questions: the typed report."""
    bar = tqdm(total=len(pairs(conv.turns)), desc=f"{settings.label:>18}", disable=not progress, leave=False)
    with bar:
        run = await replay(conv, settings, bar)
    return build_report(conv, settings, run)


def compare_settings(settings: EvalSettings, ratios: Sequence[float] | None = None) -> list[EvalSettings]:
    """Every policy, with ``retention`` once per ratio (default: ``settings.retention_ratio``)."""
    runs = []
    for policy in POLICIES:
        if policy == "retention":
            runs += [
                replace(settings, policy=policy, retention_ratio=r)
                for r in ratios or [settings.retention_ratio]
            ]
        else:
            runs.append(replace(settings, policy=policy))
    return runs


async def compare(
    conv: Conversation,
    settings: EvalSettings,
    *,
    ratios: Sequence[float] | None = None,
    progress: bool = True,
) -> list[EvalReport]:
    """Every policy on the same conversation, one after another (each on a fresh engine)."""
    return [await evaluate(conv, s, progress=progress) for s in compare_settings(settings, ratios)]


async def retention_sweep(
    conv: Conversation,
    settings: EvalSettings,
    ratios: Sequence[float] = RETENTION_SWEEP,
    *,
    progress: bool = True,
) -> list[EvalReport]:
    """The server's retention truncation at several ratios (for the lab): one report per ratio."""
    runs = [replace(settings, policy="retention", retention_ratio=r) for r in ratios]
    return [await evaluate(conv, s, progress=progress) for s in runs]


def run(
    paths: Sequence[str], settings: EvalSettings, *, minutes: float = 0, all_policies: bool = False,
    plot: str | None = None, as_json: bool = False, out: Callable[[str], None] = print,
    ratios: Sequence[float] | None = None, fill: str = "loop", first_turns: int | None = None,
) -> int:  # fmt: skip
    """``voicenb eval``: bad files raise `ConversationError` (one line, for the CLI to print).
    Files are in the eval schema or LoCoMo's published JSON; ``first_turns`` cuts each one."""
    conv = concat([load_conversation(p, first_turns) for p in paths])
    if minutes:
        extend = extend_with_chatter if fill == "chatter" else extend_to_minutes
        conv = extend(conv, minutes, settings.wpm)
    if not all_policies:
        report = asyncio.run(evaluate(conv, settings))
        out(json.dumps(report.to_dict()) if as_json else format_report(report))
        return 1 if report["incomplete"] else 0
    reports = asyncio.run(compare(conv, settings, ratios=ratios))
    plotted = _try_plot(reports, plot or f"compare-{conv.name}.png")
    if not as_json:
        out(compare_table(reports))
        out(f"plot: {plotted}" if plotted else "plot: skipped (pip install 'voicenb[eval]' for matplotlib)")
        for line in shortfalls(reports):
            out(line)
    else:
        out(
            json.dumps(
                {"conversation": conv.name, "plot": plotted, "reports": [r.to_dict() for r in reports]}
            )
        )
    return 1 if any(r["incomplete"] for r in reports) else 0


def shortfalls(reports: Sequence[EvalReport]) -> list[str]:
    """One line per run that stopped early or left probes unanswered: which, and why."""
    lines = [f"{r['policy']}: INCOMPLETE, {r['incomplete']}" for r in reports if r["incomplete"]]
    for r in reports:
        missed = [p for p in r["probes"] if p.get("unanswered")]
        if missed:
            named = ", ".join(f"{p['id']} ({p['unanswered']})" for p in missed)
            lines.append(f"{r['policy']}: {len(missed)} probe(s) unanswered, counted as wrong: {named}")
    return lines


def _try_plot(reports: Sequence[EvalReport], path: str) -> str | None:
    try:
        return str(plot_compare(reports, path))
    except ImportError:
        return None
