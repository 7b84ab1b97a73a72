"""The live transcript: HTML rendered from the session's conversation log, updated from its events.

Every item ever seen is shown in the order it appeared: user and assistant turns (partial text while it
streams), summary items marked distinctly, and items no longer in the server's window greyed out with the
reason (folded into a summary, or dropped by the server's own truncation); each run of such items is
collapsed under one line that opens on a click, so a long history stays short. Colours come from JupyterLab's
CSS variables, so light and dark themes both read well.
"""

from __future__ import annotations

import asyncio
from html import escape

import ipywidgets as w

from .. import events as ev
from ..session import VoiceSession
from ..state import ConversationState, Item, TranscriptStatus
from .loop import Throttle

CSS = """<style>
.vnb-transcript { display: flex; flex-direction: column-reverse; overflow-y: auto; max-height: 360px;
  font-family: var(--jp-ui-font-family, sans-serif); font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #222); background: var(--jp-layout-color1, transparent);
  border: 1px solid var(--jp-border-color2, #ddd); border-radius: 4px; padding: 4px 8px; }
.vnb-transcript .vnb-item { padding: 3px 6px; margin: 2px 0; border-left: 3px solid transparent;
  white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.35; }
.vnb-transcript .vnb-who { font-weight: 600; margin-right: 6px; color: var(--jp-ui-font-color2, #555); }
.vnb-transcript .vnb-user { border-left-color: var(--jp-brand-color1, #1976d2); }
.vnb-transcript .vnb-assistant { border-left-color: var(--jp-success-color1, #2e7d32); }
.vnb-transcript .vnb-summary { border-left-color: var(--jp-warn-color1, #ef6c00);
  background: var(--jp-layout-color2, rgba(239,108,0,.08)); border-radius: 3px; }
.vnb-transcript .vnb-tool { border-left-color: var(--jp-ui-font-color3, #999);
  font-family: var(--jp-code-font-family, monospace); font-size: 90%; }
.vnb-transcript .vnb-partial .vnb-text::after { content: " ▍"; color: var(--jp-ui-font-color3, #999); }
.vnb-transcript .vnb-partial .vnb-text { font-style: italic; }
.vnb-transcript .vnb-gone { opacity: .5; }
.vnb-transcript .vnb-gone .vnb-text { text-decoration: line-through;
  text-decoration-color: var(--jp-ui-font-color3, #999); }
.vnb-transcript .vnb-tag { font-size: 85%; margin-left: 6px; padding: 0 4px; border-radius: 3px;
  color: var(--jp-ui-font-color2, #555); border: 1px solid var(--jp-border-color2, #ccc); }
.vnb-transcript .vnb-failed .vnb-text { color: var(--jp-error-color1, #c62828); }
.vnb-transcript .vnb-more, .vnb-transcript .vnb-empty { color: var(--jp-ui-font-color3, #888); }
.vnb-transcript .vnb-folded > summary { cursor: pointer; color: var(--jp-ui-font-color2, #666);
  font-size: 90%; padding: 2px 6px; }
</style>"""

WHO = {"user": "You", "assistant": "Assistant", "system": "System"}
TOOL_WHO = {"function_call": "Tool call", "function_call_output": "Tool result"}


def _tags(item: Item) -> list[str]:
    tags = []
    if item.is_summary:
        folds = f"folds {len(item.summarises)} items · " if item.summarises else ""
        tags.append(f"{folds}at the start of the context")
    if item.truncated_at_ms is not None:
        tags.append(f"cut off: heard until {item.truncated_at_ms / 1000:.1f} s")
    if not item.in_window:
        gone = {"summary": "folded into the summary", "server": "dropped by the server"}
        tags.append(gone.get(item.deleted_by or "", "deleted"))
    return tags


def _text(item: Item) -> str:
    if item.status is TranscriptStatus.FAILED:
        return f"[transcription failed: {item.error or 'unknown error'}] (the server keeps the audio)"
    if item.text:
        return item.text
    if item.status is TranscriptStatus.PENDING:
        return "listening…" if item.role == "user" else "…"
    return "(audio)" if item.has_audio else ""


def item_html(item: Item) -> str:
    """One item as an HTML row (text escaped)."""
    classes = ["vnb-item", f"vnb-{item.role}"]
    if item.is_summary:
        classes.append("vnb-summary")
    if item.status is TranscriptStatus.PENDING:
        classes.append("vnb-partial")
    if item.status is TranscriptStatus.FAILED:
        classes.append("vnb-failed")
    if not item.in_window:
        classes.append("vnb-gone")
    who = "Summary" if item.is_summary else TOOL_WHO.get(item.kind) or WHO.get(item.role, item.role)
    tags = "".join(f'<span class="vnb-tag">{escape(t)}</span>' for t in _tags(item))
    text = f'<span class="vnb-text">{escape(_text(item))}</span>'
    return (
        f'<div class="{" ".join(classes)}" data-item-id="{escape(item.id)}">'
        f'<span class="vnb-who">{escape(who)}</span>{text}{tags}</div>'
    )


def transcript_html(state: ConversationState, max_items: int = 300) -> str:
    """The whole log (the newest ``max_items``) as HTML, newest at the bottom."""
    items = sorted(state.log.values(), key=lambda i: i.seq)
    hidden = max(0, len(items) - max_items)
    rows = _fold_gone(items[hidden:])
    if hidden:
        rows.insert(
            0, f'<div class="vnb-more">{hidden} earlier items not shown (all are in session.state.log)</div>'
        )
    if not rows:
        rows = ['<div class="vnb-empty">No conversation yet: press Start and speak.</div>']
    # column-reverse keeps the view scrolled to the newest row; hence the single inner wrapper.
    return f'{CSS}<div class="vnb-transcript"><div>{"".join(rows)}</div></div>'


def _fold_gone(items: list[Item]) -> list[str]:
    """Rows, with each run of items no longer in the window inside one collapsed <details>."""
    rows: list[str] = []
    run: list[Item] = []

    def flush() -> None:
        if run:
            what = "item" if len(run) == 1 else "items"
            rows.append(
                f'<details class="vnb-folded"><summary>{len(run)} earlier {what} no longer in the '
                f"window (folded or dropped): show</summary>{''.join(item_html(i) for i in run)}</details>"
            )
            run.clear()

    for item in items:
        if item.in_window:
            flush()
            rows.append(item_html(item))
        else:
            run.append(item)
    flush()
    return rows


TRANSCRIPT_EVENTS = (
    ev.ItemAdded, ev.TranscriptDelta, ev.TranscriptDone, ev.TranscriptFailed, ev.ItemDeleted,
    ev.ItemTruncated, ev.SummaryFinished, ev.UsageUpdated,
)  # fmt: skip


class TranscriptView:
    """An ``ipywidgets.HTML`` showing ``session``'s transcript, re-rendered (throttled) on its events."""

    def __init__(
        self, session: VoiceSession, loop: asyncio.AbstractEventLoop, interval_s: float = 0.2
    ) -> None:
        self.session = session
        self.widget = w.HTML(transcript_html(session.state), layout=w.Layout(width="100%"))
        self.widget.add_class("voicenb-transcript")
        self.throttle = Throttle(self.render, interval_s, loop)
        self._unsubscribe = session.subscribe(self._on_event)

    def _on_event(self, event: ev.SessionEvent) -> None:
        if isinstance(event, TRANSCRIPT_EVENTS):
            self.throttle.request()

    def render(self) -> None:
        self.widget.value = transcript_html(self.session.state)

    def close(self) -> None:
        self._unsubscribe()
        self.throttle.cancel()
