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
from .config import EngineConfig
from .server import OfflineEngine
from .speech import synthesise

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
    n_turns: int = 5, *, engine: OfflineEngine | None = None, config: EngineConfig | None = None
) -> dict[str, Any]:
    """p50/p95 voice-to-voice latency in seconds over ``n_turns`` spoken questions, plus the samples."""
    if engine is not None:
        return await _measure(engine, n_turns)
    async with OfflineEngine(config) as eng:
        return await _measure(eng, n_turns)


async def _measure(engine: OfflineEngine, n_turns: int) -> dict[str, Any]:
    from openai import AsyncOpenAI

    samples: list[float] = []
    client = AsyncOpenAI(api_key="bench", websocket_base_url=engine.url)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session={"type": "realtime"})
        for turn in range(n_turns):
            pcm = synthesise(QUESTIONS[turn % len(QUESTIONS)])
            samples.append(await _one_turn(conn, pcm))
    ordered = sorted(samples)
    return {
        "p50_s": statistics.median(ordered),
        "p95_s": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "samples_s": samples,
        "models": engine.models_used,
    }


async def _one_turn(conn: Any, pcm: bytes) -> float:
    """Stream lead-in silence, the question and then silence like a live mic until the reply is done."""
    loop = asyncio.get_running_loop()
    first_audio = loop.create_future()
    done = asyncio.Event()

    async def read() -> None:
        async for event in conn:
            if event.type == "response.output_audio.delta" and not first_audio.done():
                first_audio.set_result(loop.time())
            elif event.type == "response.done":
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
        raise RuntimeError("the response produced no audio")
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
