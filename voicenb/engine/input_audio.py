"""The input audio buffer's events (append, commit, clear) and server-VAD turn-taking over them: a
detected turn is committed as a user item and may barge in on the running reply; while the VAD waits
out a turn's silence window, the turn's words are guessed so that its reply can start warm."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
from typing import Any

from ..audio import SAMPLE_RATE
from .components import VoiceActivityScorer
from .conversation import new_id
from .host import TurnHost
from .input_buffer import InputBuffer
from .limits import check_pcm16
from .prewarm import Prewarmer
from .protocol import ProtocolError, server_event
from .replies import Replies
from .transcriber import Transcriber
from .vad import SpeechPaused, SpeechStarted, TurnDetector

MIN_COMMIT_MS = 100
INLINE_VAD_BYTES = SAMPLE_RATE * 2  # more than 1 s of audio in one append: run VAD off the event loop


class InputAudio:
    """A connection's uncommitted audio, the turn detector that listens to it (server VAD, when the
    session has it on), and the speculative transcript of the turn in progress."""

    def __init__(
        self,
        host: TurnHost,
        buffer: InputBuffer,
        transcriber: Transcriber,
        prewarmer: Prewarmer,
        replies: Replies,
    ) -> None:
        self.host, self.buffer, self.transcriber, self.prewarmer = host, buffer, transcriber, prewarmer
        self.replies = replies
        self.detector: TurnDetector | None = None
        self.speech_item_id: str | None = None  # the turn in progress: its item's id, where it started
        self.speech_start_ms = 0
        self._speculation: tuple[asyncio.Future[str], int] | None = None  # a guess, and its pause (ms)

    def configure(
        self, settings: dict[str, Any] | None, new_vad: Callable[[], VoiceActivityScorer] | None
    ) -> None:
        """Server VAD with these settings (None: off); a detector in use keeps its state."""
        if settings is None or new_vad is None:
            self.detector = None
        elif self.detector is None:
            self.detector = TurnDetector(new_vad(), settings)
        else:
            self.detector.settings = settings

    @property
    def in_speech(self) -> bool:
        return self.detector is not None and self.detector.in_speech

    # --- client events ---------------------------------------------------------------------------

    async def on_append(self, event: Any) -> None:
        try:
            pcm = base64.b64decode(event.audio, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("invalid_value", "Invalid base64 audio.", "audio", event.event_id) from None
        check_pcm16(pcm, event.event_id)
        self.buffer.append(pcm, event.event_id)
        if self.detector is not None:
            await self._detect_turns(self.detector, pcm)

    async def on_commit(self, event: Any) -> None:
        buffered_ms = self.buffer.ms
        if buffered_ms < MIN_COMMIT_MS:
            raise ProtocolError(
                "input_audio_buffer_commit_empty",
                f"Error committing input audio buffer: buffer too small. Expected at least {MIN_COMMIT_MS}ms "
                f"of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
                None,
                event.event_id,
            )
        self.transcriber.check_queue_room(event.event_id)
        self.host.check_conversation_room(len(self.buffer), event.event_id)  # refused: the buffer stays
        item_id = self.speech_item_id or new_id("item")
        pcm = self._reset()
        await self.host.commit(pcm, item_id)

    async def on_clear(self, event: Any) -> None:
        self._reset()
        await self.host.send(server_event("input_audio_buffer.cleared"))
        self.replies.turn_cleared()

    def _reset(self) -> bytes:
        """Empty the buffer and forget the turn in progress; returns the audio that was buffered."""
        pcm = self.buffer.take_all()
        self.speech_item_id = None
        if self.detector:
            self.detector.reset()
        return pcm

    # --- server VAD ------------------------------------------------------------------------------

    async def _detect_turns(self, detector: TurnDetector, pcm: bytes) -> None:
        if len(pcm) > INLINE_VAD_BYTES:
            turns = await asyncio.to_thread(detector.feed, pcm)
        else:
            turns = detector.feed(pcm)
        for turn in turns:
            if isinstance(turn, SpeechStarted):
                await self._speech_started(turn.audio_start_ms)
            elif isinstance(turn, SpeechPaused):
                self._speculate(turn.audio_end_ms)
            else:
                await self._speech_stopped(turn.audio_end_ms)
        self._trim_idle_buffer()

    def _trim_idle_buffer(self) -> None:
        """Outside speech, server VAD only needs the last moments (prefix padding) of the buffer: drop
        older silence, so that a long quiet session never fills the buffer."""
        if self.detector is None or self.detector.in_speech:
            return
        self.buffer.keep_last(self.detector.settings["prefix_padding_ms"] + 1000)

    async def _speech_started(self, audio_start_ms: int) -> None:
        self.speech_item_id, self.speech_start_ms = new_id("item"), audio_start_ms
        await self.host.send(
            server_event(
                "input_audio_buffer.speech_started",
                audio_start_ms=audio_start_ms,
                item_id=self.speech_item_id,
            )
        )
        settings = self.detector.settings if self.detector else {}
        if settings.get("interrupt_response", True):
            self.replies.cancel("turn_detected")  # barge-in: response.done follows at once

    async def _speech_stopped(self, audio_end_ms: int) -> None:
        item_id = self.speech_item_id or new_id("item")
        await self.host.send(
            server_event("input_audio_buffer.speech_stopped", audio_end_ms=audio_end_ms, item_id=item_id)
        )
        pcm = self.buffer.take(self.speech_start_ms, audio_end_ms)
        self.speech_item_id = None
        await self.host.commit(pcm, item_id, self._take_speculation())
        if self.detector and self.detector.settings.get("create_response", True):
            self.replies.answer_turn()

    # --- speculation -----------------------------------------------------------------------------

    def _speculate(self, pause_ms: int) -> None:
        """Start transcribing the turn so far while the VAD waits out its silence window: if the
        speaker does not resume, the transcript is ready sooner (about the window's length)."""
        if self._speculation and not self._speculation[0].done():
            return
        if not self.transcriber.can_guess:
            return  # no model, or this connection already waits for transcriptions
        guess = self.transcriber.guess(self.buffer.since(self.speech_start_ms))  # the word's tail included
        self._speculation = (guess, pause_ms)
        guess.add_done_callback(self._warm_for_guess)

    def _warm_for_guess(self, guess: asyncio.Future[str]) -> None:
        """While the VAD still waits out its silence window, evaluate the reply's prompt with the
        guessed transcript: the reply then starts with its prompt already in the model's cache."""
        spec, detector = self._speculation, self.detector
        if spec is None or spec[0] is not guess or guess.cancelled() or guess.exception():
            return  # already taken by the turn it guessed, or failed
        if not guess.result():
            return
        if detector is None or detector.last_voiced_ms > spec[1]:
            return  # the speaker went on
        self.prewarmer.warm_with(guess.result())

    def _take_speculation(self) -> asyncio.Future[str] | None:
        """The speculative transcript's future, if no speech came after the pause it was started at."""
        spec, self._speculation = self._speculation, None
        if spec and self.detector and self.detector.last_voiced_ms <= spec[1]:
            return spec[0]
        return None
