"""End-to-end recall: after the policy ran, ask each fact's question as a user turn through the same
session and score the bot's own answer. This is the number users care about: does the bot still know?

Each probe is asked against the same context: its question and answer are deleted again before the
next one (from the window and from the log recall searches), and no summary runs meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ... import events as ev
from ...engine.models import OFFLINE_N_CTX
from ...session import VoiceSession
from ...state import Item
from ...tokens import count_text_tokens
from .conversations import Fact
from .locomo import token_f1

NEVER = 10**9
PREFILL_TOKENS_PER_S = 10.0  # the 1.5B's prompt rate on two busy cores (9 tok/s measured at load ~9)
CONTEXT_CAP_TOKENS = OFFLINE_N_CTX  # the local model's context: a longer window is cut to it first


@dataclass(frozen=True)
class ProbeResult:
    id: str
    question: str
    answer: str
    correct: bool
    f1: float = 0.0  # LoCoMo's token F1 against the first (gold) answer
    unanswered: str | None = None  # why the bot gave no answer in time (the probe then counts as wrong)
    calls: tuple[str, ...] = ()  # the tools the bot called to answer (``recall(query='...')``)


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
    tokens_per_s: float | None = None,
) -> list[ProbeResult]:
    """``ask(question)`` sends one user turn and asks for a reply (as the replay sends its turns). A
    probe not answered within its time (``probe_timeout_s``) is cancelled and counted as wrong, with
    the reason; the next one is asked against the same context."""
    session.policy.trigger_tokens = NEVER  # the context must stay as the policy left it
    results = []
    for fact in facts:
        before = set(session.state.log)
        limit_s = probe_timeout_s(timeout_s, context_tokens(session), tokens_per_s)
        await ask(fact.question)
        missed = None
        try:
            await _answered(session, before, limit_s)
        except TimeoutError:
            missed = f"no answer within {limit_s:.0f} s"
            await _stop_reply(session, timeout_s)
        added = [i for i in session.state.log.values() if i.id not in before]
        answer = " ".join(i.text for i in added if i.role == "assistant").strip()
        f1 = token_f1(answer, fact.answers[0]) if fact.answers and not missed else 0.0
        correct = missed is None and is_correct(answer, fact)
        calls = tuple(i.text for i in added if i.kind == "function_call")
        results.append(ProbeResult(fact.id, fact.question, answer, correct, round(f1, 4), missed, calls))
        await session.link.delete_items([i.id for i in added if i.id in session.state.window])
        _forget(session, added)
    return results


def _forget(session: VoiceSession, items: Sequence[Item]) -> None:
    """A probe leaves the log too: deleted from the window, its question, recall call and answer would
    be turns no longer in the window, which is what the next probe's recall searches (on LoCoMo the bot
    answered the question before). A deletion the server did not confirm stays, as it is still read."""
    for item in items:
        if not item.in_window:
            session.state.log.pop(item.id, None)


async def _answered(session: VoiceSession, before: set[str], limit_s: float) -> None:
    """Until the probe's reply is done: a response that called a tool (recall) is followed by the one
    that answers from its output."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while True:
        await session.next(ev.UsageUpdated, timeout=max(0.001, deadline - loop.time()))
        added = [i for i in session.state.log.values() if i.id not in before]
        if not added or not added[-1].is_tool:
            return


def probe_timeout_s(base_s: float, tokens: int, tokens_per_s: float | None = None) -> float:
    """A probe's time: the base plus reading its context at the slow rate (an 8k window on two cores
    needs minutes for its first probe; a short one, seconds)."""
    return base_s + min(tokens, CONTEXT_CAP_TOKENS) / (tokens_per_s or PREFILL_TOKENS_PER_S)


def context_tokens(session: VoiceSession) -> int:
    """Text tokens the reply model reads for the next probe: the server-side window's words."""
    return sum(count_text_tokens(i.text) for i in session.state.window_items() if i.text)


async def _stop_reply(session: VoiceSession, timeout_s: float) -> None:
    """Cancel the late reply and wait for its end, so the next probe is not refused as a second one."""
    if not session.core.response_active:
        return
    await session.cancel_response()
    with contextlib.suppress(TimeoutError):
        await session.next(ev.UsageUpdated, timeout=timeout_s)


def load_reply_model(spec: Any = None) -> Any:
    """The engine's real reply model (the default one, or ``spec``), loaded without the speech parts."""
    from ...engine import EngineConfig
    from ...engine.components import load_components

    unused = object()  # parts given as objects are used as they are: nothing else loads
    return load_components(EngineConfig(llm=spec, vad=unused, stt=unused, tts=unused)).llm
