"""A short soak against the offline engine: forced handoffs, summaries, nothing lost."""

from __future__ import annotations

import pytest

from tests.conftest import require_offline_models
from voicenb.summarisers import ExtractiveSummariser
from voicenb.tools.soak import soak

require_offline_models()


@pytest.mark.offline
async def test_soak_keeps_every_turn_across_handoffs():
    # Plumbing: the small reply model and the extractive summariser (the local model's speed is the bench's).
    summariser = {"summariser": ExtractiveSummariser()}
    figures = await soak(4, 1, trigger_tokens=300, keep_last=4, llm="smollm2-135m", session_kwargs=summariser)
    assert figures["turns_lost"] == 0 and figures["silent_failures"] == 0
    assert figures["handoffs"] >= 3 and figures["summaries"] >= 1
    assert figures["window_bounded"], figures
    assert figures["turns_in_log"] == 2 * figures["responses"]
