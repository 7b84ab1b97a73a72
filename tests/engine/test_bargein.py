"""Barge-in and cancellation by the GA rules, driven by a real third-party client (openai-agents)
against the engine on loopback, with a deliberately slowed reply model (``tests/engine/bargein.py``).

The rules asserted: speech during a reply cancels it (``response.done`` cancelled, reason
``turn_detected``); a client ``response.cancel`` ends it (``client_cancelled``) or gets the API's error;
the interrupting turn is answered whatever the order of cancel, commit and transcription. How fast is
a figure (``python -m tests.engine.bench_bargein``), not a tight assertion here.
"""

from __future__ import annotations

import pytest
from openai.types.realtime import SessionUpdatedEvent

from tests.engine.bargein import (
    MOMENTS,
    Phases,
    SlowReplyModel,
    SlowTTS,
    agents_session,
    b64,
    barge_in,
    of_type,
    slowed_engine,
    speak,
)
from tests.engine.fakes import connect, next_event, tone
from voicenb.audio import SAMPLE_RATE

pytest.importorskip("agents", reason="openai-agents missing: pip install -e '.[dev]'")
from agents.realtime.model_inputs import (
    RealtimeModelSendInterrupt,
    RealtimeModelSendRawMessage,
)

GENEROUS_S = 2.0  # far above the figures (tens of ms), far below the seconds the old race took


@pytest.mark.parametrize("moment", MOMENTS)
async def test_speech_at_any_moment_cancels_the_reply_and_the_new_turn_is_answered(moment):
    phases = Phases()
    async with (
        slowed_engine(phases) as engine,
        agents_session(engine.url, engine.config.token) as (s, events),
    ):
        trial = await barge_in(s, events, phases, moment)
    assert (trial.status, trial.reason) == ("cancelled", "turn_detected"), trial
    assert trial.answered, trial
    assert trial.late_events == 0, trial  # nothing of the cancelled reply (audio) after its response.done
    assert trial.cancel_ms is not None and trial.cancel_ms < GENEROUS_S * 1000, trial


@pytest.mark.parametrize("part", ["prefill", "synthesis"])
async def test_a_model_call_that_cannot_be_interrupted_does_not_delay_the_cancel(part):
    """The engine does not wait for the worker: a 3 s prefill or synthesis runs out in the background."""
    phases = Phases()
    blocking: dict = {"llm": SlowReplyModel(phases, first_prefill_s=3.0, step_s=None)}
    if part == "synthesis":
        blocking = {"tts": SlowTTS(phases, first_synth_s=3.0)}
    async with (
        slowed_engine(phases, **blocking) as engine,
        agents_session(engine.url, engine.config.token) as (s, events),
    ):
        trial = await barge_in(s, events, phases, part)
    assert (trial.status, trial.reason) == ("cancelled", "turn_detected"), trial
    assert trial.cancel_ms is not None and trial.cancel_ms < 1000 * GENEROUS_S < 3000, trial  # not 3 s
    assert trial.answered and trial.late_events == 0, trial  # once the blocked call let go of its part


async def test_client_cancel_ends_the_reply_with_client_cancelled():
    phases = Phases()
    async with (
        slowed_engine(phases) as engine,
        agents_session(engine.url, engine.config.token) as (s, events),
    ):
        await speak(s)
        n, _, created = await events.wait(of_type("response.created"))
        await phases.reached("generation")
        mark = len(events.seen)
        await s.model.send_event(RealtimeModelSendInterrupt(force_response_cancel=True))  # the agents API
        _, _, done = await events.wait(_done(created["response"]["id"]), n)
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"]["reason"] == "client_cancelled"
        assert not any(e["type"] == "error" for _, e in events.seen[mark:])
        mark = len(events.seen)
        await s.model.send_event(RealtimeModelSendRawMessage(message={"type": "response.cancel"}))
        _, _, error = await events.wait(of_type("error"), mark)  # nothing runs now: the API's error
        assert error["error"]["code"] == "response_cancel_not_active"


async def test_session_updated_echoes_turn_detection_with_its_defaults():
    """A partial turn_detection update: the echo is the effective configuration, as session.created's."""
    phases = Phases()
    async with slowed_engine(phases) as engine, connect(engine.url, engine.config.token) as conn:
        vad = {"type": "server_vad", "silence_duration_ms": 300}
        await conn.session.update(session={"type": "realtime", "audio": {"input": {"turn_detection": vad}}})
        updated = await next_event(conn, "session.updated")
        echoed = SessionUpdatedEvent.model_validate(updated.model_dump())  # the SDK's own type
        td = echoed.session.audio.input.turn_detection  # type: ignore[union-attr]
        assert td is not None and td.type == "server_vad" and td.silence_duration_ms == 300
        assert td.create_response is True and td.interrupt_response is True
        assert td.threshold == 0.5 and td.prefix_padding_ms == 300
        assert "idle_timeout_ms" in updated.model_dump()["session"]["audio"]["input"]["turn_detection"]

        semantic = {"type": "semantic_vad", "interrupt_response": False}
        await conn.session.update(
            session={"type": "realtime", "audio": {"input": {"turn_detection": semantic}}}
        )
        td = (await next_event(conn, "session.updated")).session.audio.input.turn_detection
        assert (td.type, td.interrupt_response, td.create_response, td.eagerness) == (
            "semantic_vad", False, True, "auto"
        )  # fmt: skip


async def test_without_interrupt_response_the_reply_finishes_and_the_turn_is_answered_after():
    """A turn committed while a reply it may not interrupt runs is answered once that reply ends."""
    phases = Phases()
    vad = {"type": "server_vad", "interrupt_response": False}
    async with slowed_engine(phases) as engine, connect(engine.url, engine.config.token) as conn:
        await conn.session.update(session={"type": "realtime", "audio": {"input": {"turn_detection": vad}}})
        await next_event(conn, "session.updated")
        seen: list = []
        await conn.input_audio_buffer.append(audio=b64(tone(0.4) + bytes(int(0.35 * SAMPLE_RATE) * 2)))
        first = (await next_event(conn, "response.created", seen=seen)).response.id
        await phases.reached("generation")
        await conn.input_audio_buffer.append(audio=b64(tone(0.4) + bytes(int(0.35 * SAMPLE_RATE) * 2)))
        await next_event(conn, "input_audio_buffer.committed", seen=seen)
        done = await next_event(conn, "response.done", seen=seen)
        assert done.response.id == first and done.response.status == "completed"
        second = await next_event(conn, "response.created", seen=seen)
        assert second.response.id != first
        finished = await next_event(conn, "response.done", seen=seen)
        assert finished.response.id == second.response.id and finished.response.status == "completed"


def _done(response_id: str):
    return lambda e: e["type"] == "response.done" and e["response"]["id"] == response_id
