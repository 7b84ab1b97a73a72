"""The window the panel shows (chart title, summary markers, status line), from `voicenb.economics`.

After each response it is `window_breakdown(session.ledger)`; right after a summary, until the next
response, it is `estimated_window_after_summary` (the deleted items out, the summary in), marked
estimated: the server only says the real figure in its next ``response.done``.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import economics
from .. import events as ev
from ..session import VoiceSession
from ..tokens import count_text_tokens


class WindowTracker:
    """Keeps ``figures`` (a `WindowFigures`) current from ``session``'s events."""

    def __init__(self, session: VoiceSession) -> None:
        self.session = session
        self.figures = economics.window_breakdown(session.ledger)
        self._unsubscribe: Callable[[], None] = session.subscribe(self._on_event)

    def _on_event(self, event: ev.SessionEvent) -> None:
        if isinstance(event, ev.UsageUpdated):
            self.figures = economics.window_breakdown(self.session.ledger)
        elif isinstance(event, ev.SummaryFinished):
            self.figures = self.after_summary(event)

    def after_summary(self, event: ev.SummaryFinished) -> economics.WindowFigures:
        """The estimate after ``event``. A second summary before the next response starts from the
        first one's estimate, not from the ledger's (already outdated) figure."""
        log = self.session.state.log
        deleted = [log[i] for i in event.deleted_ids if i in log]
        before = self.figures if self.figures.estimated else self.session.ledger
        return economics.estimated_window_after_summary(
            before, count_text_tokens(event.text), deleted, self.session.ledger.spec
        )

    def close(self) -> None:
        self._unsubscribe()
