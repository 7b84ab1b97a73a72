"""Fault injection against the offline engine (real models), through a proxy that breaks things.

Every case asserts the two invariants: no turn is lost from the full log, and afterwards the
server-side conversation is exactly the session's local window.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.conftest import require_offline_models, wait_until
from tests.faults import FaultProxy
from voicenb import events as ev
from voicenb.audio import pcm_source, silence
from voicenb.policy import SummaryPolicy
from voicenb.session import SessionConfig, VoiceSession
from voicenb.state import TranscriptStatus
from voicenb.summarisers import ExtractiveSummariser

require_offline_models()

from tests.engine.conftest import FAST_LLM  # noqa: E402
from voicenb.engine import EngineConfig, OfflineEngine  # noqa: E402
from voicenb.engine.speech import synthesize  # noqa: E402

pytestmark = pytest.mark.offline
LINES = [
    "My booking reference is KX 4471.",
    "The party is six people on Saturday.",
    "Please make it a table by the window.",
    "One of us is allergic to peanuts.",
    "Actually, make that seven people.",
    "We will arrive at half past seven.",
]


@pytest.fixture
async def engine():
    async with OfflineEngine(EngineConfig(max_reply_tokens=16, llm=FAST_LLM)) as eng:
        yield eng


@pytest.fixture
async def proxy(engine):
    async with FaultProxy(f"ws://127.0.0.1:{engine.port}") as p:
        yield p


def make_session(proxy: FaultProxy, audio: bool = False, **kwargs) -> VoiceSession:
    config = SessionConfig(output_modalities=["audio" if audio else "text"], turn_detection=audio)
    kwargs.setdefault("policy", SummaryPolicy(trigger_tokens=10**6, keep_last=2))
    return VoiceSession(
        config, api_key="test-key", websocket_base_url=proxy.url, confirm_timeout_s=5, **kwargs
    )


def server_window(engine: OfflineEngine) -> list[str]:
    return [item.id for item in engine.connections[-1].conversation.items]


async def settled(session: VoiceSession, engine: OfflineEngine) -> None:
    """Both invariants, once the dialogue has gone quiet."""
    await session.wait_idle(quiet_s=0.5)
    await wait_until(lambda: session.state.window == server_window(engine), timeout=10)
    assert session.state.window == server_window(engine)


async def say(session: VoiceSession, text: str) -> None:
    done = len(session.ledger.records)
    await session.send_text(text)
    await wait_until(lambda: len(session.ledger.records) > done, timeout=60)


async def test_socket_dropped_mid_response(engine, proxy):
    s = make_session(proxy)
    async with s:
        await say(s, LINES[0])
        streaming = asyncio.Event()  # cut the socket as soon as the reply streams
        proxy.on("response.output_text.delta", lambda e: streaming.set())
        await s.send_text(LINES[1])
        await asyncio.wait_for(streaming.wait(), 60)
        await proxy.drop()
        await wait_until(lambda: s.handoffs == 1, timeout=20)
        await say(s, LINES[2])
        await settled(s, engine)
    user_texts = [t.text for t in s.state.turns() if t.role == "user"]
    assert user_texts == LINES[:3]  # the turn whose reply was cut is kept
    assert s.state.handoffs[0]["reason"] == "connection lost"


async def test_error_events_are_reported_and_the_dialogue_goes_on(engine, proxy):
    errors = []
    s = make_session(proxy)
    s.subscribe(lambda e: errors.append(e) if isinstance(e, ev.Error) else None)
    async with s:
        await say(s, LINES[0])
        error = {"type": "error", "event_id": "e1", "error": {"type": "server_error", "code": "overloaded",
                                                               "message": "try again"}}  # fmt: skip
        await proxy.inject(json.dumps(error))
        await say(s, LINES[1])
        await settled(s, engine)
    assert [e.code for e in errors] == ["overloaded"]
    assert len(s.state.turns()) == 4


async def test_failed_and_very_late_transcriptions_are_never_lost(engine, proxy):
    def fail(event):
        return {"type": "conversation.item.input_audio_transcription.failed", "event_id": "x",
                "item_id": event["item_id"], "content_index": 0,
                "error": {"type": "transcription_error", "message": "injected failure"}}  # fmt: skip

    proxy.on("conversation.item.input_audio_transcription.completed", fail)
    proxy.on("conversation.item.input_audio_transcription.completed", 4.0)  # the next one arrives late
    policy = SummaryPolicy(trigger_tokens=1, keep_last=0, min_turns=1)
    s = make_session(proxy, audio=True, policy=policy)
    async with s:
        for line in LINES[:2]:
            done = len(s.ledger.records)
            await s.pump(pcm_source(synthesize(line) + silence(1.0), realtime=False))
            await wait_until(lambda done=done: len(s.ledger.records) > done, timeout=60)
        failed, late = [t for t in s.state.turns() if t.role == "user"]
        assert failed.status is TranscriptStatus.FAILED
        summarised = {i for item in s.state.log.values() if item.is_summary for i in item.summarises}
        assert failed.id not in summarised  # a failed transcript stays verbatim (its audio is on the server)
        assert late.id not in summarised or late.status is TranscriptStatus.COMPLETE
        await wait_until(lambda: late.status is TranscriptStatus.COMPLETE, timeout=15)
        await settled(s, engine)
    assert failed.id in s.state.window and failed.error == "injected failure"


async def test_summariser_failing_then_timing_out_deletes_nothing(engine, proxy):
    calls = []

    class Unreliable(ExtractiveSummariser):
        async def summarise(self, turns, previous, language, budget_tokens):
            calls.append(len(turns))
            if len(calls) == 1:
                raise RuntimeError("model unavailable")
            if len(calls) == 2:
                await asyncio.sleep(30)  # hangs: the policy's timeout must end it
            return await super().summarise(turns, previous, language, budget_tokens)

    # here the failed folds alone (no hold: `hold_window` has its own tests)
    policy = SummaryPolicy(trigger_tokens=1, keep_last=2, timeout_s=0.5, retry_base_s=0.1, hold_window=False)
    failures = []
    s = make_session(proxy, policy=policy, summariser=Unreliable())
    s.subscribe(lambda e: failures.append(e.error) if isinstance(e, ev.SummaryFailed) else None)
    async with s:
        for line in LINES[:3]:
            await say(s, line)
            await wait_until(lambda: not s.summarising, timeout=5)
        assert "model unavailable" in failures[0] and "TimeoutError" in failures[1]
        assert s.summaries == len(calls) - 2  # the two failures deleted nothing; every later call summarised
        for line in LINES[3:5]:
            await wait_until(lambda: s.pruner.backoff.ready(s.core.clock()))  # past the back-off
            await say(s, line)
            await wait_until(lambda: not s.summarising, timeout=5)
        await settled(s, engine)
    assert s.summaries >= 1 and len(s.state.turns()) == 10


async def test_summary_racing_a_new_turn_and_a_barge_in(engine, proxy):
    release = asyncio.Event()

    class Slow(ExtractiveSummariser):
        async def summarise(self, turns, previous, language, budget_tokens):
            await release.wait()
            return await super().summarise(turns, previous, language, budget_tokens)

    s = make_session(proxy, policy=SummaryPolicy(trigger_tokens=1, keep_last=2), summariser=Slow())
    started: list[set[str]] = []  # each fold's own items, as it announced them (a plan made later differs)
    s.subscribe(lambda e: started.append(set(e.item_ids)) if isinstance(e, ev.SummaryStarted) else None)
    async with s:
        for line in LINES[:2]:
            await say(s, line)
        await wait_until(lambda: s.summarising)
        await s.send_text(LINES[2])  # a new turn while the summary runs...
        await s.cancel_response()  # ...and the user barges in on its reply
        await say(s, LINES[3])
        release.set()
        await wait_until(lambda: s.summaries >= 1, timeout=10)
        await settled(s, engine)
    user_texts = [t.text for t in s.state.turns() if t.role == "user"]
    assert user_texts == LINES[:4]
    summary = next(i for i in s.state.log.values() if i.is_summary)
    newer = {t.id for t in s.state.turns() if t.text in LINES[2:4]}
    assert not newer & set(summary.summarises)  # nothing said while it ran
    assert any(set(summary.summarises) <= folding for folding in started)  # only what its fold took


async def test_malformed_and_oversized_events(engine, proxy):
    errors = []
    s = make_session(proxy)
    s.subscribe(lambda e: errors.append(e) if isinstance(e, ev.Error) else None)
    async with s:
        await say(s, LINES[0])
        await proxy.inject("{this is not json")
        await proxy.inject(json.dumps({"type": "conversation.item.deleted"}))  # missing item_id
        await proxy.inject(json.dumps({"type": "x.unknown", "blob": "y" * (2 * 1024 * 1024)}))  # big, unknown
        await s.send_audio(silence(254))  # base64 makes this a 15.5 MiB frame: over the 15 MiB limit
        await wait_until(lambda: any(e.type == "invalid_request_error" for e in errors), timeout=20)
        await say(s, LINES[1])
        await settled(s, engine)
    assert sum(e.code == "malformed_event" for e in errors) == 2
    assert s.handoffs == 0 and len(s.state.turns()) == 4


async def test_client_faster_than_real_time(engine, proxy):
    s = make_session(proxy, audio=True)
    async with s:
        speech = b"".join(synthesize(line) + silence(1.0) for line in LINES[:3])
        await s.pump(pcm_source(speech, realtime=False))  # as fast as the socket takes it
        await wait_until(lambda: sum(t.role == "user" for t in s.state.turns()) >= 3, timeout=90)
        await wait_until(
            lambda: all(t.status is not TranscriptStatus.PENDING for t in s.state.turns()), timeout=60
        )
        await settled(s, engine)
    users = [t for t in s.state.turns() if t.role == "user"]
    assert len(users) == 3 and all(t.status is TranscriptStatus.COMPLETE for t in users)
    assert "4471" in users[0].text.replace(" ", "") or "booking" in users[0].text.lower()
