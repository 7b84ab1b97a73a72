"""`voicenb bench` always reports: a section that cannot finish is named with its reason beside the
figures of the sections that did."""

from __future__ import annotations

import threading

from voicenb.tools import bench, scripted


class Stalls(scripted.ScriptedReplies):
    """The bench's scripted replies, hung until the reply is cancelled (a stuck engine)."""

    def stream(self, messages, max_tokens, stop: threading.Event):
        stop.wait(10)
        return iter(())


async def _no_speech_models(n_turns: int) -> dict:
    return {"v2v_latency_p50_s": None, "v2v_latency_p95_s": None, "v2v_error": "not measured here"}


def test_a_stuck_section_is_named_and_the_other_figures_stand(monkeypatch):
    monkeypatch.setattr(scripted, "ScriptedReplies", Stalls)
    monkeypatch.setattr(bench, "TURN_TIMEOUT_S", 0.5)
    monkeypatch.setattr(bench, "v2v", _no_speech_models)  # (b) needs the speech models: not this test's
    lines: list[str] = []
    figures = bench.run_benchmarks(quick=True, out=lines.append)
    assert figures["core_x_realtime"] > 0  # (a) measured
    assert figures["summary_overlap_error"].startswith("TimeoutError: no reply to ")
    assert lines[-1].startswith("turn overlapping a summary: failed (TimeoutError: no reply to ")
