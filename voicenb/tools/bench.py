"""`voicenb bench`: figures, not tests.

(a) Session-core throughput: a synthesised hour of GA server events (user turns with VAD and
    transcripts, assistant turns streaming 100 ms audio deltas and transcript deltas, usage) is
    parsed once with the SDK's own server-event parser, then replayed through `SessionCore.handle()`
    (the one dispatch table) with a subscriber attached; reported as × realtime.
(b) Voice-to-voice latency of the offline engine, p50/p95 (`voicenb.tools.latency.v2v_latency`: end of
    the user's speech → first audio delta; needs the offline speech models).
(c) Summary overlap: the latency of a turn (send → first reply event at a subscriber) through a real
    session on the offline engine (scripted reply parts, so only the session and protocol are timed),
    with and without a summary of a long conversation running at the same time; reported as the
    added median latency in ms.
(d) Long session: typed turns back to back through the default offline session (`long_session_figures`).
(e) Fold pace (`voicenb.tools.fold_pace`): the default offline summariser folding about N tokens of
    turns.
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from .. import events as ev
from ..policy import SummaryPolicy
from ..session import Backend, SessionConfig, SessionCore, VoiceSession

AUDIO_DELTA_MS = 100
TURN_TIMEOUT_S = 30.0  # a scripted reply in (c) takes milliseconds: past this the engine is stuck
_SENTENCES = [
    "My order number is HH-{k:05d} and the surname is Sethi.",
    "Could we move the delivery to Monday the {d}th, between seven and one?",
    "I'd rather have the graphite one, and tell them to use the side gate.",
    "The budget is about £{k} including everything, so please keep it under that.",
]


# --- (a) session-core throughput ---------------------------------------------------------------


def _usage(window: int, out_audio: int, out_text: int) -> dict[str, Any]:
    cached = {"text_tokens": 20, "audio_tokens": window // 2 - 20}
    return {
        "total_tokens": window + out_audio + out_text, "input_tokens": window,
        "output_tokens": out_audio + out_text,
        "input_token_details": {"text_tokens": 20, "audio_tokens": window - 20, "cached_tokens": window // 2,
                                "cached_tokens_details": cached},
        "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
    }  # fmt: skip


def _exchange(k: int, user_s: float, reply_s: float, window: int) -> list[dict[str, Any]]:
    """One user turn and its spoken reply as the server sends them (GA event shapes)."""
    user, asst, rid = f"item_u{k:05d}", f"item_a{k:05d}", f"resp_{k:05d}"
    said = _SENTENCES[k % len(_SENTENCES)].format(k=k, d=k % 28 + 1)
    reply = f"Thanks, I've noted that for you, reference {k}. Is there anything else?"
    msg = lambda i, role, part: {"id": i, "type": "message", "object": "realtime.item", "role": role,  # noqa: E731
                                 "status": "completed", "content": [part]}  # fmt: skip
    ids = {"response_id": rid, "item_id": asst, "output_index": 0, "content_index": 0}
    delta = base64.b64encode(bytes(24 * 2 * AUDIO_DELTA_MS)).decode()
    events: list[dict[str, Any]] = [
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": user},
        {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": int(user_s * 1000), "item_id": user},
        {"type": "input_audio_buffer.committed", "item_id": user, "previous_item_id": None},
        {"type": "conversation.item.added", "item": msg(user, "user", {"type": "input_audio"})},
        {"type": "conversation.item.done", "item": msg(user, "user", {"type": "input_audio"})},
    ]
    for word in said.split(" "):
        events.append({"type": "conversation.item.input_audio_transcription.delta", "item_id": user,
                       "content_index": 0, "delta": word + " "})  # fmt: skip
    events += [
        {"type": "conversation.item.input_audio_transcription.completed", "item_id": user, "content_index": 0,
         "transcript": said},
        {"type": "response.created", "response": {"id": rid, "status": "in_progress"}},
        {"type": "conversation.item.added", "previous_item_id": user,
         "item": msg(asst, "assistant", {"type": "output_audio", "transcript": ""})},
    ]  # fmt: skip
    words = reply.split(" ")
    n_audio = int(reply_s * 1000 / AUDIO_DELTA_MS)
    for n in range(n_audio):  # transcript deltas interleaved with the audio, as the API streams them
        if n < len(words):
            events.append({"type": "response.output_audio_transcript.delta", **ids, "delta": words[n] + " "})
        events.append({"type": "response.output_audio.delta", **ids, "delta": delta})
    done_item = msg(asst, "assistant", {"type": "output_audio", "transcript": reply})
    events += [
        {"type": "response.output_audio.done", **ids},
        {"type": "response.output_audio_transcript.done", **ids, "transcript": reply},
        {"type": "conversation.item.done", "item": done_item},
        {"type": "response.done", "response": {"id": rid, "status": "completed", "output": [done_item],
                                               "usage": _usage(window, int(reply_s * 20), 20)}},
        {"type": "rate_limits.updated", "rate_limits": []},
    ]  # fmt: skip
    return events


def synthetic_hour(seconds: float = 3600.0, user_s: float = 8.0, reply_s: float = 12.0) -> list[Any]:
    """Server events of ``seconds`` of conversation, parsed by the SDK's own server-event parser."""
    from openai._models import construct_type_unchecked
    from openai.types.realtime import RealtimeServerEvent

    events, t, k, window = [], 0.0, 0, 500
    while t < seconds:
        for e in _exchange(k, user_s, reply_s, window):
            e.setdefault("event_id", f"event_{len(events)}")
            events.append(
                construct_type_unchecked(value=json.loads(json.dumps(e)), type_=RealtimeServerEvent)  # pyright: ignore[reportArgumentType]
            )
        t, k, window = t + user_s + reply_s, k + 1, window + int(user_s * 10 + reply_s * 20)
    return events


def core_throughput(seconds: float = 3600.0) -> dict[str, Any]:
    """Replay ``seconds`` of server events through `SessionCore.handle()`; × realtime."""
    events = synthetic_hour(seconds)
    policy = SummaryPolicy(trigger_tokens=10**9)  # the summary path is (c)'s business
    session = SessionCore(SessionConfig(), policy)
    seen = [0]
    session.subscribe(lambda e: seen.__setitem__(0, seen[0] + 1))  # a view that counts what it is shown
    start = time.perf_counter()
    for event in events:
        session.handle(event)
    elapsed = time.perf_counter() - start
    if session.errors:
        raise RuntimeError(f"replay produced errors: {session.errors[0].message}")
    return {
        "core_x_realtime": round(seconds / elapsed, 1),
        "core_events": len(events),
        "core_events_per_s": round(len(events) / elapsed),
        "core_wall_s": round(elapsed, 3),
        "core_published": seen[0],
    }


# --- (b) voice-to-voice latency ----------------------------------------------------------------


async def v2v(n_turns: int) -> dict[str, Any]:
    """The engine author's measurement; None figures (with the reason) when the speech models are missing."""
    try:
        from .latency import v2v_latency

        result = await v2v_latency(n_turns, summary_every=3)  # turns right after a summary apart
    except Exception as exc:  # MissingExtraError, or no engine yet
        return {
            "v2v_latency_p50_s": None,
            "v2v_latency_p95_s": None,
            "v2v_error": f"{type(exc).__name__}: {exc}",
        }
    after = result.get("after_summary")
    return {
        "v2v_latency_p50_s": round(result["p50_s"], 3),
        "v2v_latency_p95_s": round(result["p95_s"], 3),
        "v2v_samples_s": [round(s, 3) for s in result.get("samples_s", [])],
        "v2v_after_summary_p50_s": round(after["p50_s"], 3) if after else None,
        "v2v_after_summary_p95_s": round(after["p95_s"], 3) if after else None,
        "v2v_models": result.get("models"),
    }


# --- (c) a turn overlapping a summary ----------------------------------------------------------


async def _turn_latency(session: VoiceSession, replies: Any, text: str) -> float:
    """Send a user turn; seconds until the reply's first event reaches a subscriber, then its end."""
    loop = asyncio.get_running_loop()
    first, done = loop.create_future(), loop.create_future()

    def watch(e: ev.SessionEvent) -> None:
        if (
            isinstance(e, ev.TranscriptDelta | ev.AudioDelta)
            and e.item_id not in seen_before
            and not first.done()
        ):
            first.set_result(time.perf_counter())
        if isinstance(e, ev.UsageUpdated) and not done.done():
            done.set_result(None)

    seen_before = set(session.state.log)
    unsubscribe = session.subscribe(watch)
    replies.say("Of course, I have noted that down for you.")
    start = time.perf_counter()
    await session.send_text(text)
    try:
        await asyncio.wait_for(done, TURN_TIMEOUT_S)
    except TimeoutError:
        raise TimeoutError(f"no reply to {text!r} within {TURN_TIMEOUT_S:g} s") from None
    finally:
        unsubscribe()
    return first.result() - start


async def summary_overlap(rounds: int = 10, turns_per_round: int = 30) -> dict[str, Any]:
    """Median turn latency with and without a summary of ``turns_per_round`` exchanges running."""
    from ..engine import OfflineEngine
    from .eval.replay import EvalSettings, engine_config
    from .scripted import ScriptedReplies

    replies = ScriptedReplies()
    async with OfflineEngine(engine_config(EvalSettings(), replies)) as engine:
        policy = SummaryPolicy(trigger_tokens=10**9, keep_last=2)
        config = SessionConfig(output_modalities=["audio"], turn_detection=False)
        session = VoiceSession(config, policy=policy, backend=Backend.remote(engine.url))
        async with session:
            base, overlap, fold_ms = [], [], []
            for r in range(rounds):
                for k in range(turns_per_round):  # material for the summary
                    await _turn_latency(
                        session, replies, _SENTENCES[k % 4].format(k=r * 100 + k, d=k % 28 + 1)
                    )
                base.append(await _turn_latency(session, replies, "And one more thing about the delivery."))
                started = time.perf_counter()
                task = session.summarise_now()
                overlap.append(
                    await _turn_latency(session, replies, "Also, is the engineer bringing the part?")
                )
                if task is not None:
                    await task
                fold_ms.append((time.perf_counter() - started) * 1000)
    p50 = statistics.median
    return {
        "summary_overlap_ms": round((p50(overlap) - p50(base)) * 1000, 2),
        "turn_latency_ms": round(p50(base) * 1000, 2),
        "turn_latency_during_summary_ms": round(p50(overlap) * 1000, 2),
        "summary_duration_ms": round(p50(fold_ms), 1),
        "summaries": session.summaries,
    }


# --- all ---------------------------------------------------------------------------------------


def run_benchmarks(
    quick: bool = False, out: Callable[[str], None] = print, long_turns: int = 150
) -> dict[str, Any]:
    """Run (a), (b), (c) and, unless ``quick`` or ``long_turns`` is 0, (d); print each figure with
    ``out``; return them all."""
    figures: dict[str, Any] = {}
    core = core_throughput(600.0 if quick else 3600.0)
    figures.update(core)
    span = "10 min" if quick else "1 h"
    out(f"session core: {core['core_x_realtime']:,.0f}× realtime ({core['core_events']:,} events of {span} "
        f"in {core['core_wall_s']:.2f} s, {core['core_events_per_s']:,} events/s)")  # fmt: skip
    lat = asyncio.run(v2v(3 if quick else 16))  # 16: five turns right after a summary
    figures.update(lat)
    if lat["v2v_latency_p50_s"] is None:
        out(f"voice-to-voice latency: skipped ({lat['v2v_error']})")
    else:
        after = (
            f"; right after a summary p50 {lat['v2v_after_summary_p50_s']:.3f} s, "
            f"p95 {lat['v2v_after_summary_p95_s']:.3f} s"
            if lat.get("v2v_after_summary_p50_s")
            else ""
        )
        out(f"voice-to-voice latency (offline engine): p50 {lat['v2v_latency_p50_s']:.3f} s, "
            f"p95 {lat['v2v_latency_p95_s']:.3f} s{after}")  # fmt: skip
    try:
        ov = asyncio.run(summary_overlap(3 if quick else 10, 10 if quick else 30))
    except Exception as exc:  # the figures above still stand: report them, and why this one is missing
        figures["summary_overlap_error"] = f"{type(exc).__name__}: {exc}"
        out(f"turn overlapping a summary: failed ({figures['summary_overlap_error']})")
        return figures
    figures.update(ov)
    out(f"turn overlapping a summary: +{ov['summary_overlap_ms']:.1f} ms (median turn "
        f"{ov['turn_latency_ms']:.1f} ms, {ov['turn_latency_during_summary_ms']:.1f} ms during a "
        f"{ov['summary_duration_ms']:.0f} ms summary)")  # fmt: skip
    if not quick and long_turns:
        figures.update(long_session_figures(long_turns, out))
    return figures


def long_session_figures(turns: int, out: Callable[[str], None] = print) -> dict[str, Any]:
    """(d) ``turns`` typed turns through the default offline session (`voicenb.tools.soak.long_session`),
    as ``long_*`` figures; a run that stops early says why beside what it has."""
    from .soak import long_session

    run = asyncio.run(long_session(turns, progress=sys.stderr.write))
    keys = ("reply_wait_p50_s", "reply_wait_p95_s", "reply_wait_max_s", "reply_waits_over_3s", "reply_waits",
            "summaries", "summary_s", "summaries_failed", "items_dropped", "max_window_tokens", "turns_lost",
            "stopped",
            "replies_timed_out", "wall_s")  # fmt: skip
    figures = {f"long_{k}": run.get(k) for k in keys}
    if figures["long_reply_wait_p50_s"] is None:
        out(f"long session: no reply came ({run['stopped'] or 'no samples'})")
        return figures
    stopped = f"; stopped early: {run['stopped']}" if run["stopped"] else ""
    out(f"long session ({run['reply_waits']} of {turns} typed turns, default offline policy): reply wait "
        f"p50 {run['reply_wait_p50_s']:.2f} s, p95 {run['reply_wait_p95_s']:.2f} s, max "
        f"{run['reply_wait_max_s']:.1f} s ({run['reply_waits_over_3s']} over 3 s); {run['summaries']} "
        f"folds of {run['summary_s']} s; {run['items_dropped']} items held out; "
        f"window max {run['max_window_tokens']:,}{stopped}")  # fmt: skip
    return figures
