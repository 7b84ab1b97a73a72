"""The core's VoiceSession, unchanged, in a spoken multi-turn conversation with the offline engine."""

from __future__ import annotations

import pytest

from tests.conftest import require_offline_models, wait_until
from voicenb import events as ev
from voicenb.audio import pcm_source, silence
from voicenb.policy import SummaryPolicy
from voicenb.session import SessionConfig, VoiceSession

require_offline_models()

from tests.engine.conftest import FAST_LLM  # noqa: E402
from voicenb.engine import EngineConfig, OfflineEngine  # noqa: E402
from voicenb.engine.speech import synthesize  # noqa: E402

pytestmark = pytest.mark.offline
USER_TURNS = [
    "My name is Anna and my order number is 30518.",  # a name whisper hears (it clips "Priya")
    "The washing machine is leaking from the door.",
    "Please send an engineer on Thursday morning.",
    "What was my order number again?",
]


async def test_spoken_conversation_with_summary_conditions_the_next_reply():
    async with OfflineEngine(EngineConfig(max_reply_tokens=24, llm=FAST_LLM)) as engine:
        policy = SummaryPolicy(trigger_tokens=200, keep_last=2, min_turns=2)
        session = VoiceSession(SessionConfig(), policy=policy, websocket_base_url=engine.url, api_key="local")
        audio_out, summaries = [], []
        session.subscribe(lambda e: audio_out.append(e.pcm) if isinstance(e, ev.AudioDelta) else None)
        session.subscribe(lambda e: summaries.append(e) if isinstance(e, ev.SummaryFinished) else None)
        async with session:
            for k, text in enumerate(USER_TURNS):
                calls_before = len(engine.llm_calls)
                # Real-time streaming, like a microphone; trailing silence lets server VAD end the turn.
                await session.pump(pcm_source(synthesize(text) + silence(1.0), realtime=True))
                await wait_until(lambda k=k: len(session.ledger.records) > k, timeout=60)
                await wait_until(lambda: not session.summarising, timeout=10)
                if k == len(USER_TURNS) - 2:  # what the server holds before the last question
                    summary = session.state.current_summary()
                    deleted = [i for i in session.state.log.values() if i.deleted_by == "summary"]
            last_prompt = engine.llm_calls[calls_before]
            await session.wait_idle(quiet_s=0.5)
            server = [i.id for i in engine.connections[-1].conversation.items]

    users = [t for t in session.state.turns() if t.role == "user"]
    assistants = [t for t in session.state.turns() if t.role == "assistant"]
    assert len(users) == 4 and len(assistants) == 4  # nothing lost from the full log
    assert "anna" in users[0].text.lower()  # whisper heard the planted fact
    assert all(a.text and a.has_audio for a in assistants)  # replies came back as audio + transcript
    assert sum(len(p) for p in audio_out) > 24_000 * 2  # more than a second of 24 kHz PCM16
    # A summary was inserted at the root and the summarised items were deleted, as on the server.
    assert summaries and session.state.window == server
    assert server[0] == session.state.current_summary().id
    assert summary is not None and deleted and all(i.id not in server for i in deleted)
    # The engine's next reply was conditioned on the summary, and not on the deleted items.
    messages = [m["content"].strip() for m in last_prompt]
    assert summary.text.strip() in messages
    assert not {i.text.strip() for i in deleted if i.text} & set(messages)  # (the summary may quote them)
    assert "anna" in summary.text.lower()
