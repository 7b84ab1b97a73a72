"""Speech-to-text for one connection's user audio, in the background and queued fairly among
connections: a transcript per committed item (announced when the session asks for transcription, as
OpenAI does), in the session's language or the detected one, and early guesses of a turn's words."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .conversation import ServerItem
from .host import SpeechHost
from .protocol import ProtocolError, server_event

log = logging.getLogger("voicenb.engine")


class Transcriber:
    """One connection's transcriptions: a task per audio item while it runs (a response waits for those
    it reads), and the conversation's language."""

    def __init__(self, host: SpeechHost) -> None:
        self.host = host  # also the owner of its jobs in the speech-to-text queue
        self.pending: dict[str, asyncio.Task[None]] = {}  # item id → its transcription, while it runs
        self.language: str | None = None  # the conversation's language: the session's, else detected

    @property
    def _settings(self) -> dict[str, Any] | None:
        return self.host.session["audio"]["input"].get("transcription")

    @property
    def reply_language(self) -> str | None:
        given = (self._settings or {}).get("language")
        return given or self.language

    def check_queue_room(self, event_id: str | None) -> None:
        """Refuse a commit while this connection already has the most transcriptions waiting."""
        jobs = self.host.stt_jobs
        if jobs.pending(self.host) >= jobs.max_pending:
            raise ProtocolError(
                "rate_limit_exceeded",
                f"Too many transcriptions waiting ({jobs.max_pending}): commit again once some complete.",
                None,
                event_id,
            )

    def transcribe(
        self, item: ServerItem, *, announce: bool, transcript: asyncio.Future[str] | None = None
    ) -> None:
        """Transcribe in the background; events only when the session asked for transcription (as OpenAI)."""
        wanted = announce and bool(self._settings)
        task = asyncio.create_task(self._run(item, wanted, transcript))
        self.pending[item.id] = task
        task.add_done_callback(self._forget)  # the map holds pending ones only

    async def ready(self, item_ids: list[str]) -> None:
        """Wait for these items' pending transcriptions (asyncio.wait: cancelling us leaves them running)."""
        pending = [t for i, t in self.pending.items() if i in item_ids and not t.done()]
        if pending:
            await asyncio.wait(pending)

    @property
    def can_guess(self) -> bool:
        """A guess would not wait behind this connection's transcriptions (it would only add to them)."""
        return self.host.parts.stt is not None and not self.host.stt_jobs.pending(self.host)

    def guess(self, pcm: bytes) -> asyncio.Future[str]:
        """A transcript of the turn so far, started before the turn is committed."""
        return asyncio.ensure_future(self.host.stt_jobs.run(self.host, self.stt, pcm))

    def cancel_all(self) -> None:
        for task in list(self.pending.values()):
            task.cancel()

    def stt(self, pcm: bytes) -> str:
        """Transcribe in the session's language (``audio.input.transcription.language``) or, with a
        multilingual model, the detected one, which then becomes the conversation's language (and is
        tried first on the next turn)."""
        stt = self.host.parts.stt
        given = (self._settings or {}).get("language")
        detect = getattr(stt, "transcribe_detect", None)
        if detect is None:
            return stt.transcribe(pcm)
        text, detected = detect(pcm, given, likely=self.language)
        if text:
            self.language = given or detected
        return text

    def _forget(self, task: asyncio.Task[None]) -> None:
        for item_id, pending in list(self.pending.items()):
            if pending is task:
                del self.pending[item_id]

    async def _run(self, item: ServerItem, announce: bool, ready: asyncio.Future[str] | None) -> None:
        part = next(p for p in item.content if p.get("type") == "input_audio")
        try:
            if self.host.parts.stt is None:
                raise RuntimeError("no speech-to-text model loaded")
            text = await ready if ready else await self.host.stt_jobs.run(self.host, self.stt, item.audio)
        except Exception as e:
            log.warning("transcription of %s failed: %s", item.id, e)
            if announce:
                await self._announce_failure(item, e)
            return
        part["transcript"] = text
        if announce:
            await self._announce(item, text)

    async def _announce_failure(self, item: ServerItem, e: Exception) -> None:
        error = {"type": "transcription_error", "code": "transcription_failed", "message": str(e)}
        await self.host.send(
            server_event(
                "conversation.item.input_audio_transcription.failed",
                item_id=item.id, content_index=0, error=error,
            )
        )  # fmt: skip

    async def _announce(self, item: ServerItem, text: str) -> None:
        ids = {"item_id": item.id, "content_index": 0}
        await self.host.send(
            server_event("conversation.item.input_audio_transcription.delta", delta=text, **ids)
        )
        usage = {"type": "duration", "seconds": round(item.audio_s, 3)}
        await self.host.send(
            server_event(
                "conversation.item.input_audio_transcription.completed", transcript=text, usage=usage, **ids
            )
        )
