"""The panel's policy controls: a log-scale trigger slider with a typed box, the model's limits beside it,
and a keep-last slider. They show the live policy, also when code changes it (``follow``).

A linear slider over 50 … 32,000 tokens puts every demo value (a few hundred) in its first pixels; on a
log scale 100, 1,000 and 10,000 are evenly spaced, and the box takes an exact number.
"""

from __future__ import annotations

import math

import ipywidgets as w

from ..policy import SummaryPolicy
from ..tokens import ModelSpec

MIN_TRIGGER = 100  # below this a single spoken sentence is past the trigger


def nice_tokens(value: float) -> int:
    """A slider position as a round number of tokens (two significant digits: 320, 4,700, 21,000)."""
    return int(float(f"{max(value, 1):.2g}"))


class PolicyControls:
    """Widgets for ``trigger_tokens`` and ``keep_last``; `show` puts a policy's values in them."""

    def __init__(self, policy: SummaryPolicy, spec: ModelSpec) -> None:
        top = spec.context_window
        trigger = self._clamp(policy.trigger_tokens, top)
        self.trigger_slider = w.FloatLogSlider(
            value=trigger, base=10, min=math.log10(MIN_TRIGGER), max=math.log10(top), step=0.01,
            readout=False, continuous_update=False, description="summary at",
            style={"description_width": "initial"}, layout=w.Layout(width="280px"),
        )  # fmt: skip
        self.trigger_box = w.BoundedIntText(
            value=trigger, min=MIN_TRIGGER, max=top, step=100, layout=w.Layout(width="96px")
        )
        self.limits = w.HTML(
            f'<span class="vnb-dim" title="{spec.name}: the server drops old turns itself past this">'
            f"tokens · {spec.name} truncates at {spec.truncation_at:,} of {top:,}</span>"
        )
        self.keep_slider = w.IntSlider(
            value=policy.keep_last, min=0, max=20, description="keep last turns", continuous_update=False,
            style={"description_width": "initial"}, layout=w.Layout(width="300px"),
        )  # fmt: skip
        self.trigger_slider.add_class("vnb-trigger")
        self.trigger_box.add_class("vnb-trigger-box")
        self.keep_slider.add_class("vnb-keep")
        self.top = top
        self.shown = (policy.trigger_tokens, policy.keep_last)
        trigger_row = w.HBox(
            [self.trigger_slider, self.trigger_box, self.limits], layout=w.Layout(align_items="center")
        )
        self.widget = w.HBox(
            [trigger_row, self.keep_slider], layout=w.Layout(flex_flow="row wrap", align_items="center")
        )

    @staticmethod
    def _clamp(tokens: int, top: int) -> int:
        return min(max(int(tokens), MIN_TRIGGER), top)

    def show(self, policy: SummaryPolicy) -> None:
        """Put ``policy``'s values in the widgets (call on the loop; observers see them as no-op moves)."""
        self.shown = (policy.trigger_tokens, policy.keep_last)
        trigger = self._clamp(policy.trigger_tokens, self.top)
        if nice_tokens(self.trigger_slider.value) != nice_tokens(trigger):
            self.trigger_slider.value = trigger
        self.trigger_box.value = trigger
        self.keep_slider.value = min(max(policy.keep_last, 0), self.keep_slider.max)

    def changed_elsewhere(self, policy: SummaryPolicy) -> bool:
        """The policy differs from what the widgets last showed: code changed it, not a widget."""
        return (policy.trigger_tokens, policy.keep_last) != self.shown
