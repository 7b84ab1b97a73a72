"""Load and fairness benchmarks of the offline engine (``voicenb bench --load N``), through the SDK client.

- ``run_load(clients)``: N concurrent sessions each send spoken turns (append, commit, response.create);
  reply latency = commit sent → first audio delta. Reports p50/p95 across all turns, and the process's
  RSS before the clients, at its peak during the load and after they left.
- ``run_flood()``: one client's reply latency alone, then while another client floods the engine
  (commits of 100 ms audio, or a stream of tiny appends): the ratio shows whether scheduling is fair.

Figures, not assertions: tests run these with scripted parts; the CLI runs them with the real models.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import os
import statistics
import threading
import time
from typing import Any, cast

from ..audio import SAMPLE_RATE
from ..engine.config import EngineConfig
from ..engine.server import OfflineEngine

NO_VAD_AUDIO_OUT = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
FLOOD_CLIP_S = 0.1


def rss_mb() -> float:
    """Resident memory of this process in MB (psutil when installed, else /proc)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 1e6
    except ImportError:
        with open(f"/proc/{os.getpid()}/status") as status:
            line = next(x for x in status if x.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024 / 1e6


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _stats(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50_s": float("nan"), "p95_s": float("nan"), "max_s": float("nan")}
    return {
        "p50_s": statistics.median(samples),
        "p95_s": percentile(samples, 0.95),
        "max_s": max(samples),
    }


def default_clip() -> bytes:
    """A spoken question from the bundled voice; 1 s of a quiet tone when no voice is installed."""
    try:
        from ..engine.speech import synthesize

        return synthesize("What is the capital of France?")
    except Exception:
        return bytes([0x10, 0x00]) * SAMPLE_RATE


async def _open(url: str) -> tuple[Any, Any]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(websocket_base_url=url, _enforce_credentials=False)  # the engine wants no key
    manager = client.realtime.connect(model="gpt-realtime")
    conn = await manager.__aenter__()
    await conn.session.update(session=cast(Any, NO_VAD_AUDIO_OUT))  # a plain dict of the session params
    return manager, conn


async def _reply_latency(conn: Any, clip: bytes, timeout_s: float = 300.0) -> float:
    """Append ``clip``, commit and ask for a reply: seconds from the commit to the first audio (or text)."""
    loop = asyncio.get_running_loop()
    await conn.input_audio_buffer.append(audio=base64.b64encode(clip).decode())
    start = loop.time()
    await conn.input_audio_buffer.commit()
    await conn.response.create()
    first: float | None = None

    async def read() -> None:
        nonlocal first
        async for event in conn:
            if first is None and event.type.endswith((".output_audio.delta", ".output_text.delta")):
                first = loop.time()
            elif event.type == "response.done":
                return

    await asyncio.wait_for(read(), timeout_s)
    return (first or loop.time()) - start


async def _client(url: str, clip: bytes, turns: int, samples: list[float], errors: list[str]) -> None:
    manager, conn = await _open(url)
    try:
        for _ in range(turns):
            samples.append(await _reply_latency(conn, clip))
    except Exception as e:  # a client's failure is a figure of the benchmark, not its end
        errors.append(f"{type(e).__name__}: {e}")
    finally:
        await manager.__aexit__(None, None, None)


async def _sample_peak(peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mb())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)


async def run_load(
    clients: int,
    turns: int = 3,
    *,
    config: EngineConfig | None = None,
    engine: OfflineEngine | None = None,
    clip: bytes | None = None,
    settle_s: float = 1.0,
) -> dict[str, Any]:
    """``clients`` concurrent sessions of ``turns`` spoken turns each; latency percentiles and RSS (MB)."""
    if engine is None:
        async with OfflineEngine(config) as eng:
            return await run_load(clients, turns, engine=eng, clip=clip, settle_s=settle_s)
    clip = clip if clip is not None else default_clip()
    gc.collect()
    before = rss_mb()
    peak, stop = [before], asyncio.Event()
    sampler = asyncio.create_task(_sample_peak(peak, stop))
    samples: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(*(_client(engine.url, clip, turns, samples, errors) for _ in range(clients)))
    wall = time.perf_counter() - started
    stop.set()
    await sampler
    await asyncio.sleep(settle_s)  # let closed connections' tasks finish
    gc.collect()
    _trim_heap()
    return {
        "clients": clients,
        "turns": turns,
        **_stats(samples),
        "samples_s": samples,
        "errors": errors,
        "wall_s": wall,
        "rss_before_mb": before,
        "rss_peak_mb": peak[0],
        "rss_after_mb": rss_mb(),
    }


def _trim_heap() -> None:
    """Hand freed heap pages back to the OS (glibc keeps them otherwise, and RSS would not show it)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)


async def run_flood(
    *,
    config: EngineConfig | None = None,
    engine: OfflineEngine | None = None,
    clip: bytes | None = None,
    turns: int = 3,
    flood_commits: int = 150,
    tiny_appends: int = 0,
) -> dict[str, Any]:
    """One client's reply latency alone, then while a second client floods: ``flood_commits`` commits
    of 100 ms audio, then ``tiny_appends`` appends of one sample each, as fast as the socket takes them."""
    if engine is None:
        async with OfflineEngine(config) as eng:
            return await run_flood(
                engine=eng, clip=clip, turns=turns, flood_commits=flood_commits, tiny_appends=tiny_appends
            )
    clip = clip if clip is not None else default_clip()
    manager, victim = await _open(engine.url)
    try:
        await _reply_latency(victim, clip)  # warm-up: thread pools and caches
        alone = [await _reply_latency(victim, clip) for _ in range(turns)]
        # The flooder is another program: its own thread and event loop, so that its sending as fast as
        # it can does not stall this loop's clients (it still competes for the CPU and the GIL).
        # It stays connected until the measurement ends: its queued work must not vanish with it.
        stop = threading.Event()
        flooding = asyncio.create_task(
            asyncio.to_thread(asyncio.run, _flood(engine.url, flood_commits, tiny_appends, stop))
        )
        await asyncio.sleep(0.5)  # the flood is under way
        try:
            loaded = [await _reply_latency(victim, clip) for _ in range(turns)]
        finally:
            stop.set()
        flood_stats = await flooding
    finally:
        await manager.__aexit__(None, None, None)
    result = {f"alone_{k}": v for k, v in _stats(alone).items()}
    result |= {f"flooded_{k}": v for k, v in _stats(loaded).items()}
    result["ratio_p50"] = result["flooded_p50_s"] / result["alone_p50_s"]
    return {**result, "alone_samples_s": alone, "flooded_samples_s": loaded, **flood_stats}


async def _flood(url: str, commits: int, tiny_appends: int, stop: threading.Event) -> dict[str, Any]:
    """Send the flood while reading (and counting) what the server answers, so it never stalls on us;
    stay connected until ``stop``."""
    manager, conn = await _open(url)
    try:
        return await _send_flood(conn, commits, tiny_appends, stop)
    finally:
        await manager.__aexit__(None, None, None)


async def _send_flood(conn: Any, commits: int, tiny_appends: int, stop: threading.Event) -> dict[str, Any]:
    answered: dict[str, int] = {}

    async def drain() -> None:
        async for event in conn:
            key = event.error.code if event.type == "error" else event.type
            answered[key] = answered.get(key, 0) + 1

    reader = asyncio.create_task(drain())
    clip = base64.b64encode(bytes(int(2 * SAMPLE_RATE * FLOOD_CLIP_S))).decode()
    started = time.perf_counter()
    for _ in range(commits):
        await conn.input_audio_buffer.append(audio=clip)
        await conn.input_audio_buffer.commit()
    sample = base64.b64encode(bytes(2)).decode()
    for n in range(tiny_appends):
        await conn.input_audio_buffer.append(audio=sample)
        if n % 100 == 99:
            await asyncio.sleep(0)  # let this client's own reader run (keepalive pongs, answers)
    sent_s = time.perf_counter() - started
    while not stop.is_set():
        await asyncio.sleep(0.05)
    reader.cancel()
    return {
        "flood_commits": commits,
        "flood_tiny_appends": tiny_appends,
        "flood_send_s": sent_s,
        "flood_answers": answered,
    }


def main(clients: int = 4, turns: int = 3) -> None:
    """Print the load and flood figures with the real models (for ``voicenb bench --load N``)."""
    load = asyncio.run(run_load(clients, turns))
    print(
        f"{clients} concurrent sessions x {turns} turns: reply latency p50 {load['p50_s']:.2f} s, "
        f"p95 {load['p95_s']:.2f} s; RSS {load['rss_before_mb']:.0f} MB before, "
        f"{load['rss_peak_mb']:.0f} MB peak, {load['rss_after_mb']:.0f} MB after"
        + (f"; {len(load['errors'])} client errors" if load["errors"] else "")
    )
    flood = asyncio.run(run_flood())
    print(
        f"another client's reply latency p50: {flood['alone_p50_s']:.2f} s alone, "
        f"{flood['flooded_p50_s']:.2f} s under a flood of {flood['flood_commits']} commits "
        f"(x{flood['ratio_p50']:.2f})"
    )
