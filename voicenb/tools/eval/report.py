"""Reports: one policy's figures as a typed `EvalReport` and text, the compare table and the compare plot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from ...economics import window_breakdown
from ...tokens import TokenLedger
from .conversations import Conversation
from .probes import probe_f1, probe_recall
from .replay import EvalSettings, Replay
from .scoring import fact_survival, score_facts


def uncached_cost(ledger: TokenLedger) -> float:
    """What the same responses cost with no cache hits (caching is best-effort at the API)."""
    return sum(
        replace(r.usage, input_cached=0, input_cached_audio=0).cost(ledger.spec) for r in ledger.records
    )


def _cumulative_uncached(ledger: TokenLedger) -> list[float]:
    total, series = 0.0, []
    for r in ledger.records:
        total += replace(r.usage, input_cached=0, input_cached_audio=0).cost(ledger.spec)
        series.append(round(total, 6))
    return series


@dataclass(frozen=True)
class EvalReport:
    """One policy's figures on one conversation (`voicenb eval`, `evaluate`): attributes that tab-complete
    in a notebook; ``report["policy"]`` and ``report.get(...)`` read the same fields by name, and
    `to_dict` is the JSON the CLI prints."""

    conversation: str
    policy: str  # the label: "summarise", "retention 0.2", "none (theoretical)"
    policy_kind: str
    theoretical: bool  # "none": keeps everything, which no real session can
    summariser: str | None
    mode: str  # "speech" | "text"
    model: str
    trigger_tokens: int | None
    target_tokens: int | None
    summary_budget_tokens: int | None
    retention_ratio: float | None
    truncation_at: int
    keep_last: int
    turns: int
    minutes: float
    fact_survival: float
    facts: int
    facts_lost: list[str]
    superseded_flagged: list[str]
    superseded_mentioned: list[str]
    responses: int
    summaries: int
    input_tokens: int
    input_text_tokens: int
    input_audio_tokens: int
    input_cached_tokens: int
    output_tokens: int
    output_text_tokens: int
    output_audio_tokens: int
    cost_usd: float
    cost_uncached_usd: float
    max_window_tokens: int
    final_window_tokens: int
    mean_window_tokens: int
    window_tokens: list[int]  # per response of the call that moved the window (`window_breakdown`)
    minutes_at_response: list[float]  # and the three series below: one point per window_tokens entry
    cumulative_cost_usd: list[float]
    cumulative_cost_uncached_usd: list[float]
    context: list[str]  # what the server holds at the end: summary, then kept turns
    errors: list[str]
    probe_recall: float | None
    probe_f1: float | None
    probes: list[dict[str, Any]]
    wall_s: float
    fold_seconds: list[float]
    items_dropped: int
    incomplete: str | None  # why the run stopped early (its figures are up to there)
    probes_unanswered: list[str]

    def __getitem__(self, name: str) -> Any:
        if name not in _FIELDS:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name) if name in _FIELDS else default

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_FIELDS = frozenset(f.name for f in fields(EvalReport))


def build_report(conv: Conversation, settings: EvalSettings, run: Replay) -> EvalReport:
    results = score_facts(run.context, conv.facts)
    totals = run.ledger.totals()
    # One point per response of the call (not the probes after it) that moved the window, as the panel
    # draws it (`window_breakdown`), its time and cost beside it.
    records = run.ledger.records
    moved = [i for i in range(len(run.minutes_at_response)) if records[i].moves_window]
    windows = [window_breakdown(records[i].usage, run.ledger.spec).total for i in moved]
    uncached = _cumulative_uncached(run.ledger)
    pruned = settings.policy in ("summarise", "last-n")
    prune = settings.summary_policy()
    return EvalReport(
        conversation=conv.name,
        policy=settings.label,
        policy_kind=settings.policy,
        theoretical=settings.policy == "none",
        summariser=settings.summariser if settings.policy == "summarise" else None,
        mode="speech" if settings.speech else "text",
        model=settings.model,
        trigger_tokens=prune.trigger_tokens if pruned else None,
        target_tokens=prune.target_tokens if pruned else None,
        summary_budget_tokens=prune.summary_budget_tokens if settings.policy == "summarise" else None,
        retention_ratio=settings.retention_ratio if settings.policy == "retention" else None,
        truncation_at=settings.limit,
        keep_last=settings.keep_last,
        turns=len(conv.turns),
        minutes=round(conv.minutes, 1),
        fact_survival=round(fact_survival(results), 4),
        facts=len(results),
        facts_lost=[r.id for r in results if not r.survived],
        superseded_flagged=[r.id for r in results if r.superseded_flag],
        superseded_mentioned=[r.id for r in results if r.superseded_mentioned],
        responses=len(run.ledger.records),
        summaries=run.summaries,
        input_tokens=totals.input_tokens,
        input_text_tokens=totals.input_text,
        input_audio_tokens=totals.input_audio,
        input_cached_tokens=totals.input_cached,
        output_tokens=totals.output_tokens,
        output_text_tokens=totals.output_text,
        output_audio_tokens=totals.output_audio,
        cost_usd=round(run.ledger.cumulative_cost_usd, 6),
        cost_uncached_usd=round(uncached_cost(run.ledger), 6),
        max_window_tokens=run.ledger.max_window_tokens,
        final_window_tokens=run.ledger.window_tokens,
        mean_window_tokens=round(sum(windows) / len(windows)) if windows else 0,
        window_tokens=windows,
        minutes_at_response=[round(run.minutes_at_response[i], 3) for i in moved],
        cumulative_cost_usd=[round(records[i].cumulative_cost_usd, 6) for i in moved],
        cumulative_cost_uncached_usd=[uncached[i] for i in moved],
        context=run.context,
        errors=run.errors,
        probe_recall=probe_recall(run.probes),
        probe_f1=probe_f1(run.probes),
        probes=[asdict(p) for p in run.probes],
        wall_s=round(run.wall_s, 2),
        fold_seconds=run.fold_seconds,
        items_dropped=run.dropped,
        incomplete=run.incomplete,
        probes_unanswered=[p.id for p in run.probes if p.unanswered],
    )


def format_report(report: EvalReport) -> str:
    r = report
    lines = [
        f"{r['conversation']}: policy {r['policy']}"
        + (f" ({r['summariser']} summariser)" if r["summariser"] else "")
        + f", {r['turns']} turns, ~{r['minutes']} min of speech, {r['mode']} replay, model {r['model']}",
        f"  fact survival   {r['fact_survival']:.2f} ({r['facts'] - len(r['facts_lost'])}/{r['facts']})"
        + (f"  lost: {', '.join(r['facts_lost'])}" if r["facts_lost"] else ""),
        f"  superseded      flagged as current: {', '.join(r['superseded_flagged']) or 'none'}"
        f"; still mentioned: {', '.join(r['superseded_mentioned']) or 'none'}",
        f"  responses       {r['responses']}, summaries {r['summaries']}"
        + (
            f", {r['items_dropped']} items held out while folds fell behind" if r.get("items_dropped") else ""
        ),
        f"  window tokens   max {r['max_window_tokens']:,}, mean {r['mean_window_tokens']:,}, "
        f"final {r['final_window_tokens']:,}",
        f"  input tokens    {r['input_tokens']:,} (text {r['input_text_tokens']:,}, audio "
        f"{r['input_audio_tokens']:,}, cached {r['input_cached_tokens']:,})",
        f"  output tokens   {r['output_tokens']:,} (text {r['output_text_tokens']:,}, audio "
        f"{r['output_audio_tokens']:,})",
        f"  cost            ${r['cost_usd']:.4f} (${r['cost_uncached_usd']:.4f} with no cache hits)",
    ]
    if r.get("probe_recall") is not None:
        correct = sum(p["correct"] for p in r["probes"])
        right = f"{correct}/{len(r['probes'])} answered right by the bot"
        f1 = f"; LoCoMo token F1 {r['probe_f1']:.2f}" if r.get("probe_f1") is not None else ""
        lines.append(f"  probe recall    {r['probe_recall']:.2f} ({right}){f1}")
        lines += [f"    {'✓' if p['correct'] else '✗'} {p['id']}: {p['question']} -> "
                  + (f"unanswered ({p['unanswered']})" if p.get("unanswered") else repr(p["answer"][:80]))
                  for p in r["probes"]]  # fmt: skip
    if r["errors"]:
        lines.append(f"  errors          {len(r['errors'])}: {r['errors'][0]}")
    if r.get("incomplete"):
        lines.insert(1, f"  INCOMPLETE      {r['incomplete']}; the figures below are up to there")
    return "\n".join(lines)


def compare_table(reports: Sequence[EvalReport]) -> str:
    """One row per policy; cost as billed (prefix cache) and with no cache hits, each also as a share
    of ``auto``, the server's default (what a session left alone costs). ``none (theoretical)`` is
    shown but is never the reference: no real session holds its window."""
    auto = next((r for r in reports if r["policy"] == "auto"), None)
    share = lambda r, key: f"{r[key] / auto[key]:.0%}" if auto and auto[key] else "-"  # noqa: E731
    width = max([18, *(len(r["policy"]) for r in reports)])
    head = (
        f"{'policy':<{width}} {'survival':>8} {'flagged':>7} {'resp':>5} {'summ':>5} {'max win':>8} "
        f"{'mean win':>8} {'input tok':>10} {'cached':>10} {'cost $':>8} {'vs auto':>7} "
        f"{'no-cache $':>10} {'vs auto':>7}"
    )
    probed = any(r.get("probe_recall") is not None for r in reports)
    head += f" {'recall':>6}" if probed else ""
    rows = [head, "-" * len(head)]
    for r in reports:
        recall = r.get("probe_recall")
        rows.append(
            f"{r['policy']:<{width}} {r['fact_survival']:>8.2f} {len(r['superseded_flagged']):>7} "
            f"{r['responses']:>5} {r['summaries']:>5} {r['max_window_tokens']:>8,} "
            f"{r['mean_window_tokens']:>8,} {r['input_tokens']:>10,} {r['input_cached_tokens']:>10,} "
            f"{r['cost_usd']:>8.4f} {share(r, 'cost_usd'):>7} {r['cost_uncached_usd']:>10.4f} "
            f"{share(r, 'cost_uncached_usd'):>7}"
            + (f" {recall:>6.2f}" if recall is not None else f" {'-':>6}" if probed else "")
        )
    return "\n".join(rows)


def plot_compare(reports: Sequence[EvalReport], path: str | Path) -> Path:
    """A static PNG: window over time per policy, cumulative cost, and fact survival."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (win, cost, surv) = plt.subplots(1, 3, figsize=(15, 4.5), gridspec_kw={"width_ratios": [3, 3, 2]})
    for i, r in enumerate(reports):
        t = r["minutes_at_response"]
        style = ":" if r.get("theoretical") else "-"  # no real session holds that window
        win.plot(t, r["window_tokens"], label=r["policy"], lw=1.4, color=f"C{i}", ls=style)
        cost.plot(t, r["cumulative_cost_usd"], label=r["policy"], lw=1.4, color=f"C{i}")
        cost.plot(t, r["cumulative_cost_uncached_usd"], lw=1.0, ls="--", color=f"C{i}")
    win.set(xlabel="conversation time (min of speech)", ylabel="window tokens per response",
            title="Context window")  # fmt: skip
    cost.set(
        xlabel="conversation time (min of speech)",
        ylabel="USD (log)",
        yscale="log",
        title=f"Cumulative cost, {reports[0]['model']} (dashed: no cache hits)",
    )
    names = [r["policy"] for r in reports]
    bars = surv.bar(
        names, [r["fact_survival"] for r in reports], color=[f"C{i}" for i in range(len(reports))]
    )
    surv.bar_label(bars, fmt="%.2f")
    surv.tick_params(axis="x", labelrotation=40)
    for label in surv.get_xticklabels():
        label.set_horizontalalignment("right")
    surv.set(ylim=(0, 1.1), title="Fact survival", ylabel="share of facts in context")
    win.legend()
    fig.suptitle(
        f"{reports[0]['conversation']}: {reports[0]['turns']} turns, ~{reports[0]['minutes']} min of speech"
    )
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
