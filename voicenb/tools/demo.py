"""The live summarising bot, end to end, with a scripted spoken user (no microphone needed).

User turns are synthesised offline and streamed in real time, like a microphone; the session runs
against the offline engine unless a key/URL is given. Prints transcripts, the token window after
every response and each summary; with ``as_json`` the last line is one JSON object of figures.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .. import events as ev
from ..audio import pcm_source, silence
from ..economics import window_breakdown
from ..policy import SummaryPolicy
from ..session import Backend, SessionConfig, VoiceSession
from ..state import ConversationState
from ..tokens import TokenLedger

SCRIPT = [
    "Hi, my name is Anna Miller and I'm planning a trip to Lisbon.",  # names the recogniser hears
    "I want to fly out on the twelfth of May and come back on the nineteenth.",
    "My budget for the hotel is one hundred and twenty euros a night.",
    "I'm vegetarian, so please keep that in mind for restaurants.",
    "Actually, make the return the twentieth of May instead.",
    "Can you suggest a neighbourhood that is good for walking?",
    "What should I pack for the weather in May?",
    "Thanks. What was my hotel budget again?",
]
# The last question is answered from the summary by then: any of these in the reply counts as recalled.
RECALL_ANSWERS = ("120", "hundred and twenty", "hundred twenty")


def _printer(out: Callable[[str], None], ledger: TokenLedger) -> Callable[[ev.SessionEvent], None]:
    def show(event: ev.SessionEvent) -> None:
        match event:
            case ev.Connected(url=url, offline=offline):
                out(f"connected to {url} ({'offline engine' if offline else 'remote'})")
            case ev.TranscriptDone(role=role, text=text):
                out(f"{role:>9}: {text}")
            case ev.TranscriptFailed(item_id=item_id, error=error):
                out(f"     user: [transcription failed for {item_id}: {error}]")
            case ev.UsageUpdated(record=rec):
                figures = window_breakdown(ledger)  # the same window the panel and notebooks show
                out(f"   {figures.describe()} | {rec.status} | total ${rec.cumulative_cost_usd:.4f}")
            case ev.SummaryStarted(item_ids=ids):
                out(f"  summary: folding {len(ids)} items...")
            case ev.SummaryFinished(text=text, deleted_ids=deleted):
                out(f"  summary: inserted at root, {len(deleted)} items deleted:")
                out("\n".join(f"           {line}" for line in text.splitlines()))
            case ev.TurnsDropped(item_ids=ids, window_tokens=window):
                out(f"  summary: behind at {window:,} tokens: {len(ids)} items left the window for the next")
            case ev.SummaryFailed(error=error, retry_in_s=delay):
                out(f"  summary: FAILED ({error}); retry in {delay:.0f}s")
            case ev.Error(message=message, code=code):
                out(f"    error: {message} ({code})")

    return show


async def run_demo(
    script: Sequence[str] = SCRIPT,
    *,
    trigger_tokens: int = 700,
    keep_last: int = 4,
    realtime: bool = True,
    session_kwargs: dict[str, Any] | None = None,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Speak ``script`` to the bot turn by turn; return the figures the CLI prints as JSON."""
    from ..engine.speech import synthesize  # offline TTS for the scripted user

    kwargs: dict[str, Any] = {"backend": Backend.offline()} | (
        session_kwargs or {}
    )  # offline unless told otherwise
    policy = SummaryPolicy(trigger_tokens=trigger_tokens, keep_last=keep_last, min_turns=2)
    session = VoiceSession(SessionConfig(), policy=policy, **kwargs)
    responses = asyncio.Event()
    session.subscribe(_printer(out, session.ledger))
    out(session.backend.describe())
    session.subscribe(lambda e: responses.set() if isinstance(e, ev.UsageUpdated) else None)
    async with session:
        for text in script:
            responses.clear()
            speech = synthesize(text) + silence(1.2)  # trailing silence ends the turn (server VAD)
            await session.pump(pcm_source(speech, realtime=realtime))
            try:
                await asyncio.wait_for(responses.wait(), timeout=60)
            except TimeoutError:
                out("    (no response within 60 s)")
        await session.wait_idle(quiet_s=1.0)
    return demo_figures(session, len(script))


def recalled(state: ConversationState, answers: Sequence[str] = RECALL_ANSWERS) -> bool:
    """Did the bot's last reply contain the answer? False is possible and shown, never forced."""
    replies = [t for t in state.turns() if t.role == "assistant"]
    return bool(replies) and any(a in replies[-1].text.lower() for a in answers)


def demo_figures(session: VoiceSession, user_turns_spoken: int) -> dict[str, Any]:
    """Figures of a finished session; a turn is lost if it was spoken/answered but is not in the log."""
    log_turns = session.state.turns()
    answered = sum(1 for r in session.ledger.records if r.status == "completed" and r.usage.output_tokens)
    expected = user_turns_spoken + answered
    return {
        "responses": len(session.ledger.records),
        "summaries": session.summaries,
        "items_deleted": sum(1 for i in session.state.log.values() if not i.in_window),
        "turns_in_log": len(log_turns),
        "turns_lost": max(0, expected - len(log_turns)),
        "max_window_tokens": session.ledger.max_window_tokens,
        "final_window_tokens": session.ledger.window_tokens,
        "cost_usd": round(session.ledger.cumulative_cost_usd, 6),
        "offline": session.is_offline,
        "recall_ok": recalled(session.state),
    }


def main(as_json: bool = False, realtime: bool = True) -> int:
    figures = asyncio.run(run_demo(realtime=realtime))
    print(json.dumps(figures) if as_json else f"figures: {json.dumps(figures)}")
    return 0 if figures["turns_lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
