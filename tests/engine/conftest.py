"""Engine fixtures: a protocol engine with scripted parts (no models) and a real-model engine."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import require_offline_models
from tests.engine.fakes import ScriptedLLM, ToneTTS
from voicenb.engine import EngineConfig, MissingExtraError, OfflineEngine


@pytest.fixture
async def engine() -> AsyncIterator[OfflineEngine]:
    """No speech models: scripted LLM, tone TTS, no VAD/STT. Fast and exact."""
    config = EngineConfig(load_models=False, llm=ScriptedLLM(), tts=ToneTTS())
    async with OfflineEngine(config) as eng:
        yield eng


FAST_LLM = (
    "smollm2-135m"  # plumbing tests written for SmolLM2's speed; tests/engine/test_brain.py runs the 1.5B
)


def offline_config(**overrides: object) -> EngineConfig:
    """Real models (loaded once per process: the loaders cache them); skip with the reason if missing.
    The reply model is the small SmolLM2 unless a test asks for another: these tests check the speech
    pipeline, not what the reply says, and CI runs them on 2 cores."""
    require_offline_models()
    overrides.setdefault("llm", FAST_LLM)
    return EngineConfig(**overrides)  # type: ignore[arg-type]


@pytest.fixture
async def speech_engine() -> AsyncIterator[OfflineEngine]:
    try:
        async with OfflineEngine(offline_config()) as eng:
            yield eng
    except MissingExtraError as e:
        pytest.skip(str(e))
