"""The summary's text: a header, then one ``- Role: ...`` line per turn, notes in conversation order
(so when two values survive, the latest reads last). `parse_summary` reads such a text back into notes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..facts import SENTENCE
from .reading import PERSONAL, Note, Reader, make_note

HEADER = "Summary of the earlier conversation (latest values win):"
LINE_TOKENS = 3  # "- User:" (each note pays for its own space or newline)
AGREED = " (agreed)"
_LINE = re.compile(r"^- (?:(User|Assistant): )?(.*)$")


def parse_summary(summary: str | None, how: Reader) -> list[Note]:
    """Notes back from a summary this module wrote (any "- ..." lines of another summary too)."""
    notes = []
    for n, line in enumerate((summary or "").splitlines()):
        match = _LINE.match(line.strip())
        if not match:
            continue
        role, body = (match.group(1) or "").lower(), match.group(2)
        agreed = body.endswith(AGREED.strip())
        body = body.removesuffix(AGREED.strip()).rstrip()
        generic = role == "assistant" and not agreed and not how.cue(PERSONAL).search(body)
        for sentence in SENTENCE.split(body):
            if sentence.strip():
                notes.append(make_note(role, sentence.strip(), n - 1_000_000, how))
                notes[-1].generic, notes[-1].agreed = generic, agreed
    return notes


def render(notes: Sequence[Note]) -> str:
    lines: list[str] = []
    for i, note in enumerate(notes):
        if i and notes[i - 1].turn == note.turn:
            lines[-1] += " " + note.text
        else:
            lines.append(f"- {note.role.capitalize()}: {note.text}" if note.role else f"- {note.text}")
        last_of_line = i + 1 == len(notes) or notes[i + 1].turn != note.turn
        if last_of_line and note.role == "assistant" and any(n.agreed for n in notes if n.turn == note.turn):
            lines[-1] += AGREED
    return "\n".join([HEADER, *lines])
