"""Barge-in figures with the real openai-agents client and the slowed reply parts:
``python -m tests.engine.bench_bargein [TRIALS] [--blocking]``.

For each moment (``bargein.MOMENTS``) TRIALS barge-ins (default 20) in one agents session: how many
replies were cancelled (reason ``turn_detected``) within 300 ms of ``speech_started`` as the client saw
both, and how many interrupting turns were answered (a completed response). ``--blocking``: the prefill
and synthesis cannot be interrupted (one uninterruptible block each, as llama.cpp's and piper's calls).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys

from tests.engine.bargein import (
    MOMENTS,
    Phases,
    SlowReplyModel,
    SlowTTS,
    Trial,
    agents_session,
    barge_in,
    slowed_engine,
)

WITHIN_MS = 300


async def moment_figures(moment: str, trials: int, blocking: bool) -> dict:
    phases = Phases()
    parts = {}
    if blocking:
        parts = {"llm": SlowReplyModel(phases, prefill_s=1.0, step_s=None), "tts": SlowTTS(phases, 0.8)}
    results: list[Trial] = []
    async with (
        slowed_engine(phases, **parts) as engine,
        agents_session(engine.url, engine.config.token) as (
            s,
            events,
        ),
    ):
        for _ in range(trials):
            results.append(await barge_in(s, events, phases, moment))
    cancelled = [t for t in results if (t.status, t.reason) == ("cancelled", "turn_detected")]
    latencies = sorted(t.cancel_ms for t in cancelled if t.cancel_ms is not None)
    return {
        "moment": moment,
        "trials": trials,
        f"cancelled_within_{WITHIN_MS}ms": sum(ms <= WITHIN_MS for ms in latencies),
        "cancelled": len(cancelled),
        "answered": sum(t.answered for t in results),
        "late_events": sum(t.late_events for t in results),
        "cancel_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "cancel_ms_max": round(latencies[-1], 1) if latencies else None,
    }


async def main(trials: int, blocking: bool) -> None:
    for moment in MOMENTS:
        print(json.dumps(await moment_figures(moment, trials, blocking)), flush=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(main(int(args[0]) if args else 20, "--blocking" in sys.argv))
