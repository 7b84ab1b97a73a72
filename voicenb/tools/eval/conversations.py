"""Conversations with planted facts (schema: docs/eval-schema.md): loading, joining, looping. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

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
