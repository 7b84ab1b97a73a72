"""Record a session (client and server events with timestamps, PCM in and out) and replay it offline.

A recording is gzip'd JSON lines: a header, then ``{"t": seconds, "dir": ..., "event": {...}}`` where dir is
"client" or "server" (wire events) or "local" (what the session decided: summary marked, handoff).
Audio travels inside the events (base64 PCM16 24 kHz), so one file holds everything. Nothing secret is
written: events carry no headers, and the header holds the session config, never the API key.

Replaying feeds the recorded server events through a fresh session's dispatch table, with no network
and no key, and rebuilds the same conversation state, ledger and published events, deterministically.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from .apikey import redact_value
from .audio import pcm_source
from .model_table import DEFAULT_REALTIME_MODEL
from .policy import SummaryPolicy
from .session import SessionConfig, SessionCore

FORMAT = "voicenb-recording/1"


class SessionRecorder:
    """Attach with ``VoiceSession(recorder=SessionRecorder(path))``; close() when done (or use ``with``)."""

    def __init__(self, path: str | Path, config: SessionConfig | None = None) -> None:
        self.path = Path(path)
        self._file: TextIO = gzip.open(self.path, "wt", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self._t0 = time.monotonic()
        header: dict[str, Any] = {"format": FORMAT, "model": (config or SessionConfig()).model}
        if config is not None:
            header["session"] = config.to_api()
        self._write(header)

    def client_event(self, event: Mapping[str, Any]) -> None:
        self._record("client", event)

    def local_event(self, event: dict[str, Any]) -> None:
        self._record("local", event)

    def server_event(self, event: Any) -> None:
        data = event if isinstance(event, dict) else event.model_dump(exclude_unset=True, warnings=False)
        self._record("server", data)

    def _record(self, direction: str, event: Mapping[str, Any]) -> None:
        # A server that echoes the key back must not get it written down: every registered secret is masked.
        entry = {"t": round(time.monotonic() - self._t0, 4), "dir": direction, "event": redact_value(event)}
        self._write(entry)

    def _write(self, obj: dict[str, Any]) -> None:
        if not self._file.closed:
            self._file.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Entry:
    t: float
    dir: str
    event: dict[str, Any]


def read_recording(path: str | Path) -> tuple[dict[str, Any], list[Entry]]:
    """(header, entries); a clear error for files that are not voicenb recordings."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    if not lines or lines[0].get("format") != FORMAT:
        raise ValueError(f"{path} is not a voicenb recording ({FORMAT})")
    return lines[0], [Entry(d["t"], d["dir"], d["event"]) for d in lines[1:]]


def _audio(entries: list[Entry], direction: str, kind: str, field: str) -> Iterator[bytes]:
    for e in entries:
        if e.dir == direction and e.event.get("type") == kind:
            yield base64.b64decode(e.event[field])


def recorded_audio(path: str | Path) -> tuple[bytes, bytes]:
    """(user audio sent, assistant audio received), PCM16 24 kHz."""
    _, entries = read_recording(path)
    sent = b"".join(_audio(entries, "client", "input_audio_buffer.append", "audio"))
    received = b"".join(_audio(entries, "server", "response.output_audio.delta", "delta"))
    return sent, received


async def recorded_user_audio(path: str | Path, *, realtime: bool = True) -> AsyncIterator[bytes]:
    """The recorded microphone as a live source: replay a conversation against another server/policy."""
    sent, _ = recorded_audio(path)
    async for chunk in pcm_source(sent, realtime=realtime):
        yield chunk


async def replay(
    path: str | Path, *, speed: float | None = None, session: SessionCore | None = None
) -> SessionCore:
    """Rebuild a recorded session offline: no network, no key. ``speed`` paces events (1.0 = as recorded).

    The replayed session only observes: its policy never fires (the recorded summaries and deletions
    are themselves in the recording), so the result is the recorded conversation, exactly. Its clock is
    the recording's: an item's ``at_s`` is when it was recorded, not when it was replayed.
    """
    header, entries = read_recording(path)
    config = SessionConfig(model=header.get("model", DEFAULT_REALTIME_MODEL))
    recorded_at = [0.0]  # the recording's time of the entry being replayed
    session = session or SessionCore(
        config, SummaryPolicy(trigger_tokens=sys.maxsize), clock=lambda: recorded_at[0]
    )
    start = time.monotonic()
    for entry in entries:
        recorded_at[0] = entry.t
        if speed:
            await asyncio.sleep(max(0.0, start + entry.t / speed - time.monotonic()))
        if entry.dir == "server":
            session.handle(entry.event)
        elif entry.dir == "local":
            session.note(entry.event)
    return session
