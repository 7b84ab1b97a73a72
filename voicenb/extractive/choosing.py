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
from .reading import _WORD, PERSONAL, STRONG, Note, Reader, _words, make_note, sentences
from .rendering import HEADER, LINE_TOKENS

CORRECTION = {
    "en": _words(r"actually|instead|chang\w*|switch\w*|mov(?:e|ed|ing)|forget|cancel\w*|different",
                 r"no longer|anymore|make it|rather"),
    "es": _words(r"en vez de|cambi\w*|mejor|en realidad|perdón|no, "),
}  # fmt: skip
# The user taking what the assistant just offered: "Yes please." "Perfect." "Book that one."
AGREE = {
    "en": re.compile(
        r"^\W*(?:\w+\W+){0,2}?(?:yes|yep|perfect|that works)\b|\b(?:let's (?:do|go|book|pencil|take)|"
        r"book (?:that|it|them)|go (?:for|with) (?:that|it)|pencil (?:that|it) in|take (?:that|it)"
        r"|do that)\b",
        re.IGNORECASE,
    ),
    "es": re.compile(r"^\W*(?:\w+\W+){0,2}?(?:sí|vale|perfecto|de acuerdo)\b", re.IGNORECASE),
}
CLAUSE_JOINERS = {"en": "but|so|because|which|though|although|while", "es": "pero|porque|aunque"}


def worth_keeping(note: Note, known: set[str], how: Reader) -> bool:
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
        return bool(note.facts) and bool(how.cue(CORRECTION).search(note.text))
    return words > 3 and (note.strong or note.weak)


def extract(turns: Sequence[tuple[str, str]], earlier: list[Note], how: Reader) -> list[Note]:
    """Notes worth keeping from ``turns``, after the ``earlier`` notes (of the previous summary)."""
    known = set().union(*(n.facts for n in earlier)) if earlier else set()
    notes: list[Note] = []
    for n, (role, text) in enumerate(turns):
        if role == "user" and how.cue(AGREE).search(text):
            # What the assistant offered just before: in this batch, or the last line of the summary.
            before = [x for x in (notes or earlier[-1:]) if x.turn == (n - 1 if notes else earlier[-1].turn)]
            for note in before:
                note.agreed = note.agreed or note.role == "assistant"
        generic = role == "assistant" and not how.cue(PERSONAL).search(text)
        for sentence in sentences(text, how.language):
            note = make_note(role, sentence, n, how)
            note.generic = generic
            if worth_keeping(note, known, how):
                notes.append(note)
                known |= note.facts
    return notes


def mark_superseded(notes: list[Note], how: Reader) -> None:
    """A corrected value loses its worth: a later note that changes something (a correction cue in it or
    in the turn before) and states a value of the same type on the same topic supersedes the old one."""
    for i, note in enumerate(notes):
        context = [n for n in notes[max(0, i - 3) : i + 1] if n.turn >= note.turn - 1]
        if not any(how.cue(CORRECTION).search(n.text) for n in context):
            continue
        types = {note.kinds.get(f) for f in note.facts} - {"name"}
        topic = set().union(*(n.topic for n in context))
        for old in notes[:i]:
            if old.turn >= note.turn - 1 or not old.topic & topic:
                continue
            replaced = {f for f in old.facts - note.facts if old.kinds.get(f, "name") in types}
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


def shorten(note: Note, how: Reader) -> Note:
    """Keep only the clauses that carry a fact or a cue (the whole note if none or all do); a clause
    of a word or two keeps the one before it ("my mother-in-law, Lourdes")."""
    joiners = CLAUSE_JOINERS.get(how.language)
    clause = re.compile(r",\s+|;\s+" + (rf"|\s+(?:{joiners})\s+" if joiners else ""))
    clauses = [c for c in clause.split(note.text.rstrip(".!")) if c]
    if len(clauses) < 2:
        return note
    keep = [bool(how.cue(STRONG).search(c)) or any(f in c.lower() for f in note.facts) for c in clauses]
    for i in range(1, len(clauses)):
        if keep[i] and len(clauses[i].split()) <= 2:
            keep[i - 1] = True
    if all(keep) or not any(keep):
        return note
    text = ", ".join(c for c, k in zip(clauses, keep, strict=True) if k)
    text = text[:1].upper() + text[1:] + ("" if text[-1] in ".?!" else ".")
    short = make_note(note.role, text, note.turn, how)
    short.superseded = note.superseded & short.facts
    short.generic, short.corrects, short.agreed = note.generic, note.corrects, note.agreed
    return short


def fit(notes: list[Note], budget: int, how: Reader) -> list[Note]:
    """Drop the notes worth least per token until the summary fits ``budget`` tokens."""
    size = (
        count_text_tokens(HEADER) + sum(n.tokens for n in notes) + LINE_TOKENS * len({n.turn for n in notes})
    )
    if size <= budget:
        return notes
    notes = [shorten(n, how) for n in notes]
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
