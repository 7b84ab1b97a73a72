"""The panel's policy controls: a log-scale trigger slider with a typed box, the model's limits beside it,
and a keep-last slider (`PolicyControls`), bound both ways to the session's live policy (`PolicyBinding`):
a move sets the policy, and a policy changed from code shows in them.

A linear slider over 50 … 32,000 tokens puts every demo value (a few hundred) in its first pixels; on a
log scale 100, 1,000 and 10,000 are evenly spaced, and the box takes an exact number.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import ipywidgets as w

from ..policy import SummaryPolicy
from ..session import VoiceSession
from .loop import LoopHop

MIN_TRIGGER = 100  # below this a single spoken sentence is past the trigger
FOLLOW_POLICY_S = 0.5  # how often the sliders look for a policy changed from code


def nice_tokens(value: float) -> int:
    """A slider position as a round number of tokens (two significant digits: 320, 4,700, 21,000)."""
    return int(float(f"{max(value, 1):.2g}"))


def why_no_fold(session: VoiceSession) -> str:
    """Why a window at or past the trigger started no summary, in the user's words."""
    policy, core = session.policy, session.core
    if not session.connected:
        return "the trigger applies once connected (press Start)"
    if session.summarising:
        return "a summary is already running; the next check comes after it"
    if not core.window_fresh:
        return "the window shown is an estimate after the last summary; the next response's figure decides"
    if not session.pruner.backoff.ready(core.clock()):
        return "the last summary failed; the next try waits for its retry time"
    return (
        f"too few turns to fold: the last {policy.keep_last} are kept verbatim (keep last turns) and a "
        f"summary folds at least {max(1, policy.min_turns)} older ones (Summarise now folds one)"
    )


class PolicyControls:
    """Widgets for ``trigger_tokens`` and ``keep_last``; `show` puts a policy's values in them."""

    def __init__(self, policy: SummaryPolicy, top: int, who: str) -> None:
        # ``top``: past the server's truncation point (``who`` truncates) a higher trigger never fires
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
            f'<span class="vnb-dim" title="{who}: the server drops old turns itself past this">'
            f"tokens · {who} truncates at {top:,}</span>"
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


class PolicyBinding:
    """`PolicyControls` bound to ``session.policy`` both ways: a widget move sets the policy (and summarises
    at once if the window is already past the new trigger); a policy changed from code shows in the widgets
    within ``FOLLOW_POLICY_S``. ``refresh_chart`` / ``refresh_status`` ask the panel's views to redraw."""

    def __init__(
        self,
        session: VoiceSession,
        hop: LoopHop,
        refresh_chart: Callable[[], None],
        refresh_status: Callable[[], None],
        say: Callable[[str], None] = lambda note: None,
        window: Callable[[], int] | None = None,
    ) -> None:
        self.session, self.hop = session, hop
        self.refresh_chart, self.refresh_status = refresh_chart, refresh_status
        self.say = say  # a note for the status line
        self.window = window or (lambda: session.window_tokens)  # the window the panel shows
        self.controls = PolicyControls(session.policy, session.truncation_at, session.truncates)
        self.closed = False
        c = self.controls
        # These run on whatever thread delivered the widget message: hop, and do nothing else there.
        c.trigger_slider.observe(lambda ch: hop("trigger", self._slide_trigger, ch["new"]), "value")
        c.trigger_box.observe(lambda ch: hop("trigger", self._type_trigger, ch["new"]), "value")
        c.keep_slider.observe(lambda ch: hop("keep_last", self._slide_keep_last, ch["new"]), "value")
        self._follower: asyncio.TimerHandle | None = None

    def start_following(self) -> None:
        self._follower = self.hop.loop.call_later(FOLLOW_POLICY_S, self.follow)

    def set_trigger(self, tokens: int) -> None:
        """Change the live policy's trigger (within the slider's range); summarise at once if the window is
        already past it, or say why not."""
        self._apply("trigger_tokens", PolicyControls._clamp(tokens, self.controls.top))

    def set_keep_last(self, turns: int) -> None:
        self._apply("keep_last", int(turns))

    def _apply(self, name: str, value: int) -> None:
        if self.closed:
            return
        setattr(self.session.policy, name, value)
        self.controls.show(self.session.policy)
        if name == "trigger_tokens":
            self.refresh_chart()  # it draws the trigger
        # The session checks its policy only after a response; a slider move must not wait for the next one.
        started = self.session.maybe_summarise()
        window = self.window()
        if name == "trigger_tokens" and started is None and window >= value:
            self.say(f"no summary yet at window {window:,}: {why_no_fold(self.session)}")
        self.refresh_status()

    # Widget events equal to what the widgets already show are echoes of `controls.show`, not moves: a
    # queued echo must not write an older value over a policy that code has changed meanwhile.

    def _slide_trigger(self, value: float) -> None:
        # A slider position snaps to a round number; an exact typed value it mirrors is left alone.
        if nice_tokens(value) != nice_tokens(self.controls.shown[0]):
            self.set_trigger(nice_tokens(value))

    def _type_trigger(self, tokens: int) -> None:
        if int(tokens) != self.controls.shown[0]:
            self.set_trigger(tokens)

    def _slide_keep_last(self, turns: int) -> None:
        if int(turns) != self.controls.shown[1]:
            self.set_keep_last(turns)

    def follow(self) -> None:
        """Show a policy changed from code (attributes set, or ``session.policy`` replaced)."""
        if self.controls.changed_elsewhere(self.session.policy):
            self.controls.show(self.session.policy)
            self.refresh_chart()
            self.refresh_status()
        self._follower = self.hop.loop.call_later(FOLLOW_POLICY_S, self.follow)

    def close(self) -> None:
        """Stop following and disable the widgets."""
        self.closed = True
        if self._follower is not None:
            self._follower.cancel()
        for control in (self.controls.trigger_slider, self.controls.trigger_box, self.controls.keep_slider):
            control.disabled = True
