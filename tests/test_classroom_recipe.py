"""The README's classroom recipe, as written: llama.cpp's own OpenAI-compatible server for the chat
model, ``voicenb serve-models`` for speech, and one engine whose three parts are those URLs; four
learners' sessions speak to it at once and each is answered aloud."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import require_offline_models, wait_until
from voicenb.audio import pcm_source, silence
from voicenb.engine.speech import synthesize
from voicenb.session import SessionConfig, VoiceSession
from voicenb.tools.classroom import Room, recipe

require_offline_models()
pytest.importorskip("llama_cpp.server.app", reason="pip install 'voicenb[classroom]'")
pytestmark = pytest.mark.offline

README = Path(__file__).parents[1] / "README.md"
QUESTIONS = ["What is the capital of France?", "What do bees make?",
             "How many days are in a week?", "Can you name a color of the sky?"]  # fmt: skip


def test_the_readme_shows_the_recipe_this_test_runs():
    text = README.read_text()
    for command in recipe():
        assert command in text, command


def _words(text: str) -> set[str]:
    return {w.strip("?.,!").lower() for w in text.split()}


def _closest(heard: str) -> str:
    """The question whose words the transcript shares most (whisper may mishear one word of synthesised
    speech, "capital of friends"; the test asks that each learner's own question reached the server);
    "" when none shares half its words."""
    shares = {q: len(_words(q) & _words(heard)) / len(_words(q)) for q in QUESTIONS}
    best = max(shares, key=shares.__getitem__)
    return best if shares[best] >= 0.5 else ""  # most of its words, or it was not heard


async def learner(url: str, token: str, question: str) -> VoiceSession:
    session = VoiceSession.connect_to(url, SessionConfig(), api_key=token)
    async with session:
        await session.pump(pcm_source(synthesize(question) + silence(1.2), realtime=False))
        await wait_until(lambda: len(session.ledger.records) >= 1, timeout=180)  # the reply's response.done
        await session.wait_idle(quiet_s=0.5)
    return session


@pytest.mark.timeout(900)
async def test_four_learners_are_answered_by_one_engine_whose_models_are_servers():
    async with Room() as room:
        sessions = await asyncio.gather(*(learner(room.url, room.token, q) for q in QUESTIONS))
        engine_log = room.log_tail(2, lines=50)
        memory = room.engine_memory_mb()
    for session, question in zip(sessions, QUESTIONS, strict=True):
        users = [t for t in session.state.turns() if t.role == "user"]
        replies = [t for t in session.state.turns() if t.role == "assistant"]
        assert len(users) == 1 and len(replies) == 1, session.errors  # one turn, one answer
        assert _closest(users[0].text) == question, users[0].text  # its own question, heard by the server
        assert replies[0].text and replies[0].has_audio, session.state.turns()  # spoken by the speech server
        assert not session.errors
    # All three parts are the servers' (the engine's start line lists them), and the engine holds no model.
    assert engine_log.count("OpenAI-compatible endpoint http://127.0.0.1:") == 3, engine_log
    assert memory["peak_mb"] < 1000, memory
