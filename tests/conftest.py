"""Shared fixtures: a scripted protocol peer on loopback and a session connected to it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from tests.peer import ScriptedPeer
from voicenb.policy import SummaryPolicy
from voicenb.session import VoiceSession


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` (cheap, synchronous) until true; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


@pytest.fixture
async def peer() -> AsyncIterator[ScriptedPeer]:
    async with ScriptedPeer() as p:
        yield p


@pytest.fixture
def make_session(peer: ScriptedPeer) -> Callable[..., VoiceSession]:
    def make(**kwargs: object) -> VoiceSession:
        kwargs.setdefault("policy", SummaryPolicy(trigger_tokens=10_000))
        return VoiceSession(api_key="test-key", websocket_base_url=peer.url, confirm_timeout_s=2.0, **kwargs)

    return make
