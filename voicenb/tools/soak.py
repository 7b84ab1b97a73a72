"""`voicenb soak`: a long simulated conversation with forced handoffs, checking nothing is lost.

Scripted user turns go to the offline engine as text; the engine's LLM replies. A simulated clock
advances by each turn's spoken length (2.5 words/s plus a pause), and every ``handoff_every_min``
simulated minutes the session hands off to a fresh server session. At the end every turn must be in
the full log and the window must have stayed within the trigger plus one exchange.

By default turns go back to back (faster than real time: a stress test). With ``realtime`` each turn
takes the wall time a caller would: the user speaks it, then listens to the whole reply, so the engine
has the gaps a real conversation gives it (for summaries and cache warm-ups). With ``defaults`` the window
must stay under the offline engine's truncation point (summaries fire before the engine trims), and no
reply may end with no words and no ``error`` event (a silent failure).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

from .. import events as ev
from ..policy import SummaryPolicy
from ..session import Backend, HandoffPolicy, SessionConfig, VoiceSession
from ..session.defaults import OFFLINE_MODEL
from ..tokens import count_text_tokens, model_spec

WORDS_PER_S = 2.5
PAUSE_S = 2.0
_TOPICS = [
    "My customer reference is {n}4{n}7 and I'm calling about the kitchen fitting at {n} Mill Lane.",
    "The fitter was booked for the {d}th at nine in the morning but nobody turned up, the second time.",
    "I'd like a refund of {n}50 pounds for the day off work, or at least a discount on the worktop.",
    "My partner Alex {n} will be home on Tuesday afternoons if that helps with a new appointment slot.",
    "Please note the cabinets are the oak ones, model K{n}20, not the white gloss ones on the first order.",
    "Actually, change the contact number to 07700 900{n}{d} because my old phone has stopped working.",
]


def user_lines() -> Iterator[str]:
    """An endless, varied script: the same shapes, new numbers each round."""
    for n in itertools.count(1):
        for line in _TOPICS:
            yield line.format(n=n % 10, d=(n % 27) + 1)


def spoken_s(text: str) -> float:
    return len(text.split()) / WORDS_PER_S


async def soak(
    minutes: float,
    handoff_every_min: float,
    *,
    trigger_tokens: int = 800,
    keep_last: int = 4,
    reply_tokens: int = 24,
    llm: str | None = None,
    progress: Callable[[str], object] | None = None,
    session_kwargs: dict[str, Any] | None = None,
    defaults: bool = False,
    realtime: bool = False,
) -> dict[str, Any]:
    """Run the simulated conversation; return the figures `voicenb soak --json` prints. With
    ``defaults`` the session is ``VoiceSession.offline()``'s own (default model, trigger, summariser,
    spoken replies, no forced handoffs): the check that a long default session never fails silently."""
    replies, loop = asyncio.Event(), asyncio.get_running_loop()
    stress = (trigger_tokens, keep_last, reply_tokens, llm, session_kwargs)
    session = _default_session() if defaults else _stress_session(*stress)
    trigger_tokens = session.policy.trigger_tokens
    session.subscribe(lambda e: replies.set() if isinstance(e, ev.UsageUpdated) else None)
    summary_s = _summary_timer(session, loop.time)
    clock_s, next_handoff_s, user_turns, biggest_exchange = 0.0, handoff_every_min * 60, 0, 0
    silent = 0
    async with session:
        for line in user_lines():
            if clock_s >= minutes * 60:
                break
            replies.clear()
            errors_before = len(session.errors)
            if realtime:
                await asyncio.sleep(spoken_s(line))  # the caller is speaking
            sent = loop.time()
            await session.send_text(line)
            await asyncio.wait_for(replies.wait(), timeout=120)
            user_turns += 1
            last = session.state.turns()[-1] if session.state.turns() else None
            reply = last.text if last and last.role == "assistant" else ""
            silent += not reply and len(session.errors) == errors_before  # no words and no error: silent
            biggest_exchange = max(biggest_exchange, count_text_tokens(line) + count_text_tokens(reply))
            clock_s += spoken_s(line) + spoken_s(reply) + PAUSE_S
            if realtime:  # the caller listens to the whole reply, then pauses
                await asyncio.sleep(max(0.0, spoken_s(reply) + PAUSE_S - (loop.time() - sent)))
            else:
                await session.wait_idle(quiet_s=0.05)
            if not defaults and clock_s >= next_handoff_s:
                await session.handoff_now("scheduled")
                next_handoff_s += handoff_every_min * 60
            if progress:
                progress(f"\r{clock_s / 60:6.1f}/{minutes:g} min  turns {user_turns}  "
                         f"window {session.window_tokens}  summaries {session.summaries}  "
                         f"handoffs {session.handoffs}")  # fmt: skip
    if progress:
        progress("\n")
    # Back to back, a summary lands within an exchange; at a caller's pace on a small machine it takes
    # a few, so there the bound is the engine's own truncation point: summaries fire before it trims.
    bound = model_spec(OFFLINE_MODEL).truncation_at if defaults else trigger_tokens + biggest_exchange
    return soak_figures(session, user_turns, bound, clock_s) | {
        "silent_failures": silent,
        "summary_s_max": round(max(summary_s["finished"], default=0.0), 1),
        "summaries_failed": len(summary_s["failed"]),
        "summary_failures": sorted(set(summary_s["reasons"]))[:3],
    }


def _summary_timer(session: VoiceSession, now: Callable[[], float]) -> dict[str, list[Any]]:
    """Seconds each summary took, start to end, by outcome, and why failed ones failed."""
    took: dict[str, list[Any]] = {"finished": [], "failed": [], "reasons": []}
    started: list[float] = []

    def on_event(event: ev.SessionEvent) -> None:
        if isinstance(event, ev.SummaryStarted):
            started[:] = [now()]
        elif isinstance(event, ev.SummaryFinished | ev.SummaryFailed) and started:
            outcome = "finished" if isinstance(event, ev.SummaryFinished) else "failed"
            took[outcome].append(now() - started.pop())
            if isinstance(event, ev.SummaryFailed):
                took["reasons"].append(event.error[:120])

    session.subscribe(on_event)
    return took


def _stress_session(
    trigger_tokens: int,
    keep_last: int,
    reply_tokens: int,
    llm: str | None,
    session_kwargs: dict[str, Any] | None,
) -> VoiceSession:
    """A small trigger, text replies and forced handoffs: every mechanism runs often."""
    from ..engine import EngineConfig

    policy = SummaryPolicy(trigger_tokens=trigger_tokens, keep_last=keep_last)
    engine = EngineConfig(max_reply_tokens=reply_tokens, stt="tiny.en", tts=None, llm=llm)
    kwargs: dict[str, Any] = {"backend": Backend.offline(engine)} | (session_kwargs or {})
    config = SessionConfig(output_modalities=["text"], turn_detection=False)
    return VoiceSession(config, policy=policy, handoff=HandoffPolicy(after_s=None), **kwargs)


def _default_session() -> VoiceSession:
    """``VoiceSession.offline()`` as a user gets it; turns arrive as text, replies are spoken."""
    return VoiceSession.offline(SessionConfig(turn_detection=False))


def soak_figures(session: VoiceSession, user_turns: int, bound: int, clock_s: float) -> dict[str, Any]:
    turns = session.state.turns()
    user_in_log = sum(1 for t in turns if t.role == "user")
    replies = sum(1 for r in session.ledger.records if r.status == "completed")
    expected = user_turns + replies
    return {
        "simulated_minutes": round(clock_s / 60, 1),
        "turns_in_log": len(turns),
        "turns_lost": max(0, expected - len(turns)) + max(0, user_turns - user_in_log),
        "handoffs": session.handoffs,
        "summaries": session.summaries,
        "max_window_tokens": session.ledger.max_window_tokens,
        "window_bound_tokens": bound,
        "window_bounded": session.ledger.max_window_tokens <= bound,
        "responses": len(session.ledger.records),
        "errors": len(session.errors),
    }


def main(
    minutes: float, handoff_every: float, as_json: bool, defaults: bool = False, realtime: bool = False
) -> int:
    run = soak(minutes, handoff_every, progress=sys.stderr.write, defaults=defaults, realtime=realtime)
    figures = asyncio.run(run)
    print(json.dumps(figures) if as_json else "\n".join(f"{k}: {v}" for k, v in figures.items()))
    ok = figures["turns_lost"] == 0 and figures["window_bounded"] and figures["silent_failures"] == 0
    return 0 if ok else 1
