"""Lifecycle and backends: one way to stop, every summariser call bounded, explicit key destinations."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.test_session import Recorder, converse
from voicenb import events as ev
from voicenb.policy import SummaryPolicy
from voicenb.session import Backend, HandoffPolicy, UntrustedKeyError, VoiceSession


class HangingSummariser:
    async def summarise(self, *args: object, **kwargs: object) -> str:
        await asyncio.sleep(3600)
        return "never"


async def test_close_ends_run_and_says_closed_once(peer, make_session):
    rec = Recorder()
    s = make_session()
    s.subscribe(rec)
    await s.connect()
    waiting = asyncio.create_task(s.run())  # no source: runs until the session ends
    await peer.connected()
    await s.close()
    await asyncio.wait_for(waiting, 2)
    await s.close()  # idempotent
    assert len(rec.of(ev.Closed)) == 1 and not s.connected
    assert not hasattr(VoiceSession, "stop")  # one way to stop


async def test_a_hanging_summariser_cannot_stall_a_handoff(peer, make_session):
    policy = SummaryPolicy(trigger_tokens=10**9, keep_last=2, timeout_s=0.3)
    rec = Recorder()
    async with make_session(policy=policy, summariser=HangingSummariser(),
                            handoff=HandoffPolicy(after_s=None)) as s:  # fmt: skip
        s.subscribe(rec)
        await peer.connected()
        await converse(peer, 3)
        await wait_until(lambda: len(s.state.turns()) == 6)
        await peer.drop()
        await wait_until(lambda: s.handoffs == 1, timeout=4)
    # The summary timed out, so every turn was carried verbatim instead: nothing lost.
    assert [i.text for i in peer.items] == [t.text for t in s.state.turns()]
    assert any(e.code == "summary_failed" for e in rec.of(ev.Error))


async def test_next_awaits_a_typed_event(peer, make_session):
    async with make_session() as s:
        await peer.connected()
        waiting = asyncio.create_task(s.next(ev.UsageUpdated, timeout=3))
        await converse(peer, 1)
        usage = await waiting
    assert isinstance(usage, ev.UsageUpdated) and usage.window_tokens > 0


def test_explicit_backends_say_where_they_talk(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert VoiceSession.offline().backend.kind == "offline"
    assert "offline engine" in VoiceSession().backend.describe()  # no key: the offline default, said so
    remote = VoiceSession.connect_to("ws://127.0.0.1:9/v1")
    assert remote.backend.kind == "remote" and remote.backend.api_key == ""
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        VoiceSession.openai()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-test")
    assert VoiceSession().backend.kind == "openai"  # the key-present default, kept for notebooks


def test_the_environment_key_goes_only_where_trusted(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-test")
    assert Backend.remote("wss://realtime.example.org/v1").api_key == ""  # not sent unasked
    with pytest.raises(UntrustedKeyError, match="ws://"):
        Backend.remote("ws://realtime.example.org/v1", trust_key=True)  # never in clear off this machine
    assert Backend.remote("wss://realtime.example.org/v1", trust_key=True).api_key == "sk-env-test"
    assert Backend.remote("ws://127.0.0.1:8765/v1", api_key="mine").api_key == "mine"  # loopback is fine
    with pytest.raises(UntrustedKeyError):
        Backend.remote("ws://10.0.0.5:8765/v1", api_key="mine")


def test_the_session_core_does_not_know_the_engine():
    folder = Path(__file__).parents[1] / "voicenb" / "session"
    names = ("core.py", "connection.py", "pruning.py", "handoff.py", "config.py", "defaults.py", "session.py")
    for name in names:
        tree = ast.parse((folder / name).read_text())
        modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not any("engine" in m for m in modules), name


async def test_facts_the_memory_could_not_place_and_entries_it_evicted_are_announced(peer, make_session):
    from voicenb.facts import Span
    from voicenb.memory import Entry, FoldResult

    class Squeezed:
        last_fold: FoldResult | None = None

        async def summarise(self, turns, previous, language, budget_tokens):
            evicted = [Entry("dog", "Rex", 0)]
            self.last_fold = FoldResult([], evicted, [Span("07700 900123", "number", 1)])
            return "- order: 30518"

    rec = Recorder()
    async with make_session(summariser=Squeezed()) as s:
        s.subscribe(rec)
        await peer.connected()
        await converse(peer, 3)
        await wait_until(lambda: len(s.state.turns()) == 6)
        folded = [t.id for t in s.state.turns()]
        await s.summarise_now()
    dropped = rec.of(ev.SummaryFactsDropped)
    assert dropped == [ev.SummaryFactsDropped(("07700 900123",), (folded[1],))]  # with the turn it was in
    assert rec.of(ev.SummaryEntriesEvicted) == [ev.SummaryEntriesEvicted(("dog: Rex",))]
