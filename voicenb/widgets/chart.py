"""The token chart (bqplot): the context window of every response, split into text / audio / cached,
with the summary trigger, the server's own truncation point, summary markers and the cumulative cost.

bqplot sends arrays as binary buffers and its state is plain traitlets (readable in tests). Updates are
throttled (at most ``interval_s`` apart), whatever the event rate.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

import ipywidgets as w
from bqplot.axes import Axis
from bqplot.figure import Figure
from bqplot.marks import Bars, Lines, Scatter
from bqscales import LinearScale, OrdinalScale

from .. import economics
from .. import events as ev
from ..session import VoiceSession
from ..tokens import ModelSpec, TokenLedger, Usage
from .loop import Throttle
from .window import WindowTracker

MAX_BARS = 40  # the chart shows the latest responses only: 3 shapes each, bounded however long the call
MAX_TICKS = 8  # x labels; more smear into one dark bar at the panel's width

COLORS = {"text": "#4e79a7", "audio": "#59a14f", "cached": "#9c9c9c", "trigger": "#f28e2b",
          "truncation": "#e15759", "summary": "#f28e2b", "cost": "#b07aa1"}  # fmt: skip


def _swatch(color: str, label: str, shape: str = "block") -> str:
    style = {"block": f"background:{color}; width:10px; height:10px",
             "dash": f"border-top:2px dashed {color}; width:16px; height:0",
             "diamond": f"background:{color}; width:8px; height:8px; transform:rotate(45deg)",
             "line": f"border-top:2px solid {color}; width:16px; height:0"}[shape]  # fmt: skip
    return (f'<span style="display:inline-flex; align-items:center; gap:4px; margin-right:12px">'
            f'<span style="display:inline-block; {style}"></span>{label}</span>')  # fmt: skip


def legend_html(trigger: int, truncation: int) -> str:
    """The legend under the plot; it carries the two limits' figures, so the title stays short."""
    return (
        '<div style="font-size:var(--jp-ui-font-size0, 11px); color:var(--jp-ui-font-color1, #333);'
        ' padding-left:60px">'
        + _swatch(COLORS["text"], "text")
        + _swatch(COLORS["audio"], "audio")
        + _swatch(COLORS["cached"], "cached")
        + _swatch(COLORS["trigger"], f"summary trigger {trigger:,}", "dash")
        + _swatch(COLORS["truncation"], f"server truncation {truncation:,}", "dash")
        + _swatch(COLORS["summary"], "summary", "diamond")
        + _swatch(COLORS["cost"], "cumulative cost (right axis)", "line")
        + "</div>"
    )


def window_split(u: Usage, spec: ModelSpec | None = None) -> tuple[int, int, int]:
    """(text, audio, cached) tokens of one response's window (`economics.window_breakdown`, the one
    definition every view uses), cached taken out of each modality: disjoint, they add up to its total."""
    figures = economics.window_breakdown(u, spec)
    cached_text, cached_audio = u.cached_split
    return figures.text - cached_text, figures.audio - cached_audio, figures.cached


@dataclass
class ChartData:
    """What the chart shows; one entry per completed response (cancelled/empty ones never move the window)."""

    x: list[int] = field(default_factory=list)
    text: list[int] = field(default_factory=list)
    audio: list[int] = field(default_factory=list)
    cached: list[int] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)

    @classmethod
    def from_ledger(cls, ledger: TokenLedger) -> ChartData:
        data = cls()
        for record in ledger.window_records():
            text, audio, cached = window_split(record.usage, ledger.spec)
            data.x.append(len(data.x) + 1)
            data.text.append(text)
            data.audio.append(audio)
            data.cached.append(cached)
            data.cost.append(record.cumulative_cost_usd)
        return data

    def tail(self, n: int) -> ChartData:
        """The latest ``n`` responses."""
        return ChartData(self.x[-n:], self.text[-n:], self.audio[-n:], self.cached[-n:], self.cost[-n:])

    @property
    def windows(self) -> list[int]:
        return [a + b + c for a, b, c in zip(self.text, self.audio, self.cached, strict=True)]


class TokenChart:
    """A bqplot figure bound to ``session``'s ledger and policy."""

    def __init__(
        self,
        session: VoiceSession,
        loop: asyncio.AbstractEventLoop,
        interval_s: float = 0.5,
        window: WindowTracker | None = None,
    ) -> None:
        self.session = session
        self._owns_window = window is None
        self.window = window or WindowTracker(session)  # subscribed before this chart: updated first
        # (response that triggered it, its window); older ones are off the chart anyway
        self.summary_marks: deque[tuple[int, int]] = deque(maxlen=MAX_BARS)
        self._build()
        self.throttle = Throttle(self.update, interval_s, loop)
        self._unsubscribe = session.subscribe(self._on_event)
        self.update()

    def _build(self) -> None:
        # Bars need an ordinal x (on a linear one bqplot spreads them between the first and last x);
        # the limit lines get their own 0..1 x so they always span the whole plot.
        self.x_scale = OrdinalScale()
        self.y_scale = LinearScale(min=0.0, max=1.0)
        self.cost_scale = LinearScale(min=0.0)
        xy = {"x": self.x_scale, "y": self.y_scale}
        span = {"x": LinearScale(min=0.0, max=1.0), "y": self.y_scale}
        self.bars = Bars(
            x=[], y=[[], [], []], type="stacked", scales=xy, padding=0.25,
            labels=["text", "audio", "cached"], colors=[COLORS["text"], COLORS["audio"], COLORS["cached"]],
        )  # fmt: skip
        self.trigger = self._hline("summary trigger", COLORS["trigger"], span)
        self.truncation = self._hline("server truncation", COLORS["truncation"], span)
        self.summaries = Scatter(
            x=[], y=[], scales=xy, marker="diamond", colors=[COLORS["summary"]], default_size=90,
            labels=["summary"],
        )  # fmt: skip
        self.cost = Lines(
            x=[], y=[], scales={"x": self.x_scale, "y": self.cost_scale}, colors=[COLORS["cost"]],
            marker="circle", marker_size=16, labels=["cumulative cost"],
        )  # fmt: skip
        # On an ordinal axis bqplot labels the whole domain whatever tick_values say; num_ticks thins it.
        self.x_axis = Axis(scale=self.x_scale, label="response", num_ticks=MAX_TICKS)
        axes = [
            self.x_axis,
            Axis(scale=self.y_scale, side="left", label="tokens in window", tick_format="~s"),
            Axis(scale=self.cost_scale, side="right", label="cost", tick_format="$.3f", label_offset="58px"),
        ]
        self.figure = Figure(
            marks=[self.bars, self.trigger, self.truncation, self.summaries, self.cost], axes=axes,
            animation_duration=0, fig_margin={"top": 40, "bottom": 40, "left": 60,
            "right": 80}, layout=w.Layout(width="100%", height="320px"), title_style={"font-size": "13px"},
        )  # fmt: skip
        self.figure.add_class("voicenb-chart")
        # An HTML legend under the plot: bqplot's in-plot legend covers the lines near the top.
        self.legend = w.HTML(legend_html(0, 0))
        self.widget = w.VBox([self.figure, self.legend], layout=w.Layout(width="100%"))

    @staticmethod
    def _hline(label: str, color: str, scales: dict) -> Lines:
        return Lines(
            x=[0.0, 1.0], y=[0, 0], scales=scales, colors=[color], line_style="dashed", stroke_width=2,
            labels=[label],
        )  # fmt: skip

    def _on_event(self, event: ev.SessionEvent) -> None:
        if isinstance(event, ev.SummaryFinished):
            responses = len(ChartData.from_ledger(self.session.ledger).x)
            # Marked at the window that was summarised; the title shows the estimate after it.
            summarised = economics.window_breakdown(self.session.ledger).total
            self.summary_marks.append((max(responses, 1), summarised))
        if isinstance(event, ev.UsageUpdated | ev.SummaryFinished):
            self.throttle.request()

    def update(self) -> None:
        """Push the ledger's current series to the figure (throttled callers use ``throttle.request()``)."""
        every = ChartData.from_ledger(self.session.ledger)
        data = every.tail(MAX_BARS)
        limit, trigger = self.session.truncation_at, self.session.policy.trigger_tokens
        self.y_scale.max = 1.15 * max([*data.windows, trigger, 100])
        with self.bars.hold_sync():
            self.bars.x = data.x
            self.bars.y = [data.text, data.audio, data.cached]
        for line, y in ((self.trigger, trigger), (self.truncation, limit)):
            line.y = [y, y]
        shown = [(x, y) for x, y in self.summary_marks if data.x and x >= data.x[0]]
        with self.summaries.hold_sync():
            self.summaries.x = [x for x, _ in shown]
            self.summaries.y = [y for _, y in shown]
        with self.cost.hold_sync():
            self.cost.x, self.cost.y = data.x, data.cost
        legend = legend_html(trigger, limit)
        if self.legend.value != legend:
            self.legend.value = legend
        window = self.window.figures
        figure = f"≈{window.total:,} tok (estimated)" if window.estimated else f"{window.total:,} tok"
        cost = self.session.ledger.cumulative_cost_usd  # cancelled responses cost too
        n = len(every.x)
        count = f"last {len(data.x)} of {n:,} responses" if n > len(data.x) else f"{n:,} responses"
        self.figure.title = f"window {figure} · {count} · ${cost:.4f}"

    def close(self) -> None:
        self._unsubscribe()
        self.throttle.cancel()
        if self._owns_window:
            self.window.close()
