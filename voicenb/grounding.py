"""What a model's memory operation may keep (pure): a value is the conversation's when the turns or the
memory said one of its numbers, days, times or codes, in any form; a gist is no copy of a turn."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .facts import spans, values_in

Turn = tuple[str, str]

_YEARS = {str(y) for y in range(1900, 2101)}
_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}|\{[a-z_.]+\}")  # a template slot a small model copied


def said_in(text: str, language: str) -> set[str]:
    """Everything ``text`` holds that a value can be grounded by: its values and words, and the plain
    numbers inside them."""
    said = values_in(text, language)
    return said | {n for v in said for n in numbers_of(v)}


def invented(value: str, said: set[str], language: str) -> bool:
    """Whether a value states numbers, dates, times or codes of which nothing `said_in` the conversation
    holds any (the 1.5B added 'Tuesday at 6pm' to a call about a table tonight): the model's, not the
    conversation's; so is a code it gave other letters (`_changed_code`). A value that states none of
    those (a paraphrase, a place) is not judged here."""
    found = spans(value, language)
    stated = {s.value for s in found} - _YEARS  # a year is often reckoned ("last year")
    changed = any(_changed_code(s.value, said) for s in found if s.kind == "code")
    return changed or (bool(stated) and not (stated | {n for v in stated for n in numbers_of(v)}) & said)


def _changed_code(value: str, said: set[str]) -> bool:
    """Whether ``value`` is a code whose digits the conversation said in a code with other letters: a
    model number or reference the model rewrote (BW8140 kept as "GD8140" beside the colour graphite)."""
    letters, digits = re.sub(r"[^a-z]", "", value), re.sub(r"\D", "", value)
    if not (letters and digits) or value in said:
        return False
    codes = {(re.sub(r"[^a-z]", "", s), re.sub(r"\D", "", s)) for s in said}
    return any(d == digits and c and c != letters for c, d in codes)


def numbers_of(value: str) -> set[str]:
    """The plain numbers a normalised value holds, as a turn may have said them: "8:00pm" and "20:00"
    hold 8 (said "at eight"), "£25,000" holds 25000."""
    numbers = {n.lstrip("0") for n in re.findall(r"\d+", value)} - {""}
    if hour := re.match(r"(\d{1,2}):", value):
        numbers.add(str(int(hour.group(1)) % 12 or 12))
    return numbers


def gist_of(gist: str, turns: Sequence[Turn]) -> str:
    """What the call is about, or "" (keep the previous gist): a gist that only repeats one of the turns
    (the 1.5B copied an assistant's apology there) says nothing about the call."""
    gist = " ".join(_PLACEHOLDER.sub(" ", gist).split())[:200]
    words = set(re.findall(r"\w+", gist.lower()))
    for _, text in turns:
        said = set(re.findall(r"\w+", text.lower()))
        if len(words) >= 8 and len(words & said) >= 0.9 * len(words):  # a topic line shares fewer
            return ""
    return gist
