"""Choosing notes: a note is kept when it adds a fact or carries a cue; fillers, thanks and the
assistant's questions go. When the summary would exceed its budget, long notes are first cut to the
clauses that carry something, then the notes worth least per token are dropped: a fact that another note
repeats is worth nothing, and a value a later correction replaced ("actually, move it to 7:30") is worth
nothing either, so superseded values are the first to go and current ones stay.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from ..tokens import count_text_tokens
from .reading import _PERSONAL, _STRONG_CUE, _WORD, Note, fact_type, make_note, sentences
from .rendering import HEADER, LINE_TOKENS

_CORRECTION_CUE = re.compile(
    r"\b(?:actually|instead|chang\w*|switch\w*|mov(?:e|ed|ing)|forget|cancel\w*|different|no longer|"
    r"anymore|make it|rather|en vez de|cambi\w*|mejor|en realidad)\b",
    re.IGNORECASE,
)
# The user taking what the assistant just offered: "Yes please." "Perfect." "Book that one."
_AGREE = re.compile(
    r"^\W*(?:\w+\W+){0,2}?(?:yes|yep|perfect|that works|sí|vale|perfecto|de acuerdo)\b|"
    r"\b(?:let's (?:do|go|book|pencil|take)|book (?:that|it|them)|go (?:for|with) (?:that|it)|"
    r"pencil (?:that|it) in|take (?:that|it)|do that)\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r",\s+|;\s+|\s+(?:but|so|because|which|though|although|while|pero|porque)\s+")


def worth_keeping(note: Note, known: set[str]) -> bool:
    """A new sentence is kept if it adds a fact or carries a cue; questions and thanks only if factual."""
    new = note.facts - known
    if note.text.endswith("?"):
        # Questions ask for facts; the assistant's never state one, the user's rarely ("Can we do Monday?").
        return note.role != "assistant" and bool(new or note.strong)
    words = len(_WORD.findall(note.text))
    if new:
        return True
    if note.role == "assistant":
        # It restates what the user said, or small talk; unless it confirms a change ("moved to the 19th").
        return bool(note.facts) and bool(_CORRECTION_CUE.search(note.text))
    return words > 3 and (note.strong or note.weak)


def extract(turns: Sequence[tuple[str, str]], earlier: list[Note], lower_vocab: set[str]) -> list[Note]:
    """Notes worth keeping from ``turns``, after the ``earlier`` notes (of the previous summary)."""
    known = set().union(*(n.facts for n in earlier)) if earlier else set()
    notes: list[Note] = []
    for n, (role, text) in enumerate(turns):
        if role == "user" and _AGREE.search(text):
            # What the assistant offered just before: in this batch, or the last line of the summary.
            before = [x for x in (notes or earlier[-1:]) if x.turn == (n - 1 if notes else earlier[-1].turn)]
            for note in before:
                note.agreed = note.agreed or note.role == "assistant"
        generic = role == "assistant" and not _PERSONAL.search(text)
        for sentence in sentences(text):
            note = make_note(role, sentence, n, lower_vocab)
            note.generic = generic
            if worth_keeping(note, known):
                notes.append(note)
                known |= note.facts
    return notes


def mark_superseded(notes: list[Note]) -> None:
    """A corrected value loses its worth: a later note that changes something (a correction cue in it or
    in the turn before) and states a value of the same type on the same topic supersedes the old one."""
    for i, note in enumerate(notes):
        context = [n for n in notes[max(0, i - 3) : i + 1] if n.turn >= note.turn - 1]
        if not any(_CORRECTION_CUE.search(n.text) for n in context):
            continue
        types = {fact_type(f) for f in note.facts} - {"name"}
        topic = set().union(*(n.topic for n in context))
        for old in notes[:i]:
            if old.turn >= note.turn - 1 or not old.topic & topic:
                continue
            replaced = {f for f in old.facts - note.facts if fact_type(f) in types}
            old.superseded |= replaced
            note.corrects = note.corrects or bool(replaced)


def _value(note: Note, counts: Counter[str]) -> float:
    """Unique facts count in full, facts another note repeats a fifth; superseded ones not at all."""
    live = note.facts - note.superseded
    facts = sum(note.weights[f] * (1.0 if counts[f] == 1 else 0.2) for f in live)
    # A correction must outlive what it corrects, or the old value would read as current.
    value = facts + 2 * note.strong + 1 * note.weak + 3 * note.corrects + 2 * note.agreed
    # General information (the weather, a museum) and questions matter less than what was settled.
    return value * (0.5 if note.generic else 1.0) * (0.5 if note.text.endswith("?") else 1.0)


def shorten(note: Note, lower_vocab: set[str]) -> Note:
    """Keep only the clauses that carry a fact or a cue (the whole note if none or all do); a clause
    of a word or two keeps the one before it ("my mother-in-law, Lourdes")."""
    clauses = [c for c in _CLAUSE.split(note.text.rstrip(".!")) if c]
    if len(clauses) < 2:
        return note
    keep = [bool(_STRONG_CUE.search(c)) or any(f in c.lower() for f in note.facts) for c in clauses]
    for i in range(1, len(clauses)):
        if keep[i] and len(clauses[i].split()) <= 2:
            keep[i - 1] = True
    if all(keep) or not any(keep):
        return note
    text = ", ".join(c for c, k in zip(clauses, keep, strict=True) if k)
    text = text[:1].upper() + text[1:] + ("" if text[-1] in ".?!" else ".")
    short = make_note(note.role, text, note.turn, lower_vocab)
    short.superseded = note.superseded & short.facts
    short.generic, short.corrects, short.agreed = note.generic, note.corrects, note.agreed
    return short


def fit(notes: list[Note], budget: int, lower_vocab: set[str]) -> list[Note]:
    """Drop the notes worth least per token until the summary fits ``budget`` tokens."""
    size = (
        count_text_tokens(HEADER) + sum(n.tokens for n in notes) + LINE_TOKENS * len({n.turn for n in notes})
    )
    if size <= budget:
        return notes
    notes = [shorten(n, lower_vocab) for n in notes]
    sizes = [n.tokens for n in notes]
    total = count_text_tokens(HEADER) + sum(sizes) + LINE_TOKENS * len({n.turn for n in notes})
    alive = set(range(len(notes)))
    counts = Counter(f for n in notes for f in n.facts - n.superseded)
    turns = Counter(n.turn for n in notes)
    holders: dict[str, set[int]] = {}
    for i, n in enumerate(notes):
        for f in n.facts:
            holders.setdefault(f, set()).add(i)
    values = {i: _value(notes[i], counts) for i in alive}
    while total > budget and alive:
        # Worth per token (a note alone on its line also pays for the line); among equals the oldest
        # goes: later lines carry the latest values.
        cost = {i: sizes[i] + (LINE_TOKENS if turns[notes[i].turn] == 1 else 0) for i in alive}
        worst = min(alive, key=lambda i: (values[i] / cost[i], i))
        alive.discard(worst)
        total -= cost[worst]
        turns[notes[worst].turn] -= 1
        counts.subtract(notes[worst].facts - notes[worst].superseded)
        for i in set().union(*(holders[f] for f in notes[worst].facts)) & alive:
            values[i] = _value(notes[i], counts)  # a fact it shared may now be unique to it
    return [notes[i] for i in sorted(alive)]
