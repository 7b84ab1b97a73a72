"""Summarisers: the offline one keeps facts within a budget; the OpenAI one sends the right prompt."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from openai import AsyncOpenAI

from voicenb.summarisers import OfflineSummariser, OpenAISummariser
from voicenb.tokens import count_text_tokens

TURNS = [
    ("user", "Um, hi, yeah, I'm ringing about my order. It's HH-30518."),
    ("assistant", "Thanks. Could you confirm the name on the account?"),
    ("user", "It's Priya Sethi."),
    ("assistant", "Thanks Priya. I can book an engineer for Thursday the 14th of March."),
    ("user", "That's fine, thank you."),
]


def test_offline_summary_keeps_names_numbers_dates():
    text = OfflineSummariser().summarise_sync(TURNS, None)
    for fact in ("30518", "Sethi", "14th of March", "Thursday"):
        assert fact in text
    assert "Um," not in text and "confirm the name" not in text  # filler and questions dropped
    assert count_text_tokens(text) < sum(count_text_tokens(t) for _, t in TURNS)


def test_offline_summary_rolls_previous_summary_in():
    first = OfflineSummariser().summarise_sync(TURNS[:3], None)
    second = OfflineSummariser().summarise_sync([("user", "Actually, change it to Friday.")], first)
    assert "30518" in second and "Friday" in second
    assert second.index("Sethi") < second.index("Friday")  # the correction comes last


def test_offline_summary_respects_its_budget():
    many = [("user", f"Reference number {n} belongs to Ms Example{n}.") for n in range(200)]
    text = OfflineSummariser().summarise_sync(many, None, budget_tokens=120)
    assert count_text_tokens(text) <= 120
    assert "199" in text  # the latest lines are kept


class ChatHandler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ChatHandler.requests.append({"path": self.path, "body": body, "auth": self.headers["Authorization"]})
        reply = {
            "id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "- Order HH-30518, Priya Sethi."}}],
        }  # fmt: skip
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_server():
    server = HTTPServer(("127.0.0.1", 0), ChatHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


async def test_openai_summariser_prompt(chat_server):
    client = AsyncOpenAI(api_key="test-key", base_url=chat_server, max_retries=0)
    text = await OpenAISummariser(client).summarise(TURNS, "- earlier: caller is angry", "French", 300)
    assert text == "- Order HH-30518, Priya Sethi."
    body = ChatHandler.requests[-1]["body"]
    assert body["model"] == "gpt-4o-mini" and body["max_tokens"] == 300
    system, user = body["messages"]
    assert "Write in French" in system["content"]
    assert "ONLY the latest value" in system["content"] and "Do not answer" in system["content"]
    assert "earlier: caller is angry" in user["content"] and "HH-30518" in user["content"]


async def test_openai_summariser_defaults_to_conversation_language(chat_server):
    client = AsyncOpenAI(api_key="test-key", base_url=chat_server, max_retries=0)
    await OpenAISummariser(client).summarise(TURNS, None, None, 300)
    assert (
        "same language the conversation is in" in ChatHandler.requests[-1]["body"]["messages"][0]["content"]
    )
