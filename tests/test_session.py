"""The session core against a scripted GA peer on loopback, through the official SDK client."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import wait_until
from tests.peer import ScriptedPeer
from voicenb import events as ev
from voicenb.audio import pcm_source, silence
from voicenb.policy import SummaryPolicy
from voicenb.session import HandoffPolicy, VoiceSession
from voicenb.state import SUMMARY_HEADING, TranscriptStatus
from voicenb.summarisers import ExtractiveSummariser

FACTS = [
    "My order number is 30518.",
    "The surname is Sethi, S-E-T-H-I.",
    "It is the BW8140 washer-dryer.",
    "Delivery was on the 3rd of March.",
    "I'd prefer an engineer on Thursday morning.",
    "My phone is 07700 900123.",
]


class Recorder:
    def __init__(self) -> None:
        self.events: list[ev.SessionEvent] = []

    def __call__(self, event: ev.SessionEvent) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


async def converse(peer: ScriptedPeer, n: int, audio_s: float = 6.0, start: int = 0) -> None:
    for k in range(start, start + n):
        await peer.user_turn(FACTS[k % len(FACTS)], audio_s=audio_s)
        await peer.assistant_turn(f"Thanks, noted point {k}.", audio_s=audio_s / 2)
        await asyncio.sleep(0.02)


async def test_configures_ga_session_through_sdk(peer, make_session):
    async with make_session() as s:
        await peer.connected()
        await wait_until(lambda: "session.update" in peer.received_types())
    session = peer.received[0]["session"]
    assert session["type"] == "realtime" and session["output_modalities"] == ["audio"]
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert "transcription" in session["audio"]["input"] and session["audio"]["output"]["voice"]
    assert "modalities" not in session and "input_audio_format" not in session  # no beta fields
    assert s.is_offline is False


async def test_pumps_audio_from_any_async_source(peer, make_session):
    async with make_session() as s:
        await s.pump(pcm_source(silence(1.0), realtime=False))
        await wait_until(lambda: peer.audio_bytes == 48_000)


async def test_user_transcripts_come_from_events_not_polling(peer, make_session):
    rec = Recorder()
    async with make_session() as s:
        s.subscribe(rec)
        await peer.connected()
        item = await peer.user_turn("hello there", transcript="later")
        await wait_until(lambda: item.id in s.state.log)
        assert s.state.log[item.id].status is TranscriptStatus.PENDING
        await peer.complete_transcript(item, "hello there")
        await wait_until(lambda: s.state.log[item.id].status is TranscriptStatus.COMPLETE)
    assert s.state.log[item.id].text == "hello there" and s.state.log[item.id].audio_s == 3.0
    assert [e.text for e in rec.of(ev.TranscriptDone)] == ["hello there"]
    assert "conversation.item.retrieve" not in peer.received_types()


async def test_cancelled_zero_token_response_is_not_the_window(peer, make_session):
    async with make_session() as s:
        await peer.connected()
        await peer.user_turn("one", audio_s=2)
        await peer.assistant_turn("two", audio_s=1)
        await wait_until(lambda: len(s.ledger.records) == 1)
        window = s.window_tokens
        await peer.cancelled_response()
        await wait_until(lambda: len(s.ledger.records) == 2)
    assert window > 0 and s.window_tokens == window


async def test_long_conversation_stays_bounded_and_matches_the_server(peer, make_session):
    # The bound holds when the trigger leaves room for the summary's fact floor (250 tokens here) plus the
    # kept turns (4 x ~60); at 500 a fact-keeping summary alone can push the window past it.
    trigger = 800
    async with make_session(policy=SummaryPolicy(trigger_tokens=trigger, keep_last=4)) as s:
        await peer.connected()
        windows = []
        s.subscribe(lambda e: windows.append(e.window_tokens) if isinstance(e, ev.UsageUpdated) else None)
        for k in range(30):
            await converse(peer, 1, start=k)
            await wait_until(lambda k=k: len(s.ledger.records) == k + 1)
            await wait_until(lambda: not s.summarising)
        one_turn = 60 + 60  # a user turn (6 s) and its reply (3 s) in tokens
        assert s.summaries >= 5
        assert max(windows) <= trigger + one_turn
        # Nothing lost: every turn ever spoken is in the full log, in order.
        assert len(s.state.turns()) == 60
        # The local window is exactly the server's conversation.
        assert s.state.window == [i.id for i in peer.items]
        assert peer.items[0].role == "system"
        summary = s.state.current_summary()
        assert summary.id == peer.items[0].id and summary.text == peer.items[0].text
        assert "30518" in summary.text and "Sethi" in summary.text  # rolling summary keeps early facts
        deleted = [i for i in s.state.log.values() if not i.in_window]
        assert all(i.deleted_by == "summary" for i in deleted)
        assert not s.errors


async def test_turns_arriving_during_a_summary_are_kept(peer, make_session):
    release = asyncio.Event()

    class SlowSummariser(ExtractiveSummariser):
        async def summarise(self, turns, previous, language, budget_tokens):
            await release.wait()
            return await super().summarise(turns, previous, language, budget_tokens)

    policy = SummaryPolicy(trigger_tokens=100, keep_last=2, hold_window=False)  # here: no hold
    async with make_session(policy=policy, summariser=SlowSummariser()) as s:
        await peer.connected()
        await converse(peer, 3)
        await wait_until(lambda: s.summarising)
        snapshot = list(s.state.window)
        late_user = await peer.user_turn("While you summarise: my postcode is LS6 2AB.")
        late_reply = await peer.assistant_turn("Got the postcode.")
        await wait_until(lambda: late_reply.id in s.state.window)
        release.set()
        await wait_until(lambda: s.summaries == 1)
    assert late_user.id in s.state.window and late_reply.id in s.state.window
    assert s.state.window == [i.id for i in peer.items]
    folded = set(s.state.current_summary().summarises)
    assert folded <= set(snapshot) and late_user.id not in folded


async def test_summary_item_has_its_heading_and_the_next_fold_builds_on_its_lines(peer, make_session):
    previous_seen = []

    class Spy(ExtractiveSummariser):
        async def summarise(self, turns, previous, language, budget_tokens):
            previous_seen.append(previous)
            return await super().summarise(turns, previous, language, budget_tokens)

    async with make_session(policy=SummaryPolicy(trigger_tokens=200, keep_last=2), summariser=Spy()) as s:
        await peer.connected()
        for k in range(8):
            await converse(peer, 1, start=k)
            await wait_until(lambda k=k: len(s.ledger.records) == k + 1)
            await wait_until(lambda: not s.summarising)
    assert s.summaries >= 2
    root = peer.items[0].text
    assert root.startswith(SUMMARY_HEADING + "\n") and root.count(SUMMARY_HEADING) == 1
    assert previous_seen[0] is None
    assert all(p and SUMMARY_HEADING not in p for p in previous_seen[1:])
    assert "30518" in previous_seen[-1]


async def test_pending_transcripts_are_never_summarised_or_deleted(peer, make_session):
    async with make_session(policy=SummaryPolicy(trigger_tokens=50, keep_last=2, min_turns=1)) as s:
        await peer.connected()
        await peer.user_turn("first", audio_s=6)
        await peer.assistant_turn("ok", audio_s=3)
        stuck = await peer.user_turn("lost words", audio_s=6, transcript="never")
        await peer.assistant_turn("hmm", audio_s=3)
        await peer.user_turn("third", audio_s=6)
        await peer.assistant_turn("fine", audio_s=3)
        await wait_until(lambda: s.summaries == 1)
        await wait_until(lambda: not s.summarising)
    assert stuck.id in s.state.window and s.state.log[stuck.id].status is TranscriptStatus.PENDING
    assert stuck.id not in s.state.current_summary().summarises


async def test_summariser_failure_deletes_nothing_and_retries(peer, make_session):
    calls = []

    class Flaky(ExtractiveSummariser):
        async def summarise(self, turns, previous, language, budget_tokens):
            calls.append(len(turns))
            if len(calls) == 1:
                raise TimeoutError("summary model timed out")
            return await super().summarise(turns, previous, language, budget_tokens)

    rec = Recorder()
    policy = SummaryPolicy(trigger_tokens=100, keep_last=2, retry_base_s=0.2, hold_window=False)
    async with make_session(policy=policy, summariser=Flaky()) as s:
        s.subscribe(rec)
        await peer.connected()
        await converse(peer, 3)
        await wait_until(lambda: rec.of(ev.SummaryFailed))
        assert len(peer.items) == 6 and len(s.state.window) == 6
        await wait_until(
            lambda: s.pruner.backoff.ready(s.core.clock())
        )  # past the back-off: the next response retries
        await converse(peer, 1)
        await wait_until(lambda: s.summaries == 1)
    failed = rec.of(ev.SummaryFailed)[0]
    assert "timed out" in failed.error and failed.retry_in_s == 0.2
    # the retry state was the session's: the policy (shareable between sessions) is as it was made
    assert policy == SummaryPolicy(trigger_tokens=100, keep_last=2, retry_base_s=0.2, hold_window=False)
    assert s.state.window == [i.id for i in peer.items] and len(s.state.turns()) == 8


async def test_folds_that_fall_behind_hold_the_window_and_fold_its_turns_later(peer, make_session):
    down, folded = True, []

    class Down(ExtractiveSummariser):
        async def summarise(self, turns, previous, language, budget_tokens):
            if down:
                raise RuntimeError("summary model unreachable")
            folded.extend(text for _, text in turns)
            return await super().summarise(turns, previous, language, budget_tokens)

    rec = Recorder()
    # exchanges of ~120 tokens: a fold that catches up takes a trigger's worth, more than one adds
    policy = SummaryPolicy(trigger_tokens=400, keep_last=2, retry_base_s=0.01, retry_max_s=0.01)
    async with make_session(policy=policy, summariser=Down()) as s:
        s.subscribe(rec)
        await peer.connected()
        for k in range(8):
            await converse(peer, 1, start=k)
            await wait_until(lambda: not s.summarising)
        dropped = {i for e in rec.of(ev.TurnsDropped) for i in e.item_ids}
        assert dropped and not s.summaries and set(s.pruner.owed) == dropped
        assert not dropped & {i.id for i in peer.items}  # they left the server's window...
        assert len(s.state.turns()) == 16  # ...and not the log
        exchange = max(e.window_tokens for e in rec.of(ev.UsageUpdated)[:1])  # one exchange, alone
        assert max(e.window_tokens for e in rec.of(ev.UsageUpdated)) <= policy.trigger_tokens + 2 * exchange
        down = False
        for k in range(8, 14):  # each fold takes about a trigger's worth of what it owes
            await converse(peer, 1, start=k)
            await wait_until(lambda: not s.summarising)
            if not s.pruner.owed:
                break
    texts = {i.id: i.text for i in s.state.turns()}
    assert {texts[i] for i in dropped} <= set(folded) and not s.pruner.owed  # the memory caught up


async def test_rejected_summary_insert_deletes_nothing(peer, make_session):
    peer.reject_root_inserts = True
    rec = Recorder()
    async with make_session(policy=SummaryPolicy(trigger_tokens=100, keep_last=2, hold_window=False)) as s:
        s.subscribe(rec)
        await peer.connected()
        await converse(peer, 3)
        await wait_until(lambda: rec.of(ev.SummaryFailed))
    assert "root inserts disabled" in rec.of(ev.SummaryFailed)[0].error
    assert "conversation.item.delete" not in peer.received_types()
    assert len(s.state.window) == 6


async def test_malformed_events_are_reported_and_lose_nothing(peer, make_session):
    rec = Recorder()
    async with make_session() as s:
        s.subscribe(rec)
        await peer.connected()
        await peer.user_turn("keep me")
        await peer.send({"type": "conversation.item.deleted"})  # no item_id
        await peer.send({"type": "response.done", "response": {"usage": "garbage"}})
        await peer.send({"type": "some.future.event", "x": 1})  # unknown: ignored
        await peer.send_raw("{not json")
        await peer.assistant_turn("still here")
        await wait_until(lambda: len(s.state.turns()) == 2)
    assert len(rec.of(ev.Error)) == 3 and all(e.code == "malformed_event" for e in rec.of(ev.Error))
    assert s.handoffs == 0
    assert [t.text for t in s.state.turns()] == ["keep me", "still here"]


async def test_dropped_socket_without_handoff_ends_and_keeps_the_log(peer, make_session):
    rec = Recorder()
    s = make_session(handoff=HandoffPolicy(after_s=None, on_disconnect=False))
    s.subscribe(rec)
    await s.connect()
    await peer.connected()
    await converse(peer, 2)
    await wait_until(lambda: len(s.state.turns()) == 4)
    await peer.drop()
    await asyncio.wait_for(s.run(), 5)  # returns once the connection has ended
    await s.close()
    assert rec.of(ev.Closed) and len(s.state.turns()) == 4
    assert all(t.text for t in s.state.turns())


async def test_dropped_socket_hands_off_to_a_seeded_session(peer, make_session):
    rec = Recorder()
    policy = SummaryPolicy(trigger_tokens=10**6, keep_last=2)
    async with make_session(policy=policy) as s:
        s.subscribe(rec)
        await peer.connected()
        await converse(peer, 4)
        await wait_until(lambda: len(s.state.turns()) == 8)
        old_ids = list(s.state.window)
        await peer.drop()
        await wait_until(lambda: rec.of(ev.HandoffFinished))
        await s.send_audio(silence(0.5))
        await wait_until(lambda: peer.audio_bytes == 24_000)
    assert peer.connections == 2 and s.handoffs == 1
    # The new server session holds the summary, then the last two turns as text, in order.
    assert [i.role for i in peer.items] == ["system", "user", "assistant"]
    assert "30518" in peer.items[0].text  # the first turn's fact lives on in the summary
    assert [i.text for i in peer.items[1:]] == [t.text for t in s.state.turns()[-2:]]
    assert s.state.window == [i.id for i in peer.items]
    # Nothing lost: the log has all 8 turns once, the copies point back at them, the handoff is logged.
    assert len(s.state.turns()) == 8 and [s.state.log[i].copy_of for i in s.state.window[1:]] == old_ids[-2:]
    assert (
        s.state.handoffs[0]["reason"] == "connection lost" and s.state.handoffs[0]["window_before"] == old_ids
    )


async def test_audio_during_the_gap_is_sent_after_the_handoff(peer, make_session):
    handoff = HandoffPolicy(after_s=None, backoff_s=0.2, gap_buffer_s=1.0)
    async with make_session(handoff=handoff) as s:
        await peer.connected()
        peer.refuse_connections = True  # the new session is slow to come
        await peer.drop()
        await wait_until(lambda: s._handoff.active)
        for _ in range(3):
            await s.send_audio(silence(0.5))  # 1.5 s while down: 1 s kept, 0.5 s dropped and counted
        peer.refuse_connections = False
        await wait_until(lambda: s.handoffs == 1)
        await wait_until(lambda: peer.audio_bytes == 48_000)
    assert s.dropped_audio_s == 0.5


async def test_handoff_gives_up_with_a_clear_event(peer, make_session):
    rec = Recorder()
    async with make_session(handoff=HandoffPolicy(after_s=None, max_retries=2, backoff_s=0.05)) as s:
        s.subscribe(rec)
        await peer.connected()
        await converse(peer, 1)
        await wait_until(lambda: len(s.state.turns()) == 2)
        peer.refuse_connections = True
        await peer.drop()
        await asyncio.wait_for(s.run(), 5)
    failed = rec.of(ev.HandoffFailed)[0]
    assert failed.attempts == 2 and "503" in failed.error
    assert len(s.state.turns()) == 2


async def test_timer_hands_off_before_the_cap_at_a_turn_boundary(peer, make_session):
    async with make_session(handoff=HandoffPolicy(after_s=0.3)) as s:
        await peer.connected()
        await converse(peer, 1)
        await wait_until(lambda: s.handoffs >= 1, timeout=5)
    assert peer.connections >= 2 and s.state.handoffs[0]["reason"] == "session age"


async def test_session_expired_error_hands_off(peer, make_session):
    async with make_session() as s:
        await peer.connected()
        await converse(peer, 1)
        await peer.error("Your session hit the maximum duration of 60 minutes.", "session_expired")
        await wait_until(lambda: s.handoffs == 1)
    assert s.state.handoffs[0]["reason"] == "session_expired"


async def test_summarise_now_and_language_option(peer, make_session):
    seen = {}

    class Spy(ExtractiveSummariser):
        async def summarise(self, turns, previous, language, budget_tokens):
            seen["language"] = language
            return await super().summarise(turns, previous, language, budget_tokens)

    policy = SummaryPolicy(trigger_tokens=10**6, keep_last=2, language="French")
    async with make_session(policy=policy, summariser=Spy()) as s:
        await peer.connected()
        await converse(peer, 2)
        await wait_until(lambda: len(s.ledger.records) == 2)
        assert s.summaries == 0  # the trigger is far away
        await s.summarise_now()
    assert s.summaries == 1 and seen["language"] == "French"
    assert s.state.window == [i.id for i in peer.items] and len(peer.items) == 3


async def test_push_to_talk_commits_and_asks_for_a_reply(peer, make_session):
    async with make_session() as s:
        await s.send_audio(silence(0.1))
        await s.commit_audio()
        expected = ["input_audio_buffer.commit", "response.create"]
        await wait_until(lambda: peer.received_types()[-2:] == expected)


def test_default_summariser_follows_the_endpoint(peer):
    from voicenb.summarisers import ChatSummariser

    assert isinstance(VoiceSession(api_key="sk-fake.x").summariser, ChatSummariser)  # OpenAI itself
    local = VoiceSession(api_key="sk-fake.x", websocket_base_url=peer.url)
    assert isinstance(local.summariser, ExtractiveSummariser)
    assert isinstance(VoiceSession(api_key="").summariser, ExtractiveSummariser)  # the offline engine


def test_views_read_the_parts_and_only_the_policy_is_replaceable(make_session):
    s = make_session()
    assert (s.config, s.state, s.ledger) == (s.core.config, s.core.state, s.core.ledger)
    assert s.summariser is s.pruner.summariser and s.url == s.backend.url
    policy = SummaryPolicy(trigger_tokens=777)
    s.policy = policy
    assert s.core.policy is policy and s.policy is policy
    with pytest.raises(AttributeError, match="no setter"):
        s.ledger = None  # type: ignore[misc]
    assert s.core.ledger is not None
