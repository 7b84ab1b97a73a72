"""The assistant item a response writes, and its events as they stream: the item opened, its words
written (text deltas) or spoken (transcript and audio deltas), then closed with the response's status."""

from __future__ import annotations

import base64
from typing import Any

from ..audio import chunk_pcm
from .conversation import ServerItem, new_id
from .host import RunningResponse
from .protocol import server_event
from .sentences import speakable


class ReplyItem:
    """One response's assistant item (None until opened) and the words it holds so far."""

    def __init__(self, run: RunningResponse, modality: str) -> None:
        self.run, self.modality = run, modality
        self.item: Any = None  # the assistant ServerItem once the response has one
        self.text = ""

    @property
    def part_key(self) -> str:
        return "transcript" if self.modality == "audio" else "text"

    async def open(self) -> None:
        run, conn = self.run, self.run.conn
        part_type = "output_audio" if self.modality == "audio" else "output_text"
        self.item = ServerItem(
            new_id("item"), "assistant", [{"type": part_type, self.part_key: ""}], "in_progress"
        )
        previous = None
        if run.in_conversation:
            previous = conn.conversation.add(self.item)
            await conn.send(
                server_event("conversation.item.added", item=self.item.to_api(), previous_item_id=previous)
            )
        await conn.send(
            server_event(
                "response.output_item.added", response_id=run.id, output_index=0, item=self.item.to_api()
            )
        )
        await conn.send(server_event("response.content_part.added", **self._part_fields()))

    async def add(self, piece: str) -> None:
        """The next piece of the reply: a text token, or a sentence to speak."""
        if self.modality == "audio":
            await self._speak(piece)
        else:
            await self._write(piece)

    async def _write(self, piece: str) -> None:
        self.text += piece
        self.item.content[0]["text"] = self.text
        await self.run.conn.send(server_event("response.output_text.delta", delta=piece, **self._ids()))

    async def _speak(self, sentence: str) -> None:
        run, conn = self.run, self.run.conn
        text = speakable(sentence)
        if not text:
            return
        pcm = await run.until_cancelled(conn.synthesize(text))
        if run.cancel_reason or pcm is None:
            return
        delta = (" " if self.text else "") + sentence
        self.text += delta
        self.item.content[0]["transcript"] = self.text
        await conn.send(server_event("response.output_audio_transcript.delta", delta=delta, **self._ids()))
        for chunk in chunk_pcm(pcm, conn.config.audio_chunk_ms):
            if run.cancel_reason:
                return  # queued audio is not sent once the response is cancelled
            self.item.audio += chunk
            audio = base64.b64encode(chunk).decode()
            await conn.send(server_event("response.output_audio.delta", delta=audio, **self._ids()))

    async def close(self, status: str) -> None:
        run = self.run
        send, ids = run.conn.send, self._ids()
        if self.modality == "audio":
            await send(server_event("response.output_audio.done", **ids))
            await send(server_event("response.output_audio_transcript.done", transcript=self.text, **ids))
        else:
            await send(server_event("response.output_text.done", text=self.text, **ids))
        await send(server_event("response.content_part.done", **self._part_fields()))
        self.item.status = "completed" if status == "completed" else "incomplete"
        api_item = self.item.to_api()
        await send(
            server_event("response.output_item.done", response_id=run.id, output_index=0, item=api_item)
        )
        if run.in_conversation and self.item.id in run.conn.conversation:
            await send(server_event("conversation.item.done", item=api_item))

    def _ids(self) -> dict[str, Any]:
        return {"response_id": self.run.id, "item_id": self.item.id, "output_index": 0, "content_index": 0}

    def _part_fields(self) -> dict[str, Any]:
        part = {"type": "audio" if self.modality == "audio" else "text", self.part_key: self.text}
        return {**self._ids(), "part": part}
