"""Conversations with planted facts (schema: docs/eval-schema.md): loading, joining, looping. Pure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ...audio import WPM, spoken_seconds


@dataclass(frozen=True)
class Fact:
    id: str
    question: str
    answers: tuple[str, ...]
    kind: str = "name"
    turn: int = 0
    superseded: tuple[str, ...] = ()


@dataclass
class Conversation:
    name: str
    turns: list[tuple[str, str]]  # (role, text), user first
    facts: list[Fact]
    language: str = "en"

    @property
    def minutes(self) -> float:
        return sum(spoken_seconds(text) for _, text in self.turns) / 60


class ConversationError(ValueError):
    """A conversation file that cannot be used; the message is one line saying what to fix."""


def load_conversation(path: str | Path, first_turns: int | None = None) -> Conversation:
    """Read a conversation file in the schema of ``docs/eval-schema.md``, or one of LoCoMo's published
    JSON (`voicenb.tools.eval.locomo`); ``first_turns``: only that many turns, with the facts whose
    evidence lies in them."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConversationError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConversationError(f"{path}: is a folder; give a conversation .json file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversationError(f"{path}: not a JSON conversation ({exc})") from None
    from . import locomo

    if locomo.is_locomo(data):
        return locomo.conversation(data, path, first_turns)
    conv = _schema_conversation(data, path)
    if first_turns is not None:
        facts = [f for f in conv.facts if f.turn < first_turns]
        conv = Conversation(conv.name, conv.turns[:first_turns], facts, conv.language)
    return conv


def _schema_conversation(data: object, path: Path) -> Conversation:
    if not isinstance(data, dict):
        raise ConversationError(f"{path}: not in the eval schema (not an object); see docs/eval-schema.md")
    try:
        turns = [(str(t["role"]), str(t["text"])) for t in data["turns"]]
        facts = [
            Fact(str(f["id"]), str(f["question"]), tuple(map(str, f["answers"])), f.get("kind", "name"),
                 int(f.get("turn", 0)), tuple(f.get("superseded") or ()))
            for f in data.get("facts", [])
        ]  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ConversationError(f"{path}: not in the eval schema ({what}); see docs/eval-schema.md") from None
    if not turns or any(role not in ("user", "assistant") for role, _ in turns):
        raise ConversationError(f"{path}: 'turns' must be a non-empty list of user/assistant turns")
    return Conversation(data.get("name") or path.stem, turns, facts, data.get("language") or "en")


def concat(convs: Sequence[Conversation]) -> Conversation:
    """One conversation after another (fact ids prefixed with each conversation's name)."""
    if len(convs) == 1:
        return convs[0]
    turns: list[tuple[str, str]] = []
    facts: list[Fact] = []
    for conv in convs:
        facts += [replace(f, id=f"{conv.name}:{f.id}", turn=f.turn + len(turns)) for f in conv.facts]
        turns += conv.turns
    return Conversation("+".join(c.name for c in convs), turns, facts, convs[0].language)


def extend_to_minutes(conv: Conversation, minutes: float, wpm: int = WPM) -> Conversation:
    """Loop the turns until they take ``minutes`` to say (cut after an assistant turn): a long call
    built from a short script.

    The facts are those of the first pass; later passes restate them, so survival on a looped
    conversation mostly measures the last pass. Its use is the cost curve of a long call.
    """
    turns: list[tuple[str, str]] = []
    seconds = 0.0
    while conv.turns and (seconds < minutes * 60 or turns[-1][0] != "assistant"):
        role, text = conv.turns[len(turns) % len(conv.turns)]
        turns.append((role, text))
        seconds += spoken_seconds(text, wpm)
    return Conversation(f"{conv.name}-{minutes:g}min", turns, conv.facts, conv.language)


def chatter_pairs(conv: Conversation) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """(user, assistant) exchanges that state no fact and mention no answer or superseded value."""
    fact_turns = {f.turn for f in conv.facts}
    values = [v.lower() for f in conv.facts for v in (*f.answers, *f.superseded)]
    found = []
    for i in range(0, len(conv.turns) - 1, 2):
        user, reply = conv.turns[i], conv.turns[i + 1]
        text = f"{user[1]} {reply[1]}".lower()
        if user[0] == "user" and {i, i + 1}.isdisjoint(fact_turns) and not any(v in text for v in values):
            found.append((user, reply))
    return found


def extend_with_chatter(conv: Conversation, minutes: float, wpm: int = WPM) -> Conversation:
    """Play the conversation once, then its own small talk (`chatter_pairs`) in a loop until it takes
    ``minutes`` to say: no fact is restated, so survival measures whether the early facts last the
    whole call (with `extend_to_minutes` the later passes restate them)."""
    filler = chatter_pairs(conv)
    if not filler:
        raise ConversationError(f"{conv.name}: no turn pair free of facts to pad the call with")
    turns = list(conv.turns)
    seconds = sum(spoken_seconds(t, wpm) for _, t in turns)
    n = 0
    while seconds < minutes * 60:
        for role, text in filler[n % len(filler)]:
            turns.append((role, text))
            seconds += spoken_seconds(text, wpm)
        n += 1
    return Conversation(f"{conv.name}-{minutes:g}min-chatter", turns, conv.facts, conv.language)
