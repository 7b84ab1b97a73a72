"""What no memory entry holds: values the user stated, kept as notes, and the sentences that fill the
room the entries leave. Pure, no I/O.

A small model under a schema writes fewer facts than were said; after each fold `unplaced_spans` finds the
numbers, dates, names ... the fold's entries left out, and `notes_for` cuts the words around each one
from its sentence, so `voicenb.memory.FactMemory.keep_unplaced` can keep them as notes;
`spare_sentences` picks the statements that add the most words the memory lacks, for
`voicenb.memory.FactMemory.fill`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .facts import SENTENCE, Span, known_names, spans, unstamped, values_in
from .tokens import count_text_tokens

Turn = tuple[str, str]

# What the assistant says that the caller relies on later: the day and time it booked, the price it
# quoted, the reference it gave (its other numbers and names are mostly chatter).
ASSISTANT_GIVES = frozenset({"amount", "time", "date", "code"})
NOTE_WORDS_BEFORE, NOTE_WORDS_AFTER = 10, 6  # enough to keep "does not want ... X" with its X
CONTENT = re.compile(r"\w{5,}")  # a content word, in any language, near enough
SPARE_MIN_NEW_WORDS = 2  # a sentence that adds fewer is chit-chat ("Wow Nate!")


def unplaced_spans(held_text: str, turns: Sequence[Turn], language: str) -> list[Span]:
    """The values the user stated in ``turns``, and the amounts, dates, times and codes the assistant
    gave, that ``held_text`` (every entry, current or replaced) does not hold; one span per value, its
    turn an index into ``turns``."""
    held = values_in(held_text, language)
    names = known_names(" ".join(t for _, t in turns), language)
    missing: dict[str, Span] = {}
    for n, (role, text) in enumerate(turns):
        if role not in ("user", "assistant"):
            continue
        for span in spans(unstamped(text), language, n, names):  # a session's stamp is its clock
            given = role == "user" or span.kind in ASSISTANT_GIVES  # a booking, a price, a reference
            if given and span.value not in held and span.value not in missing:
                missing[span.value] = span
    return list(missing.values())


def sentence_of(span: Span, turns: Sequence[Turn], language: str) -> tuple[int, str] | None:
    """(index, text) of the first sentence of the span's turn that states its value, or None."""
    for n, sentence in enumerate(SENTENCE.split(unstamped(turns[span.turn][1]))):
        if span.value in values_in(sentence, language):
            return n, sentence
    return None


def notes_for(missing: Sequence[Span], turns: Sequence[Turn], language: str) -> list[tuple[int, str]]:
    """(turn, words) for ``missing`` values: per sentence that states them, one note from ten words
    before its first value to six after its last (the whole sentence when that is short)."""
    windows: dict[tuple[int, int], tuple[int, int, list[str]]] = {}
    for span in missing:
        if (found := sentence_of(span, turns, language)) is None:
            continue
        at, words = found[0], found[1].split()
        end = next(
            (i for i in range(len(words)) if span.value in values_in(" ".join(words[: i + 1]), language)),
            len(words) - 1,
        )
        lo, hi = max(0, end - NOTE_WORDS_BEFORE), end + 1 + NOTE_WORDS_AFTER
        if (span.turn, at) in windows:
            lo, hi = min(lo, windows[span.turn, at][0]), max(hi, windows[span.turn, at][1])
        windows[span.turn, at] = (lo, hi, words)
    return [
        (turn, " ".join(words if len(words) <= NOTE_WORDS_BEFORE + NOTE_WORDS_AFTER else words[lo:hi]))
        for (turn, _), (lo, hi, words) in windows.items()
    ]


def spare_sentences(held_text: str, turns: Sequence[Turn], budget_tokens: int) -> list[tuple[int, str]]:
    """(turn, "Role: sentence") for the statements of ``turns`` that add the most words the memory
    lacks, within ``budget_tokens``, in conversation order: room the entries left is filled with what
    was said rather than left empty (a fold of many turns of chit-chat yields few entries, and its
    facts are descriptions, not values). No word list: a word of five letters or more is content."""
    known = set(CONTENT.findall(held_text.lower()))
    candidates = [
        (n, f"{role.capitalize()}: {sentence}", set(CONTENT.findall(sentence.lower())))
        for n, (role, text) in enumerate(turns)
        if role in ("user", "assistant")
        for sentence in SENTENCE.split(unstamped(text))
        if not sentence.rstrip().endswith("?")  # a question states nothing yet
    ]
    chosen: list[tuple[int, str]] = []
    for n, line, words in sorted(candidates, key=lambda c: -len(c[2] - known)):
        cost = count_text_tokens(line) + 2  # "- " and its newline
        if len(words - known) >= SPARE_MIN_NEW_WORDS and cost <= budget_tokens:
            chosen.append((n, line))
            known |= words
            budget_tokens -= cost
    return sorted(chosen)
