"""Voice-to-voice latency of the offline engine, measured through the official SDK client.

Latency = end of user speech in the live-paced input stream → first ``response.output_audio.delta``
received by the client. It includes the VAD's silence window, STT, the LLM's first sentence and its
synthesis: everything a user waits for.
"""

from __future__ import annotations

import asyncio
import base64
import statistics
from typing import Any

import numpy as np

from ..audio import SAMPLE_RATE, chunk_pcm, pcm_duration_s, pcm_to_float, silence
from ..engine.config import EngineConfig
from ..engine.server import OfflineEngine
from ..engine.speech import synthesize

QUESTIONS = [
    "What is the capital of France?",
    "Can you name a color of the sky?",
    "How many days are in a week?",
    "What do bees make?",
    "Tell me a fruit that is yellow.",
]
LEAD_IN_S = 0.4
CHUNK_MS = 40


def speech_end_s(pcm: bytes, level: float = 0.02) -> float:
    """Seconds from the start of ``pcm`` to its last sample above ``level`` (trailing silence excluded)."""
    loud = np.flatnonzero(np.abs(pcm_to_float(pcm)) > level)
    return (loud[-1] + 1) / SAMPLE_RATE if len(loud) else 0.0


async def v2v_latency(
    n_turns: int = 5,
    *,
    engine: OfflineEngine | None = None,
    config: EngineConfig | None = None,
    summary_every: int = 0,
) -> dict[str, Any]:
    """p50/p95 voice-to-voice latency in seconds over ``n_turns`` spoken questions, plus the samples;
    with ``summary_every`` the turns right after a summary are reported apart (``after_summary``)."""
    if engine is not None:
        return await _measure(engine, n_turns, summary_every)
    async with OfflineEngine(config) as eng:
        return await _measure(eng, n_turns, summary_every)


async def _measure(engine: OfflineEngine, n_turns: int, summary_every: int = 0) -> dict[str, Any]:
    """Every ``summary_every`` turns (0: never) a summary replaces the older turns, as the session's
    summariser does (a system item at the root, older items deleted), and the next turn is timed
    separately: its prompt prefix changed, so it relies on the engine's background prefill."""
    return {
        **await spoken_turns(engine.url, None, n_turns, summary_every, engine),
        "models": engine.models_used,
    }


async def spoken_turns(
    url: str, token: str | None, n_turns: int, summary_every: int = 0, engine: OfflineEngine | None = None
) -> dict[str, Any]:
    """v2v p50/p95 and samples of ``n_turns`` spoken questions on one connection to the server at ``url``
    (``token``: its bearer token; the fake summaries need the in-process ``engine``)."""
    from openai import AsyncOpenAI

    samples: list[float] = []
    after: list[float] = []
    if token:
        client = AsyncOpenAI(api_key=token, websocket_base_url=url)
    else:
        client = AsyncOpenAI(websocket_base_url=url, _enforce_credentials=False)  # a server that wants no key
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session={"type": "realtime"})
        summarised = False
        for turn in range(n_turns):
            pcm = synthesize(QUESTIONS[turn % len(QUESTIONS)])
            latency = await _one_turn(conn, pcm)
            (after if summarised else samples).append(latency)
            summarised = False
            if engine and summary_every and turn % summary_every == summary_every - 1 and turn < n_turns - 1:
                await _fake_summary(conn, engine, turn)
                summarised = True
    return {
        **percentiles(samples),
        "samples_s": samples,
        "after_summary": percentiles(after) if after else None,
        "after_summary_samples_s": after,
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_s": statistics.median(ordered),
        "p95_s": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
    }


async def _fake_summary(conn: Any, engine: OfflineEngine, turn: int) -> None:
    """Insert a summary at the root and delete everything but the last two items."""
    items = list(engine.connections[-1].conversation.items)
    text = f"Summary of the earlier conversation: the user asked {turn + 1} general-knowledge questions."
    item = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": text}]}
    await conn.conversation.item.create(item=item, previous_item_id="root")
    for old in items[:-2]:
        await conn.conversation.item.delete(item_id=old.id)


async def concurrent_sessions(
    n_sessions: int, n_turns: int = 3, *, config: EngineConfig | None = None
) -> dict[str, Any]:
    """v2v p50/p95 over ``n_sessions`` sessions speaking at once to one engine (one shared model)."""
    async with OfflineEngine(config) as eng:

        async def one(i: int) -> list[float]:
            await asyncio.sleep(i * 0.7)  # staggered starts, as real users are
            return (await _measure(eng, n_turns))["samples_s"]

        results = await asyncio.gather(*(one(i) for i in range(n_sessions)))
        samples = [s for r in results for s in r]
        return {
            "sessions": n_sessions,
            **percentiles(samples),
            "samples_s": samples,
            "models": eng.models_used,
        }


async def _one_turn(conn: Any, pcm: bytes) -> float:
    """Stream lead-in silence, the question and then silence like a live mic until the reply is done."""
    loop = asyncio.get_running_loop()
    first_audio = loop.create_future()
    done = asyncio.Event()
    ended: list[Any] = []  # the response.done, to say why a reply had no audio

    async def read() -> None:
        async for event in conn:
            if event.type == "response.output_audio.delta" and not first_audio.done():
                first_audio.set_result(loop.time())
            elif event.type == "response.done":
                ended.append(event.response)
                done.set()
                return

    reader = asyncio.create_task(read())
    start = loop.time()
    speech_end_at = start + LEAD_IN_S + speech_end_s(pcm)
    stream = silence(LEAD_IN_S) + pcm
    sent = 0.0
    for chunk in chunk_pcm(stream, CHUNK_MS) + chunk_pcm(silence(30.0), CHUNK_MS):
        if done.is_set():
            break
        await conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
        sent += pcm_duration_s(chunk)
        await asyncio.sleep(max(0.0, start + sent - loop.time()))
    await reader
    if not first_audio.done():
        why = f"status {ended[0].status}: {ended[0].status_details}" if ended else "no response.done"
        raise RuntimeError(f"the response produced no audio ({why})")
    return first_audio.result() - speech_end_at


def main() -> None:
    """Print the benchmark (for ``voicenb bench``)."""
    result = asyncio.run(v2v_latency())
    print(f"voice-to-voice latency: p50 {result['p50_s']:.3f} s, p95 {result['p95_s']:.3f} s")
    print("samples:", ", ".join(f"{s:.3f}" for s in result["samples_s"]))
    for part, how in result["models"].items():
        print(f"  {part}: {how}")


if __name__ == "__main__":
    main()
