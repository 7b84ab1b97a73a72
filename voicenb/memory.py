"""The fact memory a rolling summary is made of: entries of (subject, value, the turn it came from, the
values it replaced) plus a one-line gist. Pure, no I/O.

After each fold the model proposes operations against the current entries (`MemoryUpdate`: add,
update, delete, keep; a JSON schema the local model is constrained to and OpenAI's structured outputs
follow), and `FactMemory.apply` carries them out: an update replaces the entry's value, so the latest
value wins by construction. The summary item is `FactMemory.render`: the current entries by subject,
compactly ("ceiling height: 2.35 m"), within a token budget; room the entries leave holds more of what
the fold's turns said (`FactMemory.fill`); when it is full those spare sentences go first, then the least
recently used entries leave the item (they stay in the full log). Days said relative to a turn
("yesterday") are stored with their date against that turn's own day.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .facts import Span, anchor_dates, format_date, session_date, values_in
from .grounding import gist_of, invented, said_in
from .tokens import count_text_tokens
from .unplaced import notes_for, spare_sentences, unplaced_spans

Turn = tuple[str, str]
GIST_PREFIX = "About: "
DATE_PREFIX = "Latest session date: "
LOOP_REPEATS = 3  # one update giving a value to this many subjects is a decoding loop
VALUE_CHARS = 200  # a value longer than this is cut (a runaway list, not a fact)
LINE = re.compile(r"^\s*[-•*]\s*(?:([^:\n]{1,60}?):\s+)?(.+?)\s*$")


class Operation(BaseModel):
    """One change the model proposes: ``add`` a new subject, ``update`` an entry's value (the new value
    replaces it), ``delete`` an entry that is no longer true, ``keep`` one the turns used again."""

    model_config = ConfigDict(extra="forbid")
    op: Literal["add", "update", "delete", "keep"]
    subject: str
    value: str


class MemoryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ops: list[Operation]
    gist: str = ""


# The schema as both constrained decoders want it: every field required, no extra ones, no $refs.
_OP_SCHEMA = {
    "type": "object",
    "properties": {
        "op": {"type": "string", "enum": ["add", "update", "delete", "keep"]},
        "subject": {"type": "string"},
        "value": {"type": "string"},
    },
    "required": ["op", "subject", "value"],
    "additionalProperties": False,
}
UPDATE_SCHEMA = {  # the operations first: a small model that starts with the gist writes its summary there
    "type": "object",
    "properties": {"ops": {"type": "array", "items": _OP_SCHEMA}, "gist": {"type": "string"}},
    "required": ["ops", "gist"],
    "additionalProperties": False,
}
RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "memory_update", "strict": True, "schema": UPDATE_SCHEMA},
}
_OP_TEXT = re.compile(r'\{\s*"op"\s*:\s*"(\w+)"\s*,\s*"subject"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,'
                      r'\s*"value"\s*:\s*"((?:[^"\\]|\\.)*)(?:"\s*\}|$)')  # fmt: skip


def parse_update(text: str) -> MemoryUpdate:
    """The model's JSON as a `MemoryUpdate`; from a reply cut off at its length limit, the operations
    that are complete. ValueError when there are none."""
    try:  # not strict: a raw tab or newline inside a string is still the model's words
        return MemoryUpdate.model_validate(json.loads(text, strict=False))
    except ValueError:  # not JSON (json's error), or not the schema (pydantic's ValidationError)
        ops = [
            Operation.model_validate({"op": m.group(1), "subject": _unquote(m.group(2)), "value": value})
            for m in _OP_TEXT.finditer(text)
            if m.group(1) in ("add", "update", "delete", "keep") and (value := _value_of(m))
        ]
        gist = re.search(r'"gist"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
        if not ops:
            raise ValueError(f"the model's memory update is not valid JSON: {text[:120]!r}") from None
        return MemoryUpdate(gist=_unquote(gist.group(1)) if gist else "", ops=ops)


def _value_of(match: re.Match[str]) -> str:
    """An operation's value; one the length limit cut off (a small model listing on and on) up to its
    last whole word, as `FactMemory.apply` would cap it anyway."""
    raw = match.group(3)
    if match.group(0).rstrip().endswith("}"):
        return _unquote(raw)
    try:
        return _unquote(raw[:VALUE_CHARS].rsplit(" ", 1)[0]).rstrip(" ,;")
    except ValueError:  # cut inside an escape
        return ""


def _unquote(text: str) -> str:
    """A JSON string's body as text (a raw control character in it is still text); ValueError on a bad
    escape."""
    return json.loads(f'"{text}"', strict=False)


@dataclass
class Entry:
    subject: str  # "" for a line of a summary not written as "subject: value"
    value: str
    turn: int  # the conversation turn it came from (counted over every fold)
    replaced: list[str] = field(default_factory=list)  # earlier values, oldest first
    used: int = 0  # the fold that last added, changed, kept or mentioned it (least recently used leave first)
    spare: bool = False  # a sentence kept in room the entries left (`FactMemory.fill`): it leaves first

    def line(self) -> str:
        return f"- {self.subject}: {self.value}" if self.subject else f"- {self.value}"


def key(subject: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", subject.lower()).split())


@dataclass
class FoldResult:
    """What one fold changed: the operations applied, entries evicted by the budget, and values the
    user stated that no entry holds (value, turn): these are not in the summary."""

    applied: list[Operation] = field(default_factory=list)
    evicted: list[Entry] = field(default_factory=list)
    unplaced: list[Span] = field(default_factory=list)


@dataclass
class FactMemory:
    entries: list[Entry] = field(default_factory=list)
    gist: str = ""
    day: date | None = None  # the latest session date the conversation gave
    turns_seen: int = 0  # turns folded so far (entries' turn numbers count from the first fold)
    folds: int = 0
    history: list[Entry] = field(default_factory=list)  # deleted or evicted, for the full log
    fold_days: list[date] = field(default_factory=list, repr=False)  # each turn's day, of the last fold

    def copy(self) -> FactMemory:
        return copy.deepcopy(self)

    def find(self, subject: str, close: bool = False) -> Entry | None:
        """The entry of ``subject``; with ``close``, also one whose subject is nearly the same (an update
        names the entry it replaces, sometimes in other words: "budget" for "kitchen budget")."""
        by_key = {key(e.subject): e for e in self.entries if e.subject}
        if (k := key(subject)) in by_key:
            return by_key[k]
        if close:
            contained = [e for kk, e in by_key.items() if k and (k in kk.split(" ") or kk in k.split(" "))]
            near = difflib.get_close_matches(k, list(by_key), n=1, cutoff=0.75)
            return contained[0] if len(contained) == 1 else by_key[near[0]] if near else None
        return None

    # --- the turns' own days ------------------------------------------------------------------------

    def turn_days(self, turns: Sequence[Turn], today: date) -> list[date]:
        """Each turn's day: the latest session date stamped on it or before it, else ``today``."""
        days, day = [], self.day
        for _, text in turns:
            day = session_date(text) or day
            days.append(day or today)
        if day:
            self.day = day
        return days

    # --- applying the model's operations ------------------------------------------------------------

    def apply(
        self, update: MemoryUpdate, turns: Sequence[Turn], language: str, today: date, first_fold: bool = True
    ) -> list[Operation]:
        """Carry out ``update`` for the folded ``turns``; returns the operations that changed something.
        ``first_fold`` False: a second pass over the same turns (the check), not a new fold."""
        if first_fold or len(self.fold_days) != len(turns):  # a second pass keeps the first's days
            self.fold_days = self.turn_days(turns, today)
        if first_fold:
            self.folds += 1
        days = self.fold_days
        first_turn = self.turns_seen if first_fold else self.turns_seen - len(turns)  # counted already
        applied = []
        said = said_in(" ".join(t for _, t in turns) + "\n" + self.text_of_all(), language)
        for op in _without_loops(update.ops):
            subject, value = op.subject.strip()[:80], op.value.strip()[:VALUE_CHARS]
            if not subject or (not value and op.op != "delete") or invented(value, said, language):
                continue
            turn = _source_turn(value or subject, turns, language)
            value = anchor_dates(value, days[turn], language) if value else value
            if self._apply_one(op.op, subject, value, first_turn + turn):
                applied.append(Operation(op=op.op, subject=subject, value=value))
        if gist := gist_of(update.gist, turns):
            self.gist = gist
        if first_fold:
            self._touch_mentioned(turns, language)
            self.turns_seen += len(turns)
        return applied

    def _apply_one(self, op: str, subject: str, value: str, turn: int) -> bool:
        entry = self.find(subject, close=op != "add")
        if op == "keep":
            if entry:
                entry.used = self.folds
            return False
        if op == "delete":
            if entry:
                self.entries.remove(entry)
                self.history.append(entry)
            return entry is not None
        if entry is None:
            self.entries.append(Entry(subject, value, turn, used=self.folds))
            return True
        entry.used = self.folds
        if key(entry.value) == key(value):
            return False
        entry.replaced.append(entry.value)  # add or update of a subject we hold: the new value wins
        entry.value, entry.turn = value, turn
        return True

    def _touch_mentioned(self, turns: Sequence[Turn], language: str) -> None:
        """Entries whose value the new turns mention again were used: they stay longest."""
        said = values_in(" ".join(t for _, t in turns), language)
        for entry in self.entries:
            if values_in(entry.value, language) & said - _COMMON:
                entry.used = self.folds

    # --- the check: what the user stated that no entry holds ----------------------------------------

    def unplaced(self, turns: Sequence[Turn], language: str) -> list[Span]:
        """Numbers, amounts, dates, times, codes, names, colours and materials the user stated in
        ``turns`` (the turns of the fold just applied), and the amounts, dates, times and codes the
        assistant gave, that no entry holds, current or replaced; one span per value, its turn an
        index into ``turns`` (`voicenb.unplaced`)."""
        return unplaced_spans(self.text_of_all(spare=False), turns, language)  # spare ones leave first

    def keep_unplaced(self, missing: Sequence[Span], turns: Sequence[Turn], language: str) -> None:
        """Values the user stated that no operation placed stay, as short notes in their own words (the
        words around the value in its sentence): a small model under a schema writes fewer facts than
        were said, and a stated number, date or name must not vanish silently. A later fold can update
        or delete a note like any entry, and the budget evicts the least recently used first (then it
        is reported)."""
        first_turn = self.turns_seen - len(turns)  # `apply` has already counted this fold's turns
        for turn, note in notes_for(missing, turns, language):
            if len(self.fold_days) == len(turns):  # "last Friday" in a note means that Friday later too
                note = anchor_dates(note, self.fold_days[turn], language)
            if all(note != e.value for e in self.entries):
                self.entries.append(Entry("", note, first_turn + turn, used=self.folds))

    def fill(self, turns: Sequence[Turn], budget_tokens: int, language: str) -> None:
        """Room the entries leave in ``budget_tokens`` holds the fold's statements that add the most
        words the memory lacks (`voicenb.unplaced.spare_sentences`), at least half the room the
        entries leave: each fold's spare sentences push out the older ones, which `render` drops
        first (earlier folds keep a share that halves with each fold)."""
        first_turn = self.turns_seen - len(turns)
        room = budget_tokens - count_text_tokens(self._text(language, spare=False))
        free = budget_tokens - count_text_tokens(self._text(language))
        for turn, line in spare_sentences(self.text_of_all(), turns, max(free, room // 2)):
            self.entries.append(Entry("", line, first_turn + turn, used=self.folds, spare=True))

    def text_of_all(self, spare: bool = True) -> str:
        every = [e for e in [*self.entries, *self.history] if spare or not e.spare]
        return "\n".join(f"{e.subject} {e.value} {' '.join(e.replaced)}" for e in every) + f"\n{self.gist}"

    # --- the summary item ---------------------------------------------------------------------------

    def render(self, budget_tokens: int, language: str = "en") -> tuple[str, list[Entry]]:
        """The summary text within ``budget_tokens``, and the entries that had to leave it (least
        recently used first, oldest turn first among equals); they leave the memory too."""
        evicted: list[Entry] = []
        while True:
            text = self._text(language)
            if count_text_tokens(text) <= budget_tokens or not self.entries:
                return text, evicted
            victim = min(self.entries, key=lambda e: (not e.spare, e.used, e.turn))
            self.entries.remove(victim)
            if not victim.spare:  # a spare sentence was room filled, not a fact the memory held
                self.history.append(victim)
                evicted.append(victim)

    def _text(self, language: str, spare: bool = True) -> str:
        head = [GIST_PREFIX + self.gist] if self.gist else []
        head += [DATE_PREFIX + format_date(self.day, language)] if self.day else []
        return "\n".join([*head, *(e.line() for e in self.entries if spare or not e.spare)])

    @classmethod
    def from_text(cls, text: str | None) -> FactMemory:
        """A memory back from a rendered summary (a session that handed off, a fallback's lines): each
        "- subject: value" line an entry; other lines entries without a subject."""
        memory = cls()
        for line in (text or "").splitlines():
            if line.startswith(GIST_PREFIX):
                memory.gist = line.removeprefix(GIST_PREFIX).strip()
            elif line.startswith(DATE_PREFIX):
                memory.day = session_date(f"[{line.removeprefix(DATE_PREFIX).strip()}]")
            elif match := LINE.match(line):
                subject, value = match.group(1) or "", match.group(2)
                if subject.lower() in ("user", "assistant", "usuario", "asistente"):
                    subject, value = "", line.strip(" -•*")
                memory.entries.append(Entry(subject.strip(), value, -1))
        return memory

    def log_record(self) -> dict:
        """The memory as data for the full log: every entry with its turn and replaced values."""
        return {
            "gist": self.gist,
            "entries": [vars(e) | {"current": True} for e in self.entries]
            + [vars(e) | {"current": False} for e in self.history],
        }


_COMMON = {"the", "a", "an", "and", "of", "to", "in", "on", "at", "el", "la", "de", "y", "le", "der", "die"}


def _without_loops(ops: Sequence[Operation]) -> list[Operation]:
    """``ops`` less the repeats of a value one update gives to three subjects or more: a small model
    decoding greedily falls into such loops ("store", "team", "customer": one company); the first
    stays."""
    counts = Counter(key(op.value) for op in ops if op.op != "delete")
    seen: set[str] = set()
    kept = []
    for op in ops:
        value = key(op.value)
        if op.op == "delete" or counts[value] < LOOP_REPEATS or value not in seen:
            kept.append(op)
        seen.add(value)
    return kept


def _source_turn(value: str, turns: Sequence[Turn], language: str) -> int:
    """The latest of ``turns`` that states the value (its numbers, names or words), else the last
    user turn: the turn the entry came from, whose day anchors "yesterday"."""
    wanted = values_in(value, language) - _COMMON
    best, best_hits = None, 0
    for n, (_, text) in enumerate(turns):
        hits = len(wanted & values_in(text, language))
        if hits and hits >= best_hits:
            best, best_hits = n, hits
    if best is not None:
        return best
    users = [n for n, (role, _) in enumerate(turns) if role == "user"]
    return users[-1] if users else max(0, len(turns) - 1)
