"""`ControlPanel`: the notebook face of a `VoiceSession`.

Start/stop, the audio source (browser mic, local mic, a WAV file), live sliders for the summary policy,
"summarise now", the live transcript, the token chart and a status line. Every widget callback hops onto
the session's event loop first (see ``loop.py``): with ipykernel 7 they may arrive on a subshell thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .. import events as ev
from ..audio import AudioSource, AudioUnavailable, Cut, LocalAudio
from ..policy import SummaryPolicy
from ..session import VoiceSession
from . import registry
from .bridge import AudioBridge
from .browser_audio import BrowserAudio
from .chart import TokenChart
from .controls import PolicyBinding
from .layout import action_buttons, panel_view
from .loop import LoopHop
from .sources import SourcePicker
from .status import SUMMARY_FAILED, event_words, status_html, summary_note
from .status_line import StatusLine
from .transcript import TranscriptView
from .window import WindowTracker


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class ControlPanel:
    """Widgets bound to a live ``session``; display it as the last expression of a cell.

    ``ControlPanel(session, file="talk.wav")`` preselects nothing but fills the file field. Pass
    ``browser=`` to share one `BrowserAudio` between panels. Without a session the panel makes one (with
    ``policy``) and `close` closes it; a session passed in stays open for its owner.

    One live panel per session and per notebook cell: a newer one (the cell re-run, or a second panel for
    the same session) retires the older panel; a session only the retired panel could reach is closed.
    """

    def __init__(
        self,
        session: VoiceSession | None = None,
        *,
        policy: SummaryPolicy | None = None,
        file: str | Path | None = None,
        browser: BrowserAudio | None = None,
        local: LocalAudio | None = None,
        chart_interval_s: float = 0.5,
        transcript_interval_s: float = 0.2,
    ) -> None:
        self.owns_session = session is None
        session = session or VoiceSession(policy=policy)
        self.session = session
        self.closed = False
        self.hop = LoopHop(on_error=self._on_error)  # the loop running now: the kernel's (or a test's)
        loop = self.hop.loop
        self.browser = browser or BrowserAudio()
        self.sources = SourcePicker(self.hop, self.browser, local, file)
        self.transcript = TranscriptView(session, loop, transcript_interval_s)
        self.window = WindowTracker(session)  # the status line and the chart show the same figures
        self.chart = TokenChart(session, loop, chart_interval_s, window=self.window)
        self.task: asyncio.Task | None = None
        self.bridge: AudioBridge | None = None
        self.truncated: list[Cut] = []  # assistant items cut by barge-in or Stop, as told to the server
        # A session connected before the panel was made published its Connected event already.
        self.connected = session.connected
        self.connected_at: float | None = session.connected_at
        self.note, self.error = "", ""
        self.status_line = StatusLine(self.status_text, lambda: self.connected or self.running, loop)
        self.status = self.status_line.widget
        self._build()
        self._unsubscribe = session.subscribe(self._on_event)
        self._render_status()
        self.binding.start_following()
        for old in registry.claim(self, session, registry.cell_id()):
            old.retire()

    # --- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        self.start_button, self.stop_button, self.summarise_button = action_buttons()
        self.source_select, self.file_path = self.sources.select, self.sources.file_path
        self.binding = PolicyBinding(
            self.session, self.hop, self.chart.throttle.request, self.status_line.request,
            say=self._say, window=lambda: self.window.figures.total,
        )  # fmt: skip
        self.controls = self.binding.controls
        self.trigger_slider, self.trigger_box = self.controls.trigger_slider, self.controls.trigger_box
        self.keep_slider = self.controls.keep_slider
        # These run on whatever thread delivered the widget message: hop, and do nothing else there.
        self.start_button.on_click(lambda _b: self.hop("start", self.start))
        self.stop_button.on_click(lambda _b: self.hop("stop", self.stop))
        self.summarise_button.on_click(lambda _b: self.hop("summarise", self.summarise_now))
        actions = [self.start_button, self.stop_button, self.source_select, self.file_path,
                   self.summarise_button]  # fmt: skip
        self.view = panel_view(actions, self.controls.widget, self.status, self.browser,
                               self.transcript.widget, self.chart.widget)  # fmt: skip

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.view._repr_mimebundle_(**kwargs)

    # --- actions (on the loop) -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self) -> None:
        """Connect if needed and pump the selected source; assistant audio goes to its sink."""
        if self.running or self.closed:
            return
        try:
            source, sink = self.sources.endpoints()
        except AudioUnavailable as exc:  # its message says what is wrong and what to do
            self.error = str(exc)
            self._sync_buttons()
            self.status_line.request()
            return
        self.error, self.note = "", ""
        self.bridge = AudioBridge(self.session, sink, truncated=self.truncated)
        self.task = self.hop.spawn(self._run(source, self.bridge), "run")
        self._sync_buttons()
        self.status_line.tick()  # the session clock moves while running

    async def _run(self, source: AudioSource, bridge: AudioBridge) -> None:
        source_label = self.source_select.label or "the source"
        try:
            if not self.connected:  # first Start, or after the session was closed: (re)connect
                await self.session.connect()
            await self.session.run(source.source())
            self.note = f"{source_label} finished"
        finally:
            if self.bridge is bridge:  # not already closed by Stop
                bridge.close(reset=False)  # let the last reply finish playing
                self.bridge = None
            self._sync_buttons(stopping=True)  # this task is still running here
            self.status_line.request()

    def stop(self) -> None:
        """Stop listening and playing; the connection (and the conversation) stays open.

        A reply cut off by Stop is truncated like a barge-in: the model remembers only what was heard.
        """
        bridge, self.bridge = self.bridge, None
        if bridge is not None:
            bridge.close(reset=False)
            self.hop.spawn(bridge.barge_in(), "stop-playback")
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self._sync_buttons(stopping=True)
        self.status_line.request()

    def summarise_now(self) -> None:
        if not self.connected:
            self.note = "connect first (Start)"
        elif self.session.summarise_now() is None:
            self.note = "nothing to summarise yet"
        self.status_line.request()

    def set_trigger(self, tokens: int) -> None:
        """Change the live policy's trigger; summarise at once if the window is already past it."""
        self.binding.set_trigger(tokens)

    def set_keep_last(self, turns: int) -> None:
        self.binding.set_keep_last(turns)

    def _sync_buttons(self, stopping: bool = False) -> None:
        if self.closed:
            return
        running = self.running and not stopping
        self.start_button.disabled = running
        self.stop_button.disabled = not running
        self.source_select.disabled = running

    # --- session events and status ---------------------------------------------------------------

    def _on_event(self, event: ev.SessionEvent) -> None:
        if isinstance(event, ev.Connected):
            self.connected, self.connected_at = True, self.session.connected_at
        elif isinstance(event, ev.Closed):
            self.connected = False
        note, error = event_words(event)
        if isinstance(event, ev.SummaryFinished):
            note = summary_note(self.window.figures.total, self.session.policy.trigger_tokens)
            if self.error.startswith(SUMMARY_FAILED):
                error = ""  # a later summary worked: the earlier failure is no longer news
        self.note, self.error = self.note if note is None else note, self.error if error is None else error
        if not isinstance(event, ev.AudioDelta | ev.TranscriptDelta):
            self.status_line.request()

    def _say(self, note: str) -> None:
        self.note = note
        self.status_line.request()

    def _on_error(self, name: str, exc: BaseException) -> None:
        self.error = f"{name}: {_describe(exc)}"
        self._sync_buttons()
        self.status_line.request()

    def status_text(self) -> str:
        """The status line as HTML."""
        return status_html(self)

    def _render_status(self) -> None:
        self.status_line.render()

    # --- teardown and diagnostics ----------------------------------------------------------------

    async def close(self) -> None:
        """Stop, detach every view and disable the controls; close the session only if this panel made it."""
        self.stop()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        if self.owns_session:
            await self.session.close()
        self._detach("panel closed")

    def retire(self) -> None:
        """Make way for a newer panel: stop listening and detach; close the session if nothing can reach it
        any more (a re-run cell made a new one)."""
        self.stop()
        self._detach("replaced by a newer panel")
        if not registry.in_use(self.session):
            self.hop.spawn(self.session.close(), "close-replaced")

    def _detach(self, why: str) -> None:
        self.closed = True
        registry.release(self)
        self._unsubscribe()
        self.transcript.close()
        self.chart.close()
        self.window.close()
        self.status_line.close()
        self.binding.close()
        for control in (self.start_button, self.stop_button, self.summarise_button, self.source_select):
            control.disabled = True
        self.note, self.connected = why, self.session.connected
        self._render_status()

    def diagnostics(self) -> dict[str, Any]:
        """Plain data about threads and audio traffic (for tests and bug reports)."""
        return {
            "loop_thread_id": self.hop.loop_thread_id,
            "hops": [asdict(h) for h in self.hop.hops],
            **self.browser.traffic(),
            "connected": self.connected,
            "window_tokens": self.session.window_tokens,
            "summaries": self.session.summaries,
            "chart_points": len(self.chart.bars.x),
            "truncated": [asdict(c) for c in self.truncated],
            "chart_updates": self.chart.throttle.calls,
            "errors": [e.message for e in self.session.errors] + ([self.error] if self.error else []),
        }
