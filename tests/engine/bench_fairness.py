"""Fairness and load figures with scripted parts (about scheduling, not models):
``python -m tests.engine.bench_fairness [CLIENTS ...]``.
The real-model figures come from ``voicenb.tools.load.main``."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from tests.engine.fakes import ScriptedLLM, ScriptedSTT, ToneTTS
from voicenb.engine import EngineConfig
from voicenb.tools.load import run_flood, run_load


class SlowToneTTS(ToneTTS):
    """ToneTTS that takes ``delay_s`` per sentence, as a real voice would (one at a time)."""

    def __init__(self, delay_s: float = 0.1) -> None:
        super().__init__(0.3)
        self.delay_s = delay_s

    def synthesize(self, text: str) -> bytes:
        time.sleep(self.delay_s)
        return super().synthesize(text)


def scripted_config(**overrides: object) -> EngineConfig:
    parts = {
        "stt": ScriptedSTT("What is the capital of France?", delay_s=0.15),
        "llm": ScriptedLLM("Paris is the capital of France.", delay_s=0.01),
        "tts": SlowToneTTS(0.1),
    }
    return EngineConfig(load_models=False, **{**parts, **overrides})  # type: ignore[arg-type]


async def figures(clients: list[int]) -> dict:
    clip = bytes(2 * 24_000)  # 1 s
    out: dict = {}
    out["flood_commits"] = await run_flood(config=scripted_config(), clip=clip, flood_commits=150)
    # the queue cap off: round-robin alone must keep the victim's reply near its unloaded latency
    uncapped = scripted_config(max_pending_jobs=1000)
    out["flood_commits_uncapped"] = await run_flood(config=uncapped, clip=clip, flood_commits=150)
    out["flood_tiny_appends"] = await run_flood(
        config=scripted_config(), clip=clip, flood_commits=0, tiny_appends=20_000
    )
    for n in clients:
        out[f"load_{n}"] = await run_load(n, 3, config=scripted_config(), clip=clip)
    return out


if __name__ == "__main__":
    counts = [int(x) for x in sys.argv[1:]] or [4, 16]
    result = asyncio.run(figures(counts))
    for name, fig in result.items():
        fig = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in fig.items() if "samples" not in k}
        print(name, json.dumps(fig))
