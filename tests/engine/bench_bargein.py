"""Barge-in figures with the real openai-agents client and the slowed reply parts:
``python -m tests.engine.bench_bargein [TRIALS] [--blocking | --real]``.

For each moment (``bargein.MOMENTS``) TRIALS barge-ins (default 20) in one agents session: how many
replies were cancelled (reason ``turn_detected``) within 300 ms of ``speech_started`` as the client saw
both, and how many interrupting turns were answered (a completed response). ``--blocking``: the prefill
and synthesis cannot be interrupted (one uninterruptible block each, as llama.cpp's and piper's calls).
``--real``: the engine's real models and spoken turns (default 5 trials per moment; minutes on 2 cores).
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


async def real_figures(trials: int) -> dict:
    """The same client against the engine with its real models (silero, whisper, the default reply
    model, piper) and spoken turns: barge in right after response.created (transcription, prefill) and
    after the first audio delta (generation, synthesis)."""
    from tests.engine.bargein import of_type
    from voicenb.audio import chunk_pcm, silence
    from voicenb.engine import EngineConfig, OfflineEngine
    from voicenb.engine.speech import synthesize

    ask = silence(0.3) + synthesize("Tell me a long story about a dragon and a castle.") + silence(0.8)
    stop = silence(0.3) + synthesize("Stop. What is two plus two?") + silence(0.8)

    async def say(session: object, pcm: bytes) -> None:
        loop = asyncio.get_running_loop()
        start, sent = loop.time(), 0.0
        for chunk in chunk_pcm(pcm, 40):
            await session.send_audio(chunk)  # type: ignore[attr-defined]
            sent += len(chunk) / 48000
            await asyncio.sleep(max(0.0, start + sent - loop.time()))  # a microphone's pace

    out: dict = {}
    async with OfflineEngine(EngineConfig(token="bargein-real", max_reply_sentences=6)) as engine:
        out["models"] = engine.models_used
        long_answers = "Answer at length, in six sentences or more."  # a reply long enough to interrupt
        async with agents_session(engine.url, "bargein-real", long_answers) as (s, events):
            for moment, wanted in (
                ("after_created", "response.created"),
                ("audio", "response.output_audio.delta"),
            ):
                latencies, answered, outcomes = [], 0, []
                for _ in range(trials):
                    mark = len(events.seen)
                    await say(s, ask)
                    n, _, first = await events.wait(of_type(wanted), mark, timeout=120)
                    rid = first.get("response_id") or first.get("response", {}).get("id")
                    interrupt = len(events.seen)
                    await say(s, stop)
                    _, t0, _ = await events.wait(of_type("input_audio_buffer.speech_started"), interrupt, 60)
                    _, t1, done = await events.wait(
                        lambda e, rid=rid: e.get("type") == "response.done" and e["response"]["id"] == rid,
                        n,
                        120,
                    )
                    reason = (done["response"].get("status_details") or {}).get("reason")
                    outcomes.append(f"{done['response']['status']} {reason or ''}".strip())
                    if reason == "turn_detected":
                        latencies.append((t1 - t0) * 1000)
                    k, _, nxt = await events.wait(
                        lambda e, rid=rid: e.get("type") == "response.created" and e["response"]["id"] != rid,
                        interrupt, 120,
                    )  # fmt: skip
                    _, _, end = await events.wait(
                        lambda e, i=nxt["response"]["id"]: e.get("type") == "response.done"
                        and e["response"]["id"] == i, k, 180,
                    )  # fmt: skip
                    answered += end["response"]["status"] == "completed"
                out[moment] = {
                    "trials": trials, "cancelled": len(latencies),
                    f"cancelled_within_{WITHIN_MS}ms": sum(ms <= WITHIN_MS for ms in latencies),
                    "answered": answered, "cancel_ms": [round(ms, 1) for ms in latencies],
                    "interrupted_reply_ended": outcomes,
                }  # fmt: skip
                print(json.dumps({moment: out[moment]}), flush=True)
    return out


async def main(trials: int, blocking: bool) -> None:
    for moment in MOMENTS:
        print(json.dumps(await moment_figures(moment, trials, blocking)), flush=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--real" in sys.argv:
        print(json.dumps(asyncio.run(real_figures(int(args[0]) if args else 5))))
    else:
        asyncio.run(main(int(args[0]) if args else 20, "--blocking" in sys.argv))
