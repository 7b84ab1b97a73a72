"""Eval runs that always report: a probe that times out is counted as wrong and named; a replay that
cannot finish prints why and the figures it has; a probe's time scales with its context."""

from __future__ import annotations

import importlib
import json
import threading

from tests.test_eval import CALL
from voicenb.tools.eval import EvalSettings, format_report, load_conversation, run
from voicenb.tools.eval import probes as probes_module
from voicenb.tools.eval.probes import probe_timeout_s
from voicenb.tools.scripted import ScriptedReplies

replay_module = importlib.import_module("voicenb.tools.eval.replay")  # `replay` is also the function


class StallsOn:
    """A reply model (test double) that hangs on one question until the reply is cancelled, and
    otherwise answers with the context it was given."""

    def __init__(self, question: str) -> None:
        self.question = question
        self.stalled = 0

    def stream(self, messages, max_tokens, stop: threading.Event):
        if self.question in messages[-1]["content"]:
            self.stalled += 1
            stop.wait(60)  # only the probe's cancel frees it
            return
        yield " ".join(m["content"] for m in messages[:-1])


def conversation(tmp_path):
    path = tmp_path / "tiny_call.json"
    path.write_text(json.dumps(CALL))
    return str(path)


def test_a_probe_that_times_out_is_marked_unanswered_and_the_rest_are_asked(tmp_path, monkeypatch):
    path = conversation(tmp_path)
    stalled = load_conversation(path).facts[1]
    model = StallsOn(stalled.question)
    monkeypatch.setattr(replay_module, "load_reply_model", lambda spec: model)
    monkeypatch.setattr(probes_module, "PREFILL_TOKENS_PER_S", 1e9)  # the base time alone: a short test
    out: list[str] = []
    settings = EvalSettings(policy="summarise", trigger_tokens=300, keep_last=2, probe=True, timeout_s=5.0)
    assert run([path], settings, out=out.append, as_json=True) == 0
    report = json.loads(out[0])
    assert model.stalled == 1
    assert report["probes_unanswered"] == [stalled.id]
    missed = next(p for p in report["probes"] if p["id"] == stalled.id)
    assert missed["correct"] is False and missed["unanswered"] == "no answer within 5 s"
    others = [p for p in report["probes"] if p["id"] != stalled.id]
    assert others and all(p["unanswered"] is None and p["answer"] for p in others)  # asked after it
    text = format_report(report)
    assert f"{stalled.id}: {stalled.question} -> unanswered (no answer within 5 s)" in text


class StallsAtTurn(ScriptedReplies):
    """The replay's scripted replies, hanging from the ``n``-th reply on (an engine that stalls)."""

    stall_at = 3

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.replies = 0

    def stream(self, messages, max_tokens, stop: threading.Event):
        self.replies += 1
        if self.replies >= self.stall_at:
            stop.wait(60)
            return
        yield from super().stream(messages, max_tokens, stop)


def test_a_replay_that_cannot_finish_prints_why_and_its_figures(tmp_path, monkeypatch):
    monkeypatch.setattr(replay_module, "ScriptedReplies", StallsAtTurn)
    out: list[str] = []
    settings = EvalSettings(policy="summarise", trigger_tokens=300, keep_last=2, timeout_s=4.0)
    assert run([conversation(tmp_path)], settings, out=out.append) == 1
    text = out[0]
    assert "INCOMPLETE      stopped at turn 3 of " in text and "no reply within 4 s" in text
    assert "fact survival" in text and "responses       2," in text  # the figures it has


def test_a_probe_over_a_full_window_gets_more_time_than_a_short_one():
    assert probe_timeout_s(120, 200) < 150
    assert probe_timeout_s(120, 8000) > 120 + 5 * 60  # an 8k window on two busy cores
    assert probe_timeout_s(120, 30_000) == probe_timeout_s(120, 8192)  # the model reads at most its context


def test_the_next_turn_waits_for_a_fold_slower_than_a_reply_timeout(tmp_path, monkeypatch):
    """A fold may take up to the policy's own limit; letting turns in behind it made the next fold
    take them all (on LoCoMo the window grew to 4x the trigger). Each fold here outlasts the eval's
    reply timeout, and still no turn is sent while one runs."""
    import asyncio

    from voicenb.summarisers import ExtractiveSummariser

    folding: list[bool] = []

    class Slow(ExtractiveSummariser):
        async def summarise(self, turns, previous, language, budget_tokens):
            folding.append(True)
            try:
                await asyncio.sleep(2.5)  # longer than timeout_s below, well within the policy's limit
                return await super().summarise(turns, previous, language, budget_tokens)
            finally:
                folding.pop()

    sent_while_folding: list[bool] = []
    send = replay_module._send_user_turn

    async def watched(session, text, settings):
        sent_while_folding.append(bool(folding))
        await send(session, text, settings)

    monkeypatch.setattr(replay_module, "make_summariser", lambda name: Slow())
    monkeypatch.setattr(replay_module, "_send_user_turn", watched)
    out: list[str] = []
    settings = EvalSettings(policy="summarise", summariser="offline", trigger_tokens=120, keep_last=2,
                            timeout_s=2.0)  # fmt: skip
    assert run([conversation(tmp_path)], settings, out=out.append, as_json=True) == 0
    report = json.loads(out[0])
    assert report["summaries"] >= 2 and report["incomplete"] is None
    assert len(sent_while_folding) == 5 and not any(sent_while_folding)
