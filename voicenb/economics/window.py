"""The window: what the next response re-reads, the last completed response's input plus its output
(the reply joins the conversation). `window_breakdown` is the one function every view calls for it --
the panel's chart and status, notebook 02's chart, the demo's printed line -- so the parts always add
up: ``text + audio == total`` and ``cached + fresh + output == total``. Right after a summary,
`estimated_window_after_summary` gives the figure until the next ``response.done`` (deleted items out,
summary in), marked ``estimated``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..audio import spoken_seconds
from ..tokens import (
    ASSISTANT_AUDIO_TOKENS_PER_S,
    USER_AUDIO_TOKENS_PER_S,
    ModelSpec,
    TokenLedger,
    Usage,
    count_text_tokens,
)

M = 1_000_000  # prices are per 1M tokens


@dataclass(frozen=True)
class WindowFigures:
    """What the next response re-reads, split two ways that each add up to ``total``:
    by modality (``text + audio``) and by billing (``cached + fresh + output``).

    ``reread_cached_usd`` / ``reread_fresh_usd``: what re-reading this window costs on the next
    response if it all hits the cache / after a cache bust. ``estimated``: a local estimate (after a
    summary) until the next ``response.done`` reports the server's figure.
    """

    total: int = 0
    text: int = 0
    audio: int = 0
    cached: int = 0
    fresh: int = 0
    output: int = 0
    estimated: bool = False
    reread_cached_usd: float = 0.0
    reread_fresh_usd: float = 0.0

    def describe(self) -> str:
        """One line for status bars and the demo, e.g. ``window: 184 tokens (text 15 + audio 169; ...)``."""
        mark = "≈" if self.estimated else ""
        head = f"window: {mark}{self.total:,} tokens (text {self.text:,} + audio {self.audio:,}"
        if self.estimated:
            return head + ", estimated until the next response)"
        return head + f"; cached {self.cached:,} + fresh {self.fresh:,} + reply {self.output:,})"


def _reread_costs(text: int, audio: int, spec: ModelSpec | None) -> tuple[float, float]:
    if spec is None:
        return 0.0, 0.0
    cached = (text * spec.text_cached + audio * spec.audio_cached) / M
    fresh = (text * spec.text_in + audio * spec.audio_in) / M
    return cached, fresh


def last_window_usage(ledger: TokenLedger) -> Usage:
    """Usage of the last completed, non-empty response: the one that defines the window (a cancelled
    or empty response says nothing about what the server retains)."""
    for record in reversed(ledger.records):
        if record.moves_window:
            return record.usage
    return Usage()


def window_breakdown(source: TokenLedger | Usage, spec: ModelSpec | None = None) -> WindowFigures:
    """The window's figures from a ledger (its last completed response) or one response's usage.
    ``spec`` (default: the ledger's) prices the re-read; without one the costs are 0."""
    if isinstance(source, TokenLedger):
        spec = spec or source.spec
        usage = last_window_usage(source)
    else:
        usage = source
    # Totals win over details that miss a part (image tokens, a usage without details): the rest is text.
    input_total, output, total = usage.window_input, usage.window_output, usage.window_tokens
    audio = usage.input_audio + usage.output_audio
    text = total - audio
    cached = min(usage.input_cached, input_total)
    cached_usd, fresh_usd = _reread_costs(text, audio, spec)
    return WindowFigures(
        total, text, audio, cached, total - cached - output, output, False, cached_usd, fresh_usd
    )


def window_series(ledger: TokenLedger) -> list[WindowFigures]:
    """The window after every response that moved it (`TokenLedger.window_records`): what the panel's
    chart, the notebooks and the eval's plots draw."""
    return [window_breakdown(r.usage, ledger.spec) for r in ledger.window_records()]


def item_tokens(item: Any) -> tuple[int, int]:
    """(text, audio) tokens one conversation item adds to the window (a `voicenb.state.Item`).

    Audio is billed as audio only (its transcript is not billed again); its length is the measured
    ``audio_s`` or, before that is known, the time its words take to say."""
    if getattr(item, "has_audio", False):
        seconds = item.audio_s or spoken_seconds(item.text or "")
        rate = ASSISTANT_AUDIO_TOKENS_PER_S if item.role == "assistant" else USER_AUDIO_TOKENS_PER_S
        return 0, int(seconds * rate)
    return count_text_tokens(item.text or ""), 0


def estimated_window_after_summary(
    before: TokenLedger | WindowFigures,
    summary_tokens: int,
    deleted_items: Iterable[Any],
    spec: ModelSpec | None = None,
) -> WindowFigures:
    """The window right after a summary landed: the deleted items out, the summary (text) in.

    Marked ``estimated``; the next ``response.done`` replaces it. Nothing of it is cached yet (the
    summary sits at the root, so the next response reads everything after the instructions fresh)."""
    if isinstance(before, TokenLedger):
        spec = spec or before.spec
        before = window_breakdown(before)
    text, audio = before.text + summary_tokens, before.audio
    for item in deleted_items:
        t, a = item_tokens(item)
        text, audio = text - t, audio - a
    text, audio = max(text, 0), max(audio, 0)
    cached_usd, fresh_usd = _reread_costs(text, audio, spec)
    total = text + audio
    return WindowFigures(total, text, audio, 0, total, 0, True, cached_usd, fresh_usd)
