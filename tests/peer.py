"""A scripted Realtime GA protocol peer on 127.0.0.1, for testing the session core.

It keeps its own server-side conversation (so deletions and root inserts are checked against a real
list), answers item create/delete with the GA confirmation events, and lets a test script user and
assistant turns, late or failed transcripts, cancelled responses and raw (even malformed) events.
Usage is computed like the API bills it: text by o200k, user audio 10 tok/s, assistant audio 20 tok/s.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from voicenb.tokens import audio_tokens, count_text_tokens


@dataclass
class PeerItem:
    id: str
    role: str
    text: str = ""
    audio_s: float = 0.0

    def tokens(self) -> int:
        if self.audio_s:
            return audio_tokens(self.audio_s, self.role)
        return count_text_tokens(self.text)

    def api(self) -> dict[str, Any]:
        if self.role == "assistant":
            part = {"type": "output_audio", "transcript": self.text}
        elif self.audio_s:
            part = {"type": "input_audio", "transcript": None}
        else:
            part = {"type": "input_text", "text": self.text}
        return {"id": self.id, "type": "message", "object": "realtime.item", "role": self.role,
                "status": "completed", "content": [part]}  # fmt: skip


@dataclass
class ScriptedPeer:
    host: str = "127.0.0.1"
    items: list[PeerItem] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)
    instructions: str = ""
    auto_respond: bool = False  # reply to response.create with a canned assistant turn
    delete_ignored: set[str] = field(default_factory=set)  # deletions the peer never confirms
    reject_root_inserts: bool = False
    refuse_connections: bool = False  # answer the handshake with 503 (a server that is down)
    close_at_once: bool = False  # accept the socket, then close it before saying anything
    silent: bool = False  # accept and never answer anything (not even session.update)
    drop_after_s: float | None = None  # accept, configure, then drop every connection after this long

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._ws: ServerConnection | None = None
        self._connected = asyncio.Event()
        self.audio_bytes = 0
        self.connections = 0
        self.connected_at: list[float] = []  # time.monotonic() of each accepted connection

    async def __aenter__(self) -> ScriptedPeer:
        self._server = await serve(
            self._handle, self.host, 0, max_size=16 * 1024 * 1024, process_request=self._admit
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/v1"

    def new_id(self, prefix: str = "item") -> str:
        return f"{prefix}_{next(self._ids):04d}"

    # --- connection ----------------------------------------------------------------------------

    def _admit(self, connection: ServerConnection, request: Any) -> Any:
        if self.refuse_connections:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "down\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        # Each connection is a new server session: an empty conversation, like the real API.
        self._ws, self.items, self.instructions = ws, [], ""
        self.connections += 1
        self.connected_at.append(time.monotonic())
        self._connected.clear()
        if self.close_at_once:
            await ws.close(code=1011, reason="closing at once")
            return
        if self.drop_after_s is not None:
            asyncio.get_running_loop().call_later(
                self.drop_after_s, lambda: asyncio.ensure_future(ws.close(1011))
            )
        await self.send({"type": "session.created", "session": {"type": "realtime", "model": "gpt-realtime"}})
        self._connected.set()
        async for raw in ws:
            event = json.loads(raw)
            self.received.append(event)
            await self._on_client_event(event)

    async def connected(self) -> None:
        await asyncio.wait_for(self._connected.wait(), 5)

    async def send(self, event: dict[str, Any]) -> None:
        event.setdefault("event_id", self.new_id("event"))
        await self._ws.send(json.dumps(event))

    async def send_raw(self, text: str) -> None:
        await self._ws.send(text)

    async def drop(self) -> None:
        """Close the socket abruptly (a dropped connection)."""
        await self._ws.close(code=1011, reason="dropped")

    def received_types(self) -> list[str]:
        return [e["type"] for e in self.received]

    # --- client events -------------------------------------------------------------------------

    async def _on_client_event(self, e: dict[str, Any]) -> None:
        kind = e["type"]
        if self.silent:
            return
        if kind == "session.update":
            self.instructions = e["session"].get("instructions", "")
            await self.send({"type": "session.updated", "session": e["session"]})
        elif kind == "input_audio_buffer.append":
            self.audio_bytes += len(base64.b64decode(e["audio"]))
        elif kind == "conversation.item.create":
            await self._create(e)
        elif kind == "conversation.item.delete":
            await self._delete(e)
        elif kind == "response.create" and self.auto_respond:
            await self.assistant_turn("Sure, noted.", audio_s=2.0)

    async def _create(self, e: dict[str, Any]) -> None:
        item = e["item"]
        prev = e.get("previous_item_id")
        if prev == "root" and self.reject_root_inserts:
            await self.error("root inserts disabled", "invalid_value", e.get("event_id"))
            return
        text = "".join(p.get("text", "") for p in item.get("content", []))
        new = PeerItem(item.get("id") or self.new_id(), item["role"], text)
        await self._insert(new, 0 if prev == "root" else len(self.items))

    async def _insert(self, item: PeerItem, index: int) -> None:
        previous = self.items[index - 1].id if index > 0 else None
        self.items.insert(index, item)
        api = item.api()
        await self.send({"type": "conversation.item.added", "previous_item_id": previous, "item": api})
        await self.send({"type": "conversation.item.done", "previous_item_id": previous, "item": api})

    async def _delete(self, e: dict[str, Any]) -> None:
        item_id = e["item_id"]
        if item_id in self.delete_ignored:
            return
        if not any(i.id == item_id for i in self.items):
            await self.error(f"no item {item_id}", "item_not_found", e.get("event_id"))
            return
        self.items = [i for i in self.items if i.id != item_id]
        await self.send({"type": "conversation.item.deleted", "item_id": item_id})

    async def error(self, message: str, code: str, event_id: str | None = None) -> None:
        error = {"type": "invalid_request_error", "code": code, "message": message, "event_id": event_id}
        await self.send({"type": "error", "error": error})

    # --- scripted turns ------------------------------------------------------------------------

    async def user_turn(
        self, text: str, audio_s: float = 3.0, *, transcript: str = "now", fail: bool = False
    ) -> PeerItem:
        """A spoken user turn: VAD events, the item, then its transcript ("now", "later" or "never")."""
        item = PeerItem(self.new_id(), "user", text if transcript == "now" and not fail else "", audio_s)
        await self.send(
            {"type": "input_audio_buffer.speech_started", "item_id": item.id, "audio_start_ms": 0}
        )
        await self.send({"type": "input_audio_buffer.speech_stopped", "item_id": item.id,
                         "audio_end_ms": int(audio_s * 1000)})  # fmt: skip
        await self.send({"type": "input_audio_buffer.committed", "item_id": item.id})
        await self._insert(item, len(self.items))
        if fail:
            await self.send({"type": "conversation.item.input_audio_transcription.failed", "item_id": item.id,
                             "content_index": 0, "error": {"type": "transcription_error",
                                                           "message": "audio unintelligible"}})  # fmt: skip
        elif transcript == "now":
            await self.complete_transcript(item, text)
        return item

    async def complete_transcript(self, item: PeerItem, text: str) -> None:
        item.text = text
        await self.send({"type": "conversation.item.input_audio_transcription.delta", "item_id": item.id,
                         "content_index": 0, "delta": text[: len(text) // 2]})  # fmt: skip
        await self.send({"type": "conversation.item.input_audio_transcription.completed", "item_id": item.id,
                         "content_index": 0, "transcript": text})  # fmt: skip

    def window_usage(self, output: PeerItem | None = None) -> dict[str, Any]:
        inputs = [i for i in self.items if i is not output]
        text = count_text_tokens(self.instructions) + sum(i.tokens() for i in inputs if not i.audio_s)
        audio = sum(i.tokens() for i in inputs if i.audio_s)
        out_audio = output.tokens() if output and output.audio_s else 0
        out_text = count_text_tokens(output.text) if output else 0
        return {
            "total_tokens": text + audio + out_audio + out_text,
            "input_tokens": text + audio,
            "output_tokens": out_audio + out_text,
            "input_token_details": {"text_tokens": text, "audio_tokens": audio, "image_tokens": 0,
                                    "cached_tokens": 0, "cached_tokens_details": {}},
            "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
        }  # fmt: skip

    async def assistant_turn(self, text: str, audio_s: float = 2.0) -> PeerItem:
        rid = self.new_id("resp")
        item = PeerItem(self.new_id(), "assistant", text, audio_s)
        await self.send({"type": "response.created", "response": {"id": rid, "status": "in_progress"}})
        await self._insert(item, len(self.items))
        for word in text.split(" "):
            await self.send(
                {
                    "type": "response.output_audio_transcript.delta",
                    "response_id": rid,
                    "item_id": item.id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": word + " ",
                }
            )
        pcm = bytes(int(audio_s * 24000) * 2)
        await self.send(
            {
                "type": "response.output_audio.delta",
                "response_id": rid,
                "item_id": item.id,
                "output_index": 0,
                "content_index": 0,
                "delta": base64.b64encode(pcm).decode(),
            }
        )
        await self.send(
            {
                "type": "response.output_audio_transcript.done",
                "response_id": rid,
                "item_id": item.id,
                "output_index": 0,
                "content_index": 0,
                "transcript": text,
            }
        )
        await self.send(
            {
                "type": "response.done",
                "response": {
                    "id": rid,
                    "status": "completed",
                    "output": [item.api()],
                    "usage": self.window_usage(item),
                },
            }
        )
        return item  # fmt: skip

    async def cancelled_response(self) -> None:
        """A response cancelled before output: the API reports 0 tokens."""
        rid = self.new_id("resp")
        await self.send({"type": "response.created", "response": {"id": rid, "status": "in_progress"}})
        zero = {"total_tokens": 0, "input_tokens": 0, "output_tokens": 0}
        response = {"id": rid, "status": "cancelled", "output": [], "usage": zero}
        await self.send({"type": "response.done", "response": response})
