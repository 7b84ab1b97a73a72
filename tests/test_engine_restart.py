"""The engine process killed mid-conversation and restarted seconds later: with the default handoff
settings the session re-seeds the new server session; no turn is lost and the server holds exactly
the session's window."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys

import pytest

from tests.conftest import require_offline_models, wait_until
from voicenb.policy import SummaryPolicy
from voicenb.session import SessionConfig, VoiceSession

require_offline_models()
pytestmark = pytest.mark.offline
TOKEN = "restart-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_engine(port: int) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "voicenb",
        "serve",
        "--port",
        str(port),
        "--token",
        TOKEN,
        "--llm",
        "smollm2-135m",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


async def wait_listening(proc: subprocess.Popen, timeout: float = 240) -> None:
    loop = asyncio.get_running_loop()
    line = await asyncio.wait_for(loop.run_in_executor(None, proc.stdout.readline), timeout)
    assert "offline realtime engine on" in line, line


async def say(session: VoiceSession, text: str) -> None:
    done = len(session.ledger.records)
    await session.send_text(text)
    await wait_until(lambda: len(session.ledger.records) > done, timeout=120)


async def server_holds(session: VoiceSession, item_ids: list[str]) -> None:
    """Every id retrieves from the server (and nothing errors): the server has the local window."""
    errors = len(session.errors)
    for item_id in item_ids:
        await session.link.send({"type": "conversation.item.retrieve", "item_id": item_id})
    await session.wait_idle(quiet_s=0.5)
    assert len(session.errors) == errors, session.errors[-1]


async def test_kill_and_restart_the_engine_process_with_default_handoff():
    port = free_port()
    proc = start_engine(port)
    try:
        await wait_listening(proc)
        config = SessionConfig(output_modalities=["text"], turn_detection=False)
        policy = SummaryPolicy(trigger_tokens=10**6, keep_last=2)
        url = f"ws://127.0.0.1:{port}/v1"
        async with VoiceSession.connect_to(url, config, api_key=TOKEN, policy=policy) as s:
            for line in ("My booking reference is KX 4471.", "We are six people on Saturday.",
                         "One of us is allergic to peanuts."):  # fmt: skip
                await say(s, line)
            before = [t.id for t in s.state.turns()]
            os.kill(proc.pid, signal.SIGKILL)  # mid-conversation, no goodbye
            proc.wait()
            await asyncio.sleep(4.0)  # down for a few seconds, as in an ordinary restart
            proc = start_engine(port)
            await wait_listening(proc)
            await wait_until(lambda: s.handoffs == 1 and s.connected, timeout=90)
            await say(s, "What is my booking reference?")
            await server_holds(s, s.state.window)
            assert [t.id for t in s.state.turns()][: len(before)] == before  # nothing lost from the log
            # The new session: the summary of the older turns, the last two re-seeded, then the new exchange.
            window = [s.state.log[i] for i in s.state.window]
            assert window[0].is_summary and [i.copy_of for i in window[1:3]] == before[-2:]
            assert len(window) == 5 and "KX 4471" in window[0].text
    finally:
        proc.kill()
        proc.wait()
