"""Record a session against the scripted peer, then replay it with no network and no key."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.conftest import wait_until
from tests.test_session import converse
from voicenb.audio import pcm_source, silence
from voicenb.model_table import DEFAULT_REALTIME_MODEL
from voicenb.policy import SummaryPolicy
from voicenb.recording import SessionRecorder, read_recording, recorded_audio, replay
from voicenb.session import SessionConfig, SessionCore, VoiceSession

SECRET = "sk-fake.recording.test.0123456789"  # dotted: no key scanner mistakes it for one


async def record_conversation(peer, path) -> VoiceSession:
    recorder = SessionRecorder(path, SessionConfig())
    session = VoiceSession(
        api_key=SECRET, websocket_base_url=peer.url, recorder=recorder,
        policy=SummaryPolicy(trigger_tokens=300, keep_last=2),
    )  # fmt: skip
    async with session:
        await peer.connected()
        await session.pump(pcm_source(silence(0.2), realtime=False))
        for k in range(6):
            await converse(peer, 1, start=k)
            await wait_until(lambda k=k: len(session.ledger.records) == k + 1)
            await wait_until(lambda: not session.summarising)
    recorder.close()
    return session


async def test_replay_rebuilds_the_recorded_session_exactly(peer, tmp_path):
    path = tmp_path / "talk.jsonl.gz"
    live = await record_conversation(peer, path)
    assert live.summaries >= 1
    again = await replay(path)
    # times are the recording's: within the few ms between opening the recorder and the session
    replayed, recorded = json.loads(again.state.to_json()), json.loads(live.state.to_json())
    for a, b in zip(replayed["items"], recorded["items"], strict=True):
        assert abs(a.pop("at_s") - b.pop("at_s")) < 0.05
    assert replayed == recorded
    replayed, recorded = again.ledger.series(), live.ledger.series()
    assert all(replayed[k] == recorded[k] for k in recorded if k != "at_s")  # at_s: replay time
    assert (
        isinstance(again, SessionCore)
        and again.state.current_summary().text == live.state.current_summary().text
    )


async def test_recording_holds_audio_both_ways_and_no_key(peer, tmp_path):
    path = tmp_path / "talk.jsonl.gz"
    await record_conversation(peer, path)
    sent, received = recorded_audio(path)
    assert len(sent) == 9600  # 0.2 s of user audio
    assert len(received) == 6 * 3 * 48000  # six 3-second replies
    header, entries = read_recording(path)
    assert header["model"] == DEFAULT_REALTIME_MODEL and {e.dir for e in entries} == {
        "client",
        "server",
        "local",
    }
    with gzip.open(path, "rt") as f:
        raw = f.read()
    assert SECRET not in raw and "Authorization" not in raw


def test_not_a_recording_is_a_clear_error(tmp_path):
    path = tmp_path / "x.gz"
    with gzip.open(path, "wt") as f:
        f.write('{"hello": 1}\n')
    with pytest.raises(ValueError, match="not a voicenb recording"):
        read_recording(path)
