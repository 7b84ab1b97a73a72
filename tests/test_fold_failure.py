"""A failed fold says why: a summariser that times out is named with its limit (its TimeoutError has no
message: the panel showed "summary failed: TimeoutError: (retry in 2 s)"), and the panel's line clears
once a later fold succeeds."""

from __future__ import annotations

import asyncio

from tests.conftest import wait_until
from tests.test_session import Recorder, converse
from voicenb import events as ev
from voicenb.policy import SummaryPolicy
from voicenb.summarisers import ExtractiveSummariser
from voicenb.widgets import ControlPanel


class HangsOnce(ExtractiveSummariser):
    """The first fold never answers (a model stuck behind other work); later ones are extractive."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def summarise(self, turns, previous, language, budget_tokens):
        self.calls += 1
        if self.calls == 1:
            await asyncio.Event().wait()
        return await super().summarise(turns, previous, language, budget_tokens)


async def test_a_timed_out_fold_names_its_cause_and_a_later_fold_clears_it(peer, make_session):
    rec = Recorder()
    policy = SummaryPolicy(trigger_tokens=100, keep_last=2, timeout_s=0.3, retry_base_s=0.1)
    async with make_session(policy=policy, summariser=HangsOnce()) as s:
        panel = ControlPanel(s)
        s.subscribe(rec)
        await peer.connected()
        await converse(peer, 3)
        await wait_until(lambda: rec.of(ev.SummaryFailed))
        failed = rec.of(ev.SummaryFailed)[0]
        assert failed.error == "TimeoutError: the summariser gave no summary within 0.3 s"
        assert panel.error.startswith("summary failed: TimeoutError: the summariser gave no summary within")
        await wait_until(lambda: s.pruner.backoff.ready(s.core.clock()))  # the next response retries
        await converse(peer, 1, start=3)
        await wait_until(lambda: s.summaries == 1)
        assert panel.error == ""
