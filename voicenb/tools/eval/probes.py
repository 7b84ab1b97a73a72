"""End-to-end recall: after the policy ran, ask each fact's question as a user turn through the same
session and score the bot's own answer. This is the number users care about: does the bot still know?

Each probe is asked against the same context: its question and answer are deleted again before the
next one, and no summary runs meanwhile.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ... import events as ev
from ...session import VoiceSession
from .conversations import Fact
from .locomo import token_f1

NEVER = 10**9


@dataclass(frozen=True)
class ProbeResult:
    id: str
    question: str
    answer: str
    correct: bool
    f1: float = 0.0  # LoCoMo's token F1 against the first (gold) answer


def is_correct(answer: str, fact: Fact) -> bool:
    """Case-insensitive: any accepted answer appears in the bot's reply."""
    text = answer.lower()
    return any(a.lower() in text for a in fact.answers if a)


def probe_recall(results: Sequence[ProbeResult]) -> float | None:
    return round(sum(r.correct for r in results) / len(results), 4) if results else None


def probe_f1(results: Sequence[ProbeResult]) -> float | None:
    """Mean LoCoMo token F1 of the bot's answers: partial credit where substring scoring has none."""
    return round(sum(r.f1 for r in results) / len(results), 4) if results else None


async def ask_probes(
    session: VoiceSession,
    facts: Sequence[Fact],
    ask: Callable[[str], Awaitable[None]],
    timeout_s: float = 120.0,
) -> list[ProbeResult]:
    """``ask(question)`` sends one user turn and asks for a reply (as the replay sends its turns)."""
    session.policy.trigger_tokens = NEVER  # the context must stay as the policy left it
    results = []
    for fact in facts:
        before = set(session.state.log)
        await ask(fact.question)
        await session.next(ev.UsageUpdated, timeout=timeout_s)
        added = [i for i in session.state.log.values() if i.id not in before]
        answer = " ".join(i.text for i in added if i.role == "assistant").strip()
        f1 = token_f1(answer, fact.answers[0]) if fact.answers else 0.0
        results.append(ProbeResult(fact.id, fact.question, answer, is_correct(answer, fact), round(f1, 4)))
        await session.link.delete_items([i.id for i in added if i.id in session.state.window])
    return results


def load_reply_model(spec: Any = None) -> Any:
    """The engine's real reply model (the default one, or ``spec``), loaded without the speech parts."""
    from ...engine import EngineConfig
    from ...engine.components import load_components

    unused = object()  # parts given as objects are used as they are: nothing else loads
    return load_components(EngineConfig(llm=spec, vad=unused, stt=unused, tts=unused)).llm
