"""`voicenb bench` runs and returns its figures (on tiny inputs: these are not timed tests)."""

from __future__ import annotations

from voicenb.tools import bench


def test_core_replay_goes_through_the_dispatch_table():
    figures = bench.core_throughput(seconds=60)
    assert figures["core_x_realtime"] > 0 and figures["core_events"] > 50
    assert figures["core_published"] > 0  # typed events reached the subscriber


async def test_summary_overlap_measures_turns_with_and_without_a_summary():
    figures = await bench.summary_overlap(rounds=1, turns_per_round=4)
    assert figures["summaries"] == 1 and figures["turn_latency_ms"] > 0
    assert "summary_overlap_ms" in figures


def test_run_benchmarks_returns_the_keys(monkeypatch):
    async def no_models(n_turns):
        return {"v2v_latency_p50_s": None, "v2v_latency_p95_s": None, "v2v_error": "skipped in tests"}

    monkeypatch.setattr(bench, "v2v", no_models)
    core = bench.core_throughput
    monkeypatch.setattr(bench, "core_throughput", lambda seconds: core(60))
    lines: list[str] = []
    figures = bench.run_benchmarks(quick=True, out=lines.append)
    assert figures["core_x_realtime"] > 1 and figures["v2v_latency_p50_s"] is None
    assert figures["turn_latency_ms"] > 0 and figures["summaries"] >= 1
    assert isinstance(figures["summary_overlap_ms"], float)
    assert lines[0].startswith("session core: ") and "× realtime" in lines[0]
    assert lines[1] == "voice-to-voice latency: skipped (skipped in tests)"
    assert lines[2].startswith("turn overlapping a summary: ")
