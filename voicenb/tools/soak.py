"""`voicenb soak`: a long simulated conversation with forced handoffs, checking nothing is lost.

Scripted user turns go to the offline engine as text; the engine's LLM replies. A simulated clock
advances by each turn's spoken length (2.5 words/s plus a pause), and every ``handoff_every_min``
simulated minutes the session hands off to a fresh server session. At the end every turn must be in
the full log and the window must have stayed within the trigger plus one exchange.

By default turns go back to back (faster than real time: a stress test), the engine acknowledges each
turn with a scripted reply of about ``reply_tokens`` words (`AcknowledgingReplies`) and the extractive
summariser folds: the soak checks that nothing is lost across handoffs and folds, not what the words
are, and two simulated hours finish in minutes. ``local_model`` (``voicenb soak --local-model``) replies
and summarises with the engine's default local model instead (seconds a turn on two cores). With
``realtime`` each turn takes the wall time a caller would: the user speaks it, then listens to the whole
reply, so the engine has the gaps a real conversation gives it (for summaries and cache warm-ups).
With ``defaults`` the window must stay under the offline engine's truncation point (summaries fire
before the engine trims), and no reply may end with no words and no ``error`` event (a silent failure).

A run always reports: a reply that does not come in time (its limit grows with the window) is cancelled,
counted and named; three in a row, or a spent ``max_wall_s``, end the run early with one line saying why
(``stopped``) beside the figures it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

from .. import events as ev
from ..policy import SummaryPolicy
from ..session import Backend, HandoffPolicy, SessionConfig, VoiceSession
from ..session.defaults import OFFLINE_MODEL
from ..summarisers import ExtractiveSummariser
from ..tokens import count_text_tokens, model_spec
from .eval.probes import PREFILL_TOKENS_PER_S
from .eval.replay import FoldClock
from .latency import percentiles
from .scripted import AcknowledgingReplies

WORDS_PER_S = 2.5
PAUSE_S = 2.0
REPLY_BASE_S = 60.0  # a reply's time limit: this, plus its window read at the slow rate below
LATE_IN_A_ROW = 3  # replies in a row that miss their limit: the engine is stuck, stop and report
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
    llm: Any = None,
    progress: Callable[[str], object] | None = None,
    session_kwargs: dict[str, Any] | None = None,
    defaults: bool = False,
    realtime: bool = False,
    local_model: bool = False,
    max_wall_s: float | None = None,
    max_turns: int | None = None,
) -> dict[str, Any]:
    """Run the simulated conversation; return the figures `voicenb soak --json` prints. With
    ``defaults`` the session is ``VoiceSession.offline()``'s own (default model, trigger, summariser,
    spoken replies, no forced handoffs): the check that a long default session never fails silently.
    ``max_turns`` ends it after that many user turns (`voicenb bench --long-session`)."""
    replies, loop = asyncio.Event(), asyncio.get_running_loop()
    fast = not (defaults or local_model)
    if fast:  # scripted replies and the extractive summariser, unless the caller chose
        llm = llm or AcknowledgingReplies(reply_tokens)
        session_kwargs = {"summariser": ExtractiveSummariser(), **(session_kwargs or {})}
    stress = (trigger_tokens, keep_last, reply_tokens, llm, session_kwargs)
    session = _default_session() if defaults else _stress_session(*stress)
    trigger_tokens = session.policy.trigger_tokens
    session.subscribe(lambda e: replies.set() if isinstance(e, ev.UsageUpdated) else None)
    folds = FoldClock(loop.time)
    session.subscribe(folds.on_event)
    waits = ReplyClock(loop.time)
    session.subscribe(waits.on_event)
    clock_s, next_handoff_s, user_turns, biggest_exchange = 0.0, handoff_every_min * 60, 0, 0
    silent, late, in_a_row, stopped = 0, [], 0, None
    started = loop.time()
    async with session:
        parts = {"summariser": _summariser_name(session), "reply_model": _model_name(llm)}
        if progress:
            progress(f"soak: replies from {parts['reply_model']}, summaries by {parts['summariser']}\n")
        try:
            for line in user_lines():
                if clock_s >= minutes * 60 or (max_turns is not None and user_turns >= max_turns):
                    break
                if max_wall_s is not None and loop.time() - started > max_wall_s:
                    stopped = (
                        f"wall-clock budget of {max_wall_s:g} s spent, at simulated minute {clock_s / 60:.1f}"
                    )
                    break
                replies.clear()
                errors_before = len(session.errors)
                if realtime:
                    await asyncio.sleep(spoken_s(line))  # the caller is speaking
                sent = waits.sent()
                await session.send_text(line)
                user_turns += 1
                limit_s = REPLY_BASE_S + session.window_tokens / PREFILL_TOKENS_PER_S
                if not await _reply_within(session, replies, limit_s):
                    late.append(f"turn {user_turns} (no reply within {limit_s:.0f} s)")
                    in_a_row += 1
                    if in_a_row >= LATE_IN_A_ROW:
                        stopped = f"{LATE_IN_A_ROW} replies in a row timed out, at turn {user_turns}"
                        break
                    continue
                in_a_row = 0
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
                    of = f"/{max_turns}" if max_turns is not None else ""
                    progress(f"\r{clock_s / 60:6.1f}/{minutes:g} min  turns {user_turns}{of}  "
                             f"window {session.window_tokens}  summaries {session.summaries}  "
                             f"handoffs {session.handoffs}")  # fmt: skip
        except Exception as e:  # report it with the figures so far, not a bare traceback
            stopped = f"{type(e).__name__} at turn {user_turns}: {e}"
    if progress:
        progress("\n")
    # Back to back, a summary lands within an exchange; at a caller's pace on a small machine it takes
    # a few, so there the bound is the engine's own truncation point: summaries fire before it trims.
    bound = model_spec(OFFLINE_MODEL).truncation_at if defaults else trigger_tokens + biggest_exchange
    return (
        soak_figures(session, user_turns, bound, clock_s)
        | parts
        | {
            "stopped": stopped,
            "replies_timed_out": late[:10],
            "wall_s": round(loop.time() - started, 1),
            "silent_failures": silent,
            "summary_s_max": round(max((s for ok, s, _ in folds.records if ok), default=0.0), 1),
            "summaries_failed": sum(1 for ok, _, _ in folds.records if not ok),
            "summary_failures": sorted({why for ok, _, why in folds.records if not ok})[:3],
            "summary_s": folds.seconds,
            "items_dropped": folds.dropped,
        }
        | waits.figures()
    )


async def long_session(turns: int, progress: Callable[[str], object] | None = None) -> dict[str, Any]:
    """`voicenb bench --long-session N`: ``turns`` typed turns, back to back, through
    ``VoiceSession.offline()`` as a user gets it (default model, trigger and summariser, spoken
    replies): what each reply waited (p50, p95, max), the folds and the window."""
    return await soak(float("inf"), float("inf"), defaults=True, max_turns=turns, progress=progress)


class ReplyClock:
    """Per user turn, seconds from sending it to its reply's first words or audio: what a caller waits
    for. A turn whose reply never starts has no sample (``replies_timed_out`` names it)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.samples: list[float] = []
        self._sent: float | None = None

    def sent(self) -> float:
        self._sent = self.now()
        return self._sent

    def on_event(self, event: ev.SessionEvent) -> None:
        replied = isinstance(event, ev.AudioDelta) or (
            isinstance(event, ev.TranscriptDelta) and event.role == "assistant"
        )
        if replied and self._sent is not None:
            self.samples.append(self.now() - self._sent)
            self._sent = None

    def figures(self) -> dict[str, Any]:
        if not self.samples:
            return {"reply_wait_p50_s": None, "reply_wait_p95_s": None, "reply_wait_max_s": None}
        p = percentiles(self.samples)
        return {
            "reply_wait_p50_s": round(p["p50_s"], 2), "reply_wait_p95_s": round(p["p95_s"], 2),
            "reply_wait_max_s": round(max(self.samples), 2),
            "reply_waits_over_3s": sum(1 for s in self.samples if s > 3.0), "reply_waits": len(self.samples),
        }  # fmt: skip


async def _reply_within(session: VoiceSession, replies: asyncio.Event, limit_s: float) -> bool:
    """Whether the reply came in time; a late one is cancelled, so the next turn is not refused."""
    try:
        await asyncio.wait_for(replies.wait(), timeout=limit_s)
        return True
    except TimeoutError:
        if session.core.response_active:
            await session.cancel_response()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(replies.wait(), timeout=REPLY_BASE_S)
        return False


def _model_name(llm: Any) -> str:
    if llm is None:
        return "the engine's default local model"
    return llm if isinstance(llm, str) else f"scripted ({type(llm).__name__})"


def _summariser_name(session: VoiceSession) -> str:
    summariser = session.summariser
    if isinstance(summariser, ExtractiveSummariser):
        return "the extractive ExtractiveSummariser"
    return f"{type(summariser).__name__} (the local model behind the engine's chat endpoint)"


def _stress_session(
    trigger_tokens: int,
    keep_last: int,
    reply_tokens: int,
    llm: Any,
    session_kwargs: dict[str, Any] | None,
) -> VoiceSession:
    """A small trigger, text replies and forced handoffs: every mechanism runs often. Turns are typed,
    replies are text: no speech model is loaded."""
    from ..engine import EngineConfig

    policy = SummaryPolicy(trigger_tokens=trigger_tokens, keep_last=keep_last)
    unused = object()  # parts given as objects are used as they are: these are never called
    engine = EngineConfig(max_reply_tokens=reply_tokens, stt=unused, tts=unused, llm=llm)
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
    minutes: float, handoff_every: float, as_json: bool, defaults: bool = False, realtime: bool = False,
    local_model: bool = False, max_wall_s: float | None = None,
) -> int:  # fmt: skip
    run = soak(minutes, handoff_every, progress=sys.stderr.write, defaults=defaults, realtime=realtime,
               local_model=local_model, max_wall_s=max_wall_s)  # fmt: skip
    figures = asyncio.run(run)
    if figures["stopped"]:
        print(f"soak stopped early: {figures['stopped']}; the figures so far follow", file=sys.stderr)
    print(json.dumps(figures) if as_json else "\n".join(f"{k}: {v}" for k, v in figures.items()))
    ok = figures["turns_lost"] == 0 and figures["window_bounded"] and figures["silent_failures"] == 0
    return 0 if ok and not figures["stopped"] and not figures["replies_timed_out"] else 1
