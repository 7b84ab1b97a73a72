"""Summary guarantees that do not depend on the summarising model. Pure, no I/O.

After any summariser wrote its text, `guard` enforces:

1. the latest value wins: a value the user corrected later ("a table for four ... make it five"), or
   one the assistant changed ("I've moved the booking to 7:30"), is replaced by the new value in the
   summary's lines, or kept only before its replacement as history ("four, now five");
2. no assistant chit-chat: lines that quote the assistant without a fact, or are pleasantries, go;
3. every number, date, time, amount, name and colour the user stated in the folded turns, every
   reference, amount, time and name the assistant gave, and every one the previous summary held, is in
   the summary or deliberately superseded; missing ones are appended as short notes quoting the turn;
4. a budget floor: the summary may exceed its budget to hold the facts (by up to ``FLOOR_HEADROOM``
   tokens, or up to ``max_floor_tokens``);
   facts that still do not fit are dropped oldest first and listed in ``GuardResult.dropped`` so the
   session can publish a visible warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .facts import (  # re-exported: tokens, mentions, superseded_values, user_facts are part of the API
    ASSISTANT_LINE,
    BULLET,
    Fact,
    Turn,
    _content_words,
    _norm,
    _normalised_text,
    mentions,
    name_candidates,
    superseded_values,
    tokens,
    user_facts,
)
from .lexicon import CHIT_CHAT, HISTORY_WORDS, INTERJECTION, NOT_NAMES
from .tokens import count_text_tokens

FLOOR_HEADROOM = 400  # tokens the floor may add above the budget to hold facts (by default)


@dataclass
class GuardResult:
    text: str
    added: list[str] = field(default_factory=list)  # facts appended as notes
    dropped: list[str] = field(default_factory=list)  # facts the floor could not hold
    superseded: dict[str, str] = field(default_factory=dict)  # old value -> the value replacing it
    removed_lines: list[str] = field(default_factory=list)  # chit-chat dropped


__all__ = ["FLOOR_HEADROOM", "GuardResult", "guard", "mentions", "superseded_values", "tokens", "user_facts"]


def _drop_old_value(line: str, old: str, new: str) -> str | None:
    """The line without a superseded value: None when the line is only about it, unchanged when the
    old value is written before the new one (history, "four, now five")."""
    norm = _normalised_text(line)
    old_at, new_at = norm.find(f" {old} "), norm.find(f" {new} ")
    if old_at < 0:
        return line
    if new_at >= 0 and old_at < new_at:
        return line
    if new_at < 0:  # the line still states the old value as current: it now states the new one
        return _substitute(line, old, new)
    return _cut_clause(line, old)


def _substitute(line: str, old: str, new: str) -> str:
    """The line with the old value's words replaced by the new value: a small model reading "on
    Tuesday (replaced: now Thursday)" still answered Tuesday."""
    out: list[str] = []
    for t, w in tokens(line):
        if t == old:
            trailing = w[len(w.rstrip(".,;:!?)")) :]
            w = (new[:1].upper() + new[1:] if w[:1].isupper() else new) + trailing
        elif t.startswith(("o'clock", "o’clock")) and out and out[-1].startswith(new) and ":" in new:
            continue  # "8 o'clock" became "7:30", not "7:30 o'clock"
        out.append(w)
    return " ".join(out)


def _cut_clause(line: str, old: str) -> str:
    """Remove the clause (parenthesis or comma-separated part) that carries the old value."""
    out: list[str] = []
    skipping = False
    for t, w in tokens(line):
        if t == old or skipping:
            skipping = not w.endswith((")", ",", ";"))
            while out and out[-1].lower().strip("(,") in HISTORY_WORDS:
                out.pop()
            if out and out[-1].endswith("("):
                out.pop()
            continue
        out.append(w)
    return " ".join(out).replace("()", "").strip(" ,;")


def clean_lines(summary: str, superseded: dict[str, str]) -> tuple[list[str], list[str]]:
    """(kept lines, removed chit-chat lines) with superseded values dropped."""
    kept: list[str] = []
    removed: list[str] = []
    for raw_line in summary.splitlines():
        body = BULLET.sub("", raw_line).strip()
        if not body or body in (BULLET.sub("", k) for k in kept):
            continue  # empty, or a repeated line
        line = f"- {body}" if raw_line.lstrip()[:1] in "-•*–" else body
        quoted_assistant = ASSISTANT_LINE.search(line)
        has_fact = bool(user_facts([("user", ASSISTANT_LINE.sub("", line))]))
        if CHIT_CHAT.search(line) or INTERJECTION.match(body) or (quoted_assistant and not has_fact):
            removed.append(line)
            continue
        line = _latest_value(line, superseded)
        if line:
            kept.append(line)
    return kept, removed


def _latest_value(line: str, superseded: dict[str, str]) -> str:
    for old, new in superseded.items():
        line = _drop_old_value(line, old, new) or ""
    return line


def guard(
    summary: str,
    turns: Sequence[Turn],
    previous: str | None,
    budget_tokens: int,
    max_floor_tokens: int | None = None,
) -> GuardResult:
    """Apply the guarantees in this module's docstring to ``summary`` (see `GuardResult`)."""
    carried = parse_replaced(previous or "")
    previous = (
        "\n".join(ln for ln in (previous or "").splitlines() if not ln.startswith(REPLACED_PREFIX)) or None
    )
    history = ([("user", previous)] if previous else []) + list(turns)
    superseded = _chain({**carried, **superseded_values(turns, previous)})
    summary = "\n".join(ln for ln in summary.splitlines() if REPLACED_PREFIX.strip("- ") not in ln)
    lines, removed = clean_lines(summary, superseded)
    text = "\n".join(lines)
    names = name_candidates(" ".join(t for _, t in history))
    names |= _line_initial_capitals(previous or "")
    carried_lines = [
        _latest_value(f"- {BULLET.sub('', ln)}", superseded) for ln in _dropped_lines(previous, text)
    ]
    text = "\n".join([*lines, *carried_lines])
    missing: list[Fact] = []
    for fact in user_facts(history, known_names=names):
        if fact.value in superseded or mentions(text, fact.value):
            continue
        if all(f.value != fact.value for f in missing):
            missing.append(fact)
    notes = [ln for ln in carried_lines if ln] + [
        _latest_value(f"- {m.note}", superseded) for m in _latest_notes(missing)
    ]
    added = [m.value for m in missing]
    result = GuardResult("", added, [], superseded, removed)
    ceiling = max(budget_tokens, max_floor_tokens or FLOOR_HEADROOM + budget_tokens)
    if superseded:  # explicit, and carried into the next fold: old values are never re-added as facts
        notes.append(REPLACED_PREFIX + "; ".join(f"{old} → {new}" for old, new in superseded.items()))
    result.text = _fit(lines, notes, budget_tokens, ceiling, result)
    return result


REPLACED_PREFIX = "- Replaced (latest value wins): "


def _dropped_lines(previous: str | None, summary: str) -> list[str]:
    """Fact-bearing lines of the previous summary the model left out entirely (under half of their
    content words are in the new summary): a small model rewriting its summary drops whole bullets,
    plain words included ("arroz negro" next to "Lucía")."""
    now = _content_words(summary)
    names = _line_initial_capitals(previous or "")
    out = []
    for line in (previous or "").splitlines():
        body = BULLET.sub("", line)
        words = _content_words(body)
        dropped = words and len(words & now) * 2 < len(words)
        if dropped and user_facts([("user", body)], known_names=names):
            out.append(line)
    return out


def _line_initial_capitals(previous: str) -> frozenset[str]:
    """A previous summary starts its lines with names ("Lucía es celíaca"): those count as names."""
    firsts = (BULLET.sub("", ln).split()[:1] for ln in previous.splitlines())
    return frozenset(_norm(w[0]) for w in firsts if w and w[0][:1].isupper() and _norm(w[0]) not in NOT_NAMES)


def parse_replaced(previous: str) -> dict[str, str]:
    """The old → new pairs a previous guarded summary recorded."""
    pairs: dict[str, str] = {}
    for line in previous.splitlines():
        if line.startswith(REPLACED_PREFIX):
            for pair in line.removeprefix(REPLACED_PREFIX).split(";"):
                old, _, new = pair.partition("→")
                if old.strip() and new.strip():
                    pairs[old.strip()] = new.strip()
    return pairs


def _chain(pairs: dict[str, str]) -> dict[str, str]:
    """120 → 130 and 130 → 140 become 120 → 140 and 130 → 140; a value never replaces itself."""
    out = {}
    for old, new in pairs.items():
        seen = {old}
        while new in pairs and new not in seen:
            seen.add(new)
            new = pairs[new]
        if new != old:
            out[old] = new
    return out


def _latest_notes(missing: list[Fact]) -> list[Fact]:
    """One note per fact, and one note for facts sharing the same words."""
    seen, out = set(), []
    for fact in missing:
        if fact.note not in seen:
            seen.add(fact.note)
            out.append(fact)
    return out


def _fit(lines: list[str], notes: list[str], budget: int, ceiling: int, result: GuardResult) -> str:
    """Everything fits up to ``ceiling`` (the floor may lift the budget to hold facts); above it,
    lines without any value go first, then the oldest notes, whose facts are recorded as dropped."""
    text = "\n".join(lines + notes)
    if count_text_tokens(text) <= max(budget, ceiling):
        return text
    for line in [ln for ln in lines if not user_facts([("user", ln)])]:
        lines = [ln for ln in lines if ln is not line]
        text = "\n".join(lines + notes)
        if count_text_tokens(text) <= ceiling:
            return text
    while notes and count_text_tokens(text) > ceiling:
        result.dropped.append(notes.pop(0).removeprefix("- "))
        text = "\n".join(lines + notes)
    return text
