"""What a session asks of the server, and when it hands off to a fresh one. Plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, cast

from openai.types.realtime import RealtimeSessionCreateRequestParam

from ..model_table import DEFAULT_REALTIME_MODEL


@dataclass
class SessionConfig:
    """What the session asks of the server; `to_api()` builds the GA ``session.update`` payload."""

    model: str = DEFAULT_REALTIME_MODEL  # see data/models.json's "defaults" for why
    instructions: str = "You are a friendly voice assistant. Answer in one or two short sentences."
    voice: str = "marin"
    output_modalities: list[Literal["text", "audio"]] = field(default_factory=lambda: ["audio"])
    transcription_model: str = "gpt-4o-mini-transcribe"
    transcription_language: str | None = None
    vad_threshold: float = 0.5
    vad_prefix_padding_ms: int = 300
    vad_silence_ms: int = 500
    turn_detection: bool = True  # server VAD; False = the client commits turns itself
    truncation: str | dict = "auto"
    tools: list[dict] = field(default_factory=list)  # function tool specs (`VoiceSession(tools=...)`)
    tool_choice: str | dict = "auto"  # "auto" | "none" | "required" | {"type": "function", "name": ...}

    def to_api(self) -> RealtimeSessionCreateRequestParam:
        """The session as the SDK's typed request params (a TypedDict: it is also the wire dict)."""
        transcription: dict = {"model": self.transcription_model}
        if self.transcription_language:
            transcription["language"] = self.transcription_language
        turn_detection = (
            {
                "type": "server_vad",
                "threshold": self.vad_threshold,
                "prefix_padding_ms": self.vad_prefix_padding_ms,
                "silence_duration_ms": self.vad_silence_ms,
                "create_response": True,
                "interrupt_response": True,
            }
            if self.turn_detection
            else None
        )
        pcm = {"type": "audio/pcm", "rate": 24000}
        session = {
            "type": "realtime",
            "instructions": self.instructions,
            "output_modalities": list(self.output_modalities),
            "audio": {
                "input": {"format": pcm, "transcription": transcription, "turn_detection": turn_detection},
                "output": {"format": pcm, "voice": self.voice},
            },
            "truncation": self.truncation,
        }
        if self.tools:
            session["tools"], session["tool_choice"] = list(self.tools), self.tool_choice
        return cast(RealtimeSessionCreateRequestParam, session)


@dataclass
class HandoffPolicy:
    """When and how to move to a fresh server session without forgetting.

    OpenAI ends a session after 60 minutes, and sockets drop. A handoff opens a new session seeded
    with the summary (folding older turns) plus the last ``keep_last`` turns as text items.
    """

    after_s: float | None = 55 * 60  # before the 60-minute cap; None: never by timer
    on_disconnect: bool = True
    retry_window_s: float = 60.0  # keep retrying this long (well over a cold engine start), then give up
    max_retries: int | None = None  # an extra cap on attempts; None: as many as fit the window
    backoff_s: float = 0.5  # first delay; doubles per attempt, jittered, up to max_backoff_s
    max_backoff_s: float = 8.0
    min_interval_s: float = 5.0  # automatic handoffs in a row wait this long between starts
    keep_last: int | None = None  # None: the summary policy's keep_last
    gap_buffer_s: float = 30.0  # audio captured during the gap is sent afterwards, up to this much
    max_queued_items: int = 100  # items (typed turns) sent during the gap, sent afterwards


# Server errors that end the session: hand off instead of going silent.
SESSION_ENDING_CODES = frozenset({"session_expired", "session_closed", "server_shutting_down"})
