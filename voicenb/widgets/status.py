"""The panel's status line: connection, backend, session age against the cap, window vs trigger, summaries,
cost, what is listening, and the latest note or error, in plain words."""

from __future__ import annotations

import time
from html import escape
from typing import Any

from .. import events as ev
from ..economics import WindowFigures

SESSION_CAP_S = 60 * 60  # GA realtime sessions end after 60 minutes
SUMMARY_FAILED = "summary failed"  # how the status line's error starts after a failed summary

STATUS_CSS = """<style>
.vnb-status { font-family: var(--jp-ui-font-family, sans-serif); font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #222); line-height: 1.5; }
.vnb-status .vnb-on { color: var(--jp-success-color1, #2e7d32); font-weight: 600; }
.vnb-status .vnb-off { color: var(--jp-ui-font-color2, #666); font-weight: 600; }
.vnb-status .vnb-warn { color: var(--jp-warn-color1, #ef6c00); }
.vnb-status .vnb-err { color: var(--jp-error-color1, #c62828); }
.vnb-status .vnb-dim { color: var(--jp-ui-font-color2, #666); }
</style>"""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def window_text(figures: WindowFigures, trigger: int) -> str:
    """``window 1,234 / trigger 2,000 tok``; ``≈`` and "estimated" between a summary and the next response.
    Hovering shows the parts (`WindowFigures.describe`)."""
    mark = "≈" if figures.estimated else ""
    note = ' <span class="vnb-dim">(estimated until the next response)</span>' if figures.estimated else ""
    return (
        f'<span class="vnb-window" title="{escape(figures.describe())}">'
        f"window {mark}{figures.total:,} / trigger {trigger:,} tok</span>{note}"
    )


def event_words(event: ev.SessionEvent) -> tuple[str | None, str | None]:
    """(note, error) the status line shows after ``event``; None leaves that part as it was."""
    if isinstance(event, ev.Closed):
        return f"connection closed: {event.reason}", None
    if isinstance(event, ev.HandoffStarted):
        return f"handing off to a fresh session ({event.reason})…", None
    if isinstance(event, ev.HandoffFinished):
        return f"handed off ({event.reason}); the summary and the last turns were carried over", None
    if isinstance(event, ev.Error):
        return None, event.message
    if isinstance(event, ev.HandoffFailed):
        return None, f"handoff failed after {event.attempts} attempts: {event.error}"
    if isinstance(event, ev.TurnsDropped):
        return (
            f"summaries fell behind: {len(event.item_ids)} items left the window at "
            f"{event.window_tokens:,} tokens (the full log keeps them; the next summary folds them)",
            None,
        )
    if isinstance(event, ev.SummaryFailed):
        return None, f"{SUMMARY_FAILED}: {event.error} (retry in {event.retry_in_s:.0f} s)"
    return None, None


def summary_note(after: int, trigger: int) -> str | None:
    """A trigger the summary itself cannot get under re-summarises after every reply: say so (``after``:
    the window the summary left)."""
    if after < trigger:
        return None
    return (
        f"after this summary the window is still ≈{after:,}, not under the trigger {trigger:,}: "
        f"every reply will summarise again; set the trigger above {after:,}"
    )


def status_html(panel: Any) -> str:
    """The status line of ``panel`` (a `ControlPanel`) as HTML."""
    s = panel.session
    parts = []
    if panel.connected:
        parts.append('<span class="vnb-on">● connected</span>')
    else:
        parts.append(
            '<span class="vnb-off">○ not connected</span> <span class="vnb-dim">(press Start)</span>'
        )
    engines = {"offline": "offline engine", "openai": "OpenAI"}
    engine = engines.get(s.backend.kind, "realtime server")
    # The URL the session uses; the offline engine has none until Start picks its loopback port.
    where = s.url or ("on this machine, 127.0.0.1 (starts with Start)" if s.is_offline else "")
    url = f' <span class="vnb-dim">{escape(where)}</span>' if where else ""
    parts.append(f"{engine} · {escape(s.config.model)}{url}")
    if panel.connected_at is not None:
        age = time.monotonic() - panel.connected_at  # restarts with each handoff's fresh session
        cls = "vnb-warn" if age > SESSION_CAP_S - 5 * 60 else "vnb-dim"
        age_text = f'session <span class="{cls}">{_clock(age)} / {_clock(SESSION_CAP_S)} cap</span>'
        if s.handoff_policy.after_s:
            age_text += f' <span class="vnb-dim">(hand-off at {_clock(s.handoff_policy.after_s)})</span>'
        parts.append(age_text)
    parts.append(window_text(panel.window.figures, s.policy.trigger_tokens))
    parts.append(_plural(s.summaries, "summary") + (" · summarising…" if s.summarising else ""))
    if s.handoffs:
        parts.append(_plural(s.handoffs, "handoff"))
    parts.append(f"${s.ledger.cumulative_cost_usd:.4f}")
    if panel.running:
        parts.append(f"listening ({escape(panel.source_select.label or '')})")
    line = " · ".join(parts)
    if panel.note:
        line += f' <span class="vnb-dim">— {escape(panel.note)}</span>'
    if panel.error:
        line += f'<br><span class="vnb-err">⚠ {escape(panel.error)}</span>'
    return f'{STATUS_CSS}<div class="vnb-status">{line}</div>'
