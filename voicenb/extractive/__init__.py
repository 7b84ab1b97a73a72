"""Extractive rolling summary for spoken service and planning calls: no model, no network, pure.

The facts such calls turn on are names, numbers and codes, dates and times, places, decisions,
preferences and corrections. In data-flow order:

- `reading`   -- each sentence becomes a `Note` with its hard facts and its cues (`make_note`);
- `choosing`  -- the notes worth keeping, superseded values marked, the least worth per token dropped
  until the summary fits its budget (`extract`, `mark_superseded`, `fit`);
- `rendering` -- the summary's text and back (`render`, `parse_summary`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..tokens import count_text_tokens
from .choosing import extract, fit, mark_superseded, shorten, worth_keeping
from .reading import Note, Reader, clean, content_words, fact_weight, hard_facts, make_note, reader, sentences
from .rendering import AGREED, HEADER, LINE_TOKENS, parse_summary, render

__all__ = [
    "AGREED",
    "HEADER",
    "LINE_TOKENS",
    "Note",
    "Reader",
    "clean",
    "content_words",
    "extract",
    "fact_weight",
    "fit",
    "hard_facts",
    "make_note",
    "mark_superseded",
    "parse_summary",
    "reader",
    "render",
    "sentences",
    "shorten",
    "summarise",
    "worth_keeping",
]


def summarise(
    turns: Sequence[tuple[str, str]], previous: str | None, budget_tokens: int, language: str = "en"
) -> str:
    """Fold ``turns`` into the ``previous`` summary; the result fits ``budget_tokens`` (o200k)."""
    how = reader([previous or "", *(t for _, t in turns)], language)
    notes = parse_summary(previous, how)
    notes += extract(turns, notes, how)
    mark_superseded(notes, how)
    notes = fit(notes, budget_tokens, how)
    text = render(notes)
    while count_text_tokens(text) > budget_tokens and notes:  # the estimate was short: trim the oldest
        notes = notes[1:]
        text = render(notes)
    return text
