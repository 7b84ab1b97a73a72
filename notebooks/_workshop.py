"""Helpers the workshop notebooks share: plotting and the threshold lab's widgets. Kept here so the
notebooks' cells show only what they teach (the session, its log and window, the window series); what each
notebook promises is checked by the tests (`tests/notebook_checks.py`), not in its cells."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Awaitable, Callable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt

if TYPE_CHECKING:
    from voicenb.tools.eval import EvalReport as Report


# --- saying which backend a session uses ------------------------------------------------------------------


def backend_line(session: Any) -> str:
    """One line: where this session's audio goes (said by the cell that makes the session)."""
    return f"backend: {session.backend.describe()}"


def wrap(text: str, width: int = 96) -> str:
    """``text`` wrapped for a notebook output."""
    return textwrap.fill(text, width, subsequent_indent="    ")


# --- 02 and 04: the window per response --------------------------------------------------------------


def plot_window(windows: Sequence[Any], trigger: int) -> None:
    """Bars of ``windows`` (`voicenb.economics.window_series`: text and audio, the cached part as a line)
    against the summary ``trigger``, in the panel's colours."""
    from voicenb.widgets.chart import COLORS

    n = range(1, len(windows) + 1)
    text, audio = [w.text for w in windows], [w.audio for w in windows]
    _fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.bar(n, text, color=COLORS["text"], label="text")
    ax.bar(n, audio, bottom=text, color=COLORS["audio"], label="audio")
    ax.plot(
        n, [w.cached for w in windows], "o-", color=COLORS["cached"], label="of which read from the cache"
    )
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))  # responses are whole numbers
    top = max((w.text + w.audio for w in windows), default=0)
    if top and trigger > 1.5 * top:  # a trigger far out of reach would flatten the bars: name it instead
        ax.plot([], [], ls="--", color=COLORS["trigger"], label=f"trigger {trigger:,} (above the chart)")
    else:
        ax.axhline(trigger, ls="--", color=COLORS["trigger"], label="trigger")
    ax.set(xlabel="response", ylabel="tokens (window: input + reply)",
           title="The window per response (as the panel shows it): a summary bends it down")  # fmt: skip
    ax.legend(fontsize=8)
    plt.show()


# --- 03: the threshold lab -----------------------------------------------------------------------------


def report_figure(reports: Sequence[Report], title: str = "") -> Any:
    """Window and cumulative cost over time per policy, and fact survival (a matplotlib Figure)."""
    fig, (win, cost, surv) = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [3, 3, 2]})
    for i, r in enumerate(reports):
        win.plot(r["minutes_at_response"], r["window_tokens"], label=r["policy"], color=f"C{i}")
        cost.plot(r["minutes_at_response"], r["cumulative_cost_usd"], label=r["policy"], color=f"C{i}")
    win.axhline(reports[0]["trigger_tokens"], ls=":", color="grey", label="trigger")
    win.set(xlabel="minutes of speech", ylabel="window tokens", title="Window per response")
    cost.set(xlabel="minutes of speech", ylabel="USD", title="Cumulative cost")
    bars = surv.bar([r["policy"] for r in reports], [r["fact_survival"] for r in reports],
                    color=[f"C{i}" for i in range(len(reports))])  # fmt: skip
    surv.bar_label(bars, fmt="%.2f")
    surv.set(ylim=(0, 1.1), title="Fact survival")
    win.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_reports(reports: Sequence[Report], title: str = "") -> None:
    from IPython.display import HTML, display

    display(HTML(report_table(reports)))
    display(_png(report_figure(reports, title)))


def report_table(reports: Sequence[Report]) -> str:
    """The policies side by side as a narrow HTML table; cost also as a share of ``auto``, the server's
    default (what a session left alone costs), never of the theoretical keep-everything run."""
    auto = next((r for r in reports if r["policy"] == "auto"), None)
    head = ["policy", "fact survival", "responses", "summaries", "max window", "cost $", "vs auto",
            "no-cache $"]  # fmt: skip
    rows = []
    for r in reports:
        share = f"{r['cost_usd'] / auto['cost_usd']:.0%}" if auto and auto["cost_usd"] else "-"
        cells = [r["policy"], f"{r['fact_survival']:.2f}", r["responses"], r["summaries"],
                 f"{r['max_window_tokens']:,}", f"{r['cost_usd']:.4f}", share,
                 f"{r['cost_uncached_usd']:.4f}"]  # fmt: skip
        rows.append("".join(f"<td>{escape(str(c))}</td>" for c in cells))
    header = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(f"<tr>{row}</tr>" for row in rows)
    return f'<table class="vnb-lab-table"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def print_policy_costs(reports: Sequence[Report], expected: dict[str, Any]) -> None:
    """Measured USD per minute of each replay next to the cost model's steady state (`policy_costs`)."""
    print("measured on the replay (whole call, from an empty window), USD per minute:")
    for r in reports:
        per_min = r["cost_usd"] / r["minutes"]
        print(f"  {r['policy']:<20} ${per_min:.4f}/min   fact survival {r['fact_survival']:.2f}")
    print("the cost model, steady state of a long call (voicenb.economics.policy_costs), USD per minute:")
    for name, cost in expected.items():
        print(f"  {name:<20} ${cost.total:.4f}/min   mean window {cost.mean_window:,.0f} tokens")


class ThresholdLab:
    """Sliders, a conversation picker and a Run button over ``run(conversation, trigger, keep_last)``.

    The button's callback may arrive on another thread (ipykernel subshells); the run hops onto the
    notebook's loop, and the results go into the output widget with ``append_*`` (a ``with out:`` block
    inside a task would print to wherever the kernel's current message points, not into the widget).
    """

    def __init__(
        self,
        conversations: Sequence[str],
        run: Callable[[str, int, int], Awaitable[Sequence[Report]]],
        *,
        conversation: str,
        trigger: int = 2000,
        keep_last: int = 4,
    ) -> None:
        import ipywidgets as W

        from voicenb.widgets.loop import LoopHop

        self._run = run
        self.which = W.Dropdown(options=list(conversations), value=conversation, description="conversation")
        self.trigger = W.IntSlider(value=trigger, min=600, max=8000, step=200, description="trigger",
                                   continuous_update=False)  # fmt: skip
        self.keep_last = W.IntSlider(value=keep_last, min=0, max=12, description="keep last",
                                     continuous_update=False)  # fmt: skip
        self.button = W.Button(description="Run", button_style="primary", icon="play")
        self.button.add_class("vnb-lab-run")
        self.status = W.HTML()
        self.out = W.Output()
        self.results: list[Sequence[Report]] = []
        self.hop = LoopHop(on_error=self._failed)
        self.button.on_click(lambda _b: self.hop("lab-run", self.run))
        self.view = W.VBox([W.HBox([self.which, self.trigger, self.keep_last]),
                            W.HBox([self.button, self.status]), self.out])  # fmt: skip
        self.view.add_class("vnb-lab")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.view._repr_mimebundle_(**kwargs)

    async def run(self) -> Sequence[Report]:
        """Replay the chosen conversation under every policy at the chosen thresholds; show the result."""
        conv, trigger, keep = self.which.value, self.trigger.value, self.keep_last.value
        self.button.disabled, self.button.description = True, "Running…"
        self.status.value = f"replaying {escape(conv)} under every policy (about a minute)…"
        try:
            reports = await self._run(conv, trigger, keep)
        finally:
            self.button.disabled, self.button.description = False, "Run"
        self.results.append(reports)
        title = f"{conv}, trigger {trigger}, keep last {keep}"
        self.out.outputs = ()
        self.out.append_display_data(_html(f"<b>{escape(title)}</b>" + report_table(reports)))
        self.out.append_display_data(_png(report_figure(reports, title)))
        self.status.value = f"done: {escape(title)}"
        return reports

    def _failed(self, name: str, exc: BaseException) -> None:
        self.button.disabled, self.button.description = False, "Run"
        self.status.value = (
            f'<span style="color:var(--jp-error-color1)">⚠ {escape(str(exc) or repr(exc))}</span>'
        )


def _png(fig: Any) -> Any:
    """A figure as a PNG image object (closed afterwards, so it is not shown a second time)."""
    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return Image(buf.getvalue())


def _html(markup: str) -> Any:
    from IPython.display import HTML

    return HTML(markup)


SWEEP_POLICIES = ("summarise", "last-n", "retention", "auto")


def sweep_settings(policy: str, trigger: int, keep_last: int = 4) -> Any:
    """One sweep point. ``summarise`` and ``last-n`` prune at ``trigger`` (everything but ``keep_last``
    turns); ``retention`` (ratio 0.5) and ``auto`` are the server cutting at ``trigger`` tokens, as if the
    model's window were full there."""
    from voicenb.tools.eval import EvalSettings

    if policy in ("retention", "auto"):
        return EvalSettings(policy=policy, truncation_at=trigger, keep_last=keep_last)
    return EvalSettings(policy=policy, trigger_tokens=trigger, keep_last=keep_last)


def model_curve(spec: Any, rates: Any, lo: int, hi: int, keep_last: int = 4) -> list[Any]:
    """The cost model's summarise line (`trigger_sweep`) over the triggers a prune can reach."""
    from voicenb import economics

    grid = [t for t in range(max(lo, 100), hi + 1, 100)
            if economics.floor_target(rates, economics.summary_budget(t), keep_last) < t]  # fmt: skip
    return economics.trigger_sweep(spec, grid, rates, keep_last)


def plot_sweep(triggers: Sequence[int], sweep: dict[str, list[Report]], best: Any, at_best: Report,
               curve: Sequence[Any]) -> None:  # fmt: skip
    """Cost per minute and fact survival against the trigger, per policy, the cost-optimal pair marked."""
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 4.2))
    minutes = at_best["minutes"]
    for i, (policy, reports) in enumerate(sweep.items()):
        a.plot(triggers, [r["cost_usd"] / minutes for r in reports], "o-", color=f"C{i}", label=policy)
        b.plot(triggers, [r["fact_survival"] for r in reports], "o-", color=f"C{i}", label=policy)
    a.plot([p.trigger for p in curve], [p.cost.total for p in curve], ":", color="C0",
           label="summarise, cost model (steady state)")  # fmt: skip
    a.plot([best.trigger], [at_best["cost_usd"] / minutes], "*", ms=16, color="gold", mec="black",
           label=f"cost-optimal {best.trigger:,}/{best.target:,}")  # fmt: skip
    b.plot([best.trigger], [at_best["fact_survival"]], "*", ms=16, color="gold", mec="black")
    a.set(xscale="log", yscale="log", xlabel="trigger (tokens)", ylabel="USD per minute",
          title="Cost vs trigger (cache hits)")  # fmt: skip
    b.set(xscale="log", xlabel="trigger (tokens)", ylabel="fact survival", ylim=(-0.05, 1.05),
          title="Facts kept vs trigger")  # fmt: skip
    a.legend(fontsize=7)
    b.legend(fontsize=7)
    for i, (t, r) in enumerate(zip(triggers, sweep["summarise"], strict=True)):
        c.plot(r["minutes_at_response"], r["window_tokens"], color=plt.cm.viridis(i / len(triggers)),
               label=f"trigger {t:,}")  # fmt: skip
    c.set(xlabel="minutes of speech", ylabel="window tokens", title="Summarise: window over time")
    c.legend(fontsize=7)
    fig.tight_layout()
    plt.show()
