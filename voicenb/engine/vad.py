"""Server-VAD turn detection over the input audio buffer. Synchronous: the server runs it inline.

Semantics follow OpenAI's server_vad: speech starts when a frame's speech probability reaches
``threshold`` (``prefix_padding_ms`` of audio before it is kept); it stops after
``silence_duration_ms`` below a slightly lower threshold (hysteresis, as silero recommends), and
the buffer up to that point is committed as one user turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..audio import SAMPLE_RATE, pcm_to_float
from .components import VAD_FRAME_24K, VoiceActivityScorer

FRAME_MS = VAD_FRAME_24K * 1000 / SAMPLE_RATE  # 32 ms
MIN_SPEECH_FRAMES = 2  # 64 ms of speech before "started": a click is not a turn
HYSTERESIS = 0.15
PAUSE_HINT_FRAMES = 2  # 64 ms of silence inside a turn: worth a speculative transcription


@dataclass(frozen=True)
class SpeechStarted:
    audio_start_ms: int  # from the start of the session's input audio, prefix padding included


@dataclass(frozen=True)
class SpeechPaused:
    """Speech may have ended here: a hint to start transcribing early (speculatively)."""

    audio_end_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    audio_end_ms: int  # end of the committed audio (speech plus the silence that ended it)


class TurnDetector:
    """Feeds appended PCM through a VoiceActivityScorer and reports speech start/stop times."""

    def __init__(self, scorer: VoiceActivityScorer, settings: dict[str, Any]) -> None:
        self.scorer = scorer
        self.settings = settings
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames_seen = 0
        self._in_speech = False
        self._voiced_run = 0
        self._silent_frames = 0
        self.last_voiced_ms = 0.0  # end of the latest frame that was not silence

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    def reset(self) -> None:
        """Forget the current turn (buffer cleared or committed by the client)."""
        self._in_speech, self._voiced_run, self._silent_frames = False, 0, 0

    def feed(self, pcm: bytes) -> list[SpeechStarted | SpeechPaused | SpeechStopped]:
        self._pending = np.concatenate([self._pending, pcm_to_float(pcm)])
        events: list[SpeechStarted | SpeechPaused | SpeechStopped] = []
        while len(self._pending) >= VAD_FRAME_24K:
            frame, self._pending = self._pending[:VAD_FRAME_24K], self._pending[VAD_FRAME_24K:]
            event = self._step(self.scorer.score(frame))
            self._frames_seen += 1
            if event:
                events.append(event)
        return events

    def _step(self, prob: float) -> SpeechStarted | SpeechPaused | SpeechStopped | None:
        threshold = float(self.settings["threshold"])
        end_of_frame_ms = (self._frames_seen + 1) * FRAME_MS
        if not self._in_speech:
            self._voiced_run = self._voiced_run + 1 if prob >= threshold else 0
            if self._voiced_run >= MIN_SPEECH_FRAMES:
                self._in_speech, self._silent_frames = True, 0
                onset_ms = end_of_frame_ms - self._voiced_run * FRAME_MS
                return SpeechStarted(max(0, int(onset_ms - self.settings["prefix_padding_ms"])))
            return None
        self._silent_frames = self._silent_frames + 1 if prob < threshold - HYSTERESIS else 0
        if not self._silent_frames:
            self.last_voiced_ms = end_of_frame_ms
        if self._silent_frames * FRAME_MS >= self.settings["silence_duration_ms"]:
            self.reset()
            return SpeechStopped(int(end_of_frame_ms))
        if self._silent_frames == PAUSE_HINT_FRAMES:
            return SpeechPaused(int(self.last_voiced_ms))
        return None
