"""The status line widget: redrawn on request (at most every ``interval_s``) and once a second while the
session clock it shows is moving. What it says is `voicenb.widgets.status`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import ipywidgets as w

from .loop import Throttle


class StatusLine:
    """An HTML widget showing ``text()``; ``ticking()`` says whether the clock in it is moving
    (connected or running). Use on the loop's thread."""

    def __init__(
        self, text: Callable[[], str], ticking: Callable[[], bool], loop: asyncio.AbstractEventLoop,
        interval_s: float = 0.25,
    ) -> None:  # fmt: skip
        self.widget = w.HTML()
        self.widget.add_class("vnb-status-line")
        self.text, self.ticking, self.loop = text, ticking, loop
        self.throttle = Throttle(self.render, interval_s, loop)
        self._ticker: asyncio.TimerHandle | None = None

    def render(self) -> None:
        """Redraw now."""
        self.widget.value = self.text()

    def request(self) -> None:
        """Redraw soon: requests within ``interval_s`` merge into one trailing redraw."""
        self.throttle.request()

    def tick(self) -> None:
        """Redraw now, and again each second while ``ticking()`` (the session clock moves)."""
        self.render()
        if self._ticker is not None:
            self._ticker.cancel()
        self._ticker = None
        if self.ticking():
            self._ticker = self.loop.call_later(1.0, self.tick)

    def close(self) -> None:
        """No more redraws but by `render` (the panel's last words)."""
        self.throttle.cancel()
        if self._ticker is not None:
            self._ticker.cancel()
