"""The audio interface (sources, sinks, `Cut`) and a simulated speaker (`PlayClock`, `RecordingSink`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from .pcm import BYTES_PER_SAMPLE, SAMPLE_RATE, write_wav


@dataclass(frozen=True)
class Cut:
    """Playback of ``item_id`` was stopped after ``played_ms`` of its audio (what the user heard)."""

    item_id: str
    played_ms: int


@runtime_checkable
class AudioSource(Protocol):
    def source(self) -> AsyncIterator[bytes]: ...


@runtime_checkable
class AudioSink(Protocol):
    def play(self, item_id: str, pcm: bytes) -> None: ...

    async def interrupt(self) -> Cut | None: ...

    def reset(self) -> None: ...


class AudioUnavailable(RuntimeError):
    """This audio device cannot be used here; the message says why and what to do instead."""


def ms_of(nbytes: int) -> int:
    return nbytes * 1000 // (BYTES_PER_SAMPLE * SAMPLE_RATE)


# --- a simulated speaker ------------------------------------------------------------------------------


@dataclass
class _Segment:
    item_id: str
    start: float
    seconds: float


class PlayClock:
    """Where a real-time speaker would be: chunks play gaplessly from when they arrive.

    Used where no device reports its position (files, tests) and as the fallback estimate for the
    browser when it does not answer a stop request.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._segments: list[_Segment] = []
        self._end = 0.0

    def add(self, item_id: str, seconds: float) -> None:
        now = self.clock()
        if now >= self._end:
            self._segments.clear()  # idle: nothing earlier can still be playing
        start = max(now, self._end)
        self._segments.append(_Segment(item_id, start, seconds))
        self._end = start + seconds

    def position(self) -> Cut | None:
        """The item playing now and how much of it has played; None when idle."""
        now = self.clock()
        playing = next((s for s in self._segments if s.start <= now < s.start + s.seconds), None)
        if playing is None:
            return None
        played = sum(
            min(max(now - s.start, 0.0), s.seconds) for s in self._segments if s.item_id == playing.item_id
        )
        return Cut(playing.item_id, int(played * 1000))

    def remaining_s(self) -> float:
        """Seconds until everything added so far has played (0 when idle)."""
        return max(0.0, self._end - self.clock())

    def stop(self) -> Cut | None:
        cut = self.position()
        self._segments.clear()
        self._end = 0.0
        return cut


@dataclass
class RecordingSink:
    """Keeps the assistant audio it is given (per item) and plays it on a `PlayClock`."""

    clock: PlayClock = field(default_factory=PlayClock)
    audio: dict[str, bytearray] = field(default_factory=dict)
    cuts: list[Cut] = field(default_factory=list)

    def play(self, item_id: str, pcm: bytes) -> None:
        self.audio.setdefault(item_id, bytearray()).extend(pcm)
        self.clock.add(item_id, len(pcm) / (BYTES_PER_SAMPLE * SAMPLE_RATE))

    async def interrupt(self) -> Cut | None:
        cut = self.clock.stop()
        if cut is not None:
            self.cuts.append(cut)
        return cut

    def reset(self) -> None:
        self.clock.stop()

    def save(self, path: str | Path) -> None:
        """Everything the assistant said, as one WAV."""
        write_wav(path, b"".join(bytes(a) for a in self.audio.values()))


# --- files --------------------------------------------------------------------------------------------
