"""A hostile or failing server against `VoiceSession`: every failure is visible, nothing is lost."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json

import pytest

from tests.conftest import wait_until
from tests.test_session import Recorder, converse
from voicenb import events as ev
from voicenb.recording import SessionRecorder
from voicenb.session import HandoffPolicy, NotConfirmed, VoiceSession
from voicenb.session.core import MAX_ERRORS
from voicenb.state import TranscriptStatus


@pytest.mark.parametrize("frame", ["null", "[1,2,3]", "5", '"text"', "{not json"])
async def test_a_non_object_frame_is_reported_and_the_session_lives_on(peer, make_session, tmp_path, frame):
    rec = Recorder()
    with SessionRecorder(tmp_path / "r.jsonl.gz") as recorder:
        async with make_session(recorder=recorder) as s:
            s.subscribe(rec)
            await peer.connected()
            await peer.send_raw(frame)
            await converse(peer, 1)  # later events are still handled
            await wait_until(lambda: len(s.state.turns()) == 2)
            assert s.connected
    assert rec.of(ev.Error) and all(e.code == "malformed_event" for e in rec.of(ev.Error))


async def test_a_server_that_closes_at_once_fails_connect_and_is_not_connected(peer, make_session):
    peer.close_at_once = True
    s = make_session()
    with pytest.raises(NotConfirmed, match="connection ended"):
        await s.connect()
    assert not s.connected
    await s.close()


async def test_a_server_that_never_answers_fails_connect_clearly(peer, make_session):
    peer.silent = True
    s = make_session()  # confirm_timeout_s=2
    with pytest.raises(NotConfirmed, match="no reply in 2 s"):
        await s.connect()
    assert not s.connected
    await s.close()


async def test_a_turn_typed_during_an_outage_is_sent_after_the_handoff(peer, make_session):
    async with make_session(handoff=HandoffPolicy(after_s=None, backoff_s=0.1, min_interval_s=0)) as s:
        await peer.connected()
        await converse(peer, 1)
        reply = await peer_start_reply(peer)
        await wait_until(lambda: reply in s.state.log)
        peer.refuse_connections = True
        await peer.drop()
        await wait_until(lambda: s._handoff.active)
        await s.send_text("Also, my flat is on the third floor.")  # no socket now: kept, not raised
        peer.refuse_connections = False
        await wait_until(lambda: s.handoffs == 1)
        await wait_until(lambda: any("third floor" in i.text for i in peer.items))
    assert (
        s.state.log[reply].status is TranscriptStatus.INTERRUPTED
    )  # cut off by the drop, not pending forever


async def peer_start_reply(peer) -> str:
    """An assistant item whose transcript never completes (the reply is cut off mid-way)."""
    item_id = peer.new_id()
    await peer.send({"type": "response.created", "response": {"id": "resp_cut", "status": "in_progress"}})
    item = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress",
            "content": [{"type": "output_audio", "transcript": None}]}  # fmt: skip
    await peer.send({"type": "conversation.item.added", "item": item})
    delta = {"item_id": item_id, "output_index": 0, "content_index": 0, "response_id": "resp_cut"}
    await peer.send({"type": "response.output_audio_transcript.delta", **delta, "delta": "Let me"})
    return item_id


async def test_a_restart_of_several_seconds_is_survived_with_the_defaults(peer, make_session):
    async with make_session() as s:  # default HandoffPolicy: retries for 60 s
        await peer.connected()
        await converse(peer, 2)
        await wait_until(lambda: len(s.state.turns()) == 4)
        peer.refuse_connections = True
        await peer.drop()
        await asyncio.sleep(4.0)  # the server is down for 4 s (the old default gave up after 3.6 s)
        peer.refuse_connections = False
        await wait_until(lambda: s.handoffs == 1, timeout=15)
        assert s.connected
    assert [i.text for i in peer.items if i.role != "system"] == [t.text for t in s.state.turns()][-4:]


async def test_connect_after_a_failed_handoff_reseeds_instead_of_starting_empty(peer, make_session):
    handoff = HandoffPolicy(after_s=None, max_retries=1, min_interval_s=0)
    s = make_session(handoff=handoff)
    await s.connect()
    await peer.connected()
    await converse(peer, 2)
    await wait_until(lambda: len(s.state.turns()) == 4)
    peer.refuse_connections = True
    await peer.drop()
    await asyncio.wait_for(s.run(), 5)  # the handoff gave up: the session closed
    peer.refuse_connections = False
    await s.connect()
    assert [i.text for i in peer.items] == [t.text for t in s.state.turns()]  # the whole memory is back
    await s.close()


async def test_handoffs_in_a_row_are_rate_limited(peer, make_session):
    peer.drop_after_s = 0.3  # accepts, then drops every connection
    async with make_session(handoff=HandoffPolicy(after_s=None, min_interval_s=1.0)) as s:
        await wait_until(lambda: peer.connections >= 4, timeout=15)
    at = peer.connected_at[1:4]  # the handoffs (the first connection is not one)
    gaps = [b - a for a, b in itertools.pairwise(at)]
    assert min(gaps) > 0.6, gaps  # about one per second (less the handshake's jitter), not one per 0.3 s
    assert s.state.turns() == []


async def test_the_error_history_is_a_ring(peer, make_session):
    async with make_session() as s:
        await peer.connected()
        for k in range(MAX_ERRORS + 50):
            await peer.send_raw(json.dumps({"type": "error", "error": {"message": f"junk {k}"}}))
        await wait_until(lambda: s.errors and s.errors[-1].message == f"junk {MAX_ERRORS + 49}")
        assert len(s.errors) == MAX_ERRORS


async def test_an_oversized_server_frame_ends_the_connection_not_the_process(peer, make_session):
    rec = Recorder()
    async with make_session(handoff=HandoffPolicy(after_s=None, min_interval_s=0)) as s:
        s.subscribe(rec)
        await peer.connected()
        await peer.send_raw(json.dumps({"type": "error", "pad": "x" * (17 * 1024 * 1024)}))
        await wait_until(lambda: s.handoffs == 1, timeout=10)
    assert any(e.code == "connection_lost" for e in rec.of(ev.Error))


async def test_nonsense_usage_is_reported_never_billed(peer, make_session):
    rec = Recorder()
    async with make_session() as s:
        s.subscribe(rec)
        await peer.connected()
        bad = [
            {"input_tokens": -5},
            {"input_tokens": float("nan")},
            {"input_tokens": 10**18},
            {"output_tokens": "x"},
        ]
        for usage in bad:
            response = {"id": "r", "status": "completed", "usage": usage}
            await peer.send({"type": "response.done", "response": response})
        await converse(peer, 1)  # a real response afterwards is billed normally
        await wait_until(lambda: len(s.ledger.records) == 5)
    assert [e.code for e in rec.of(ev.Error)] == ["invalid_usage"] * 4
    totals = s.ledger.totals()
    assert 0 < totals.input_tokens < 10_000 and s.ledger.cumulative_cost_usd < 1


async def test_a_server_echoing_the_key_gets_it_into_no_log_and_no_recording(peer, tmp_path, caplog):
    key = "test.echoed.secret.0123456789"  # a fake key no secret scanner mistakes for a real one
    path = tmp_path / "call.jsonl.gz"
    caplog.set_level("DEBUG")
    with SessionRecorder(path) as recorder:
        s = VoiceSession(api_key=key, websocket_base_url=peer.url, recorder=recorder, confirm_timeout_s=2)
        async with s:
            await peer.connected()
            await peer.send(
                {"type": "error", "error": {"message": f"bad key {key}", "code": "invalid_api_key"}}
            )
            await wait_until(lambda: s.errors)
    assert key not in caplog.text and "bad key" in caplog.text
    with gzip.open(path, "rt") as f:
        recorded = f.read()
    assert key not in recorded and "bad key" in recorded
