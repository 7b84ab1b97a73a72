"""Audio sources and sinks behind one small interface.

* A **source** has ``source()``: an async iterator of PCM16 mono 24 kHz chunks (what `VoiceSession.run`
  pumps).
* A **sink** plays assistant audio: ``play(item_id, pcm)``; ``interrupt()`` stops playback at once
  (barge-in) and says how much of the item being played was heard, as a `Cut`; ``reset()`` drops
  everything queued.

Implementations: `BrowserAudio` (the browser's mic and speakers, in ``browser_audio.py``), `LocalAudio`
(``sounddevice`` on the kernel's machine), `FileSource` (a WAV file or recording) and `RecordingSink`
(keeps assistant audio, plays it on a simulated real-time clock; for files, tests and headless kernels).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import wave
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..audio import (
    BYTES_PER_SAMPLE,
    SAMPLE_RATE,
    TAIL_SILENCE_S,
    float_to_pcm,
    pcm_to_float,
    resample,
    wav_source,
    write_wav,
)


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


def check_wav(path: str | Path) -> None:
    """Raise `AudioUnavailable` with one line saying what is wrong unless ``path`` is a 16-bit PCM WAV."""
    name = Path(path).name
    convert = f"convert it first, e.g. ffmpeg -i {name} -ac 1 -ar 24000 -sample_fmt s16 speech.wav"
    try:
        with wave.open(str(path), "rb") as w:
            width = w.getsampwidth()
    except (wave.Error, EOFError) as exc:
        raise AudioUnavailable(f"{name} is not a PCM WAV file ({exc or 'empty'}): {convert}") from None
    if width != 2:
        raise AudioUnavailable(f"{name} is {8 * width}-bit; the file source plays 16-bit PCM WAV: {convert}")


@dataclass
class FileSource:
    """A WAV file (any rate, mono or stereo, 16-bit) played as a live microphone.

    The panel's file source: `voicenb.audio.wav_source`, trailing silence included, so the server's VAD
    hears the end of the last utterance (the panel checks the file first with `check_wav`).
    """

    path: str | Path
    realtime: bool = True
    tail_silence_s: float = TAIL_SILENCE_S

    def source(self) -> AsyncIterator[bytes]:
        return wav_source(self.path, realtime=self.realtime, tail_silence_s=self.tail_silence_s)


# --- sounddevice (a local kernel) ---------------------------------------------------------------------


def import_sounddevice() -> Any:
    """``sounddevice``, or an `AudioUnavailable` that says what is missing and what to use instead."""
    remote = "On Binder/JupyterHub the kernel has no sound card: use the browser mic (BrowserAudio)."
    try:
        import sounddevice  # pyright: ignore[reportMissingImports] (optional: LocalAudio only)
    except ImportError:
        raise AudioUnavailable(
            f"local audio needs the 'sounddevice' package (pip install sounddevice). {remote}"
        ) from None
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise AudioUnavailable(
            f"PortAudio is missing ({exc}); on Debian/Ubuntu: apt-get install libportaudio2. {remote}"
        ) from exc
    return sounddevice


class PcmQueue:
    """Thread-safe PCM FIFO for a device callback; counts what was played of each item."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chunks: deque[tuple[str, bytes]] = deque()
        self._played: dict[str, int] = {}
        self._current = ""

    def push(self, item_id: str, pcm: bytes) -> None:
        with self._lock:
            self._chunks.append((item_id, pcm))

    def pull(self, nbytes: int) -> bytes:
        """Exactly ``nbytes`` for the device, zero-padded when there is not enough queued."""
        out = bytearray()
        with self._lock:
            while self._chunks and len(out) < nbytes:
                item_id, pcm = self._chunks[0]
                take = pcm[: nbytes - len(out)]
                out += take
                self._current = item_id
                self._played[item_id] = self._played.get(item_id, 0) + len(take)
                if len(take) == len(pcm):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = (item_id, pcm[len(take) :])
        return bytes(out) + bytes(nbytes - len(out))

    def clear(self) -> Cut | None:
        """Drop everything queued; the cut item if audio was still waiting to be played."""
        with self._lock:
            pending = bool(self._chunks)
            item_id = self._chunks[0][0] if pending else self._current
            self._chunks.clear()
            played = self._played.get(item_id, 0)
            if len(self._played) > 64:  # keep the map small in long sessions
                self._played = {item_id: played}
        return Cut(item_id, ms_of(played)) if pending else None


class LocalAudio:
    """The kernel machine's microphone and speaker through ``sounddevice`` (imported when first used)."""

    def __init__(self, input_device: Any = None, output_device: Any = None, chunk_ms: int = 40) -> None:
        self.input_device, self.output_device, self.chunk_ms = input_device, output_device, chunk_ms
        self.queue = PcmQueue()
        self._out: Any = None

    def check(self) -> None:
        """Raise `AudioUnavailable` now (not mid-conversation) if there is no usable device."""
        sd = import_sounddevice()
        for kind, device in (("input", self.input_device), ("output", self.output_device)):
            try:
                sd.query_devices(device, kind=kind)
            except Exception as exc:
                raise AudioUnavailable(f"no {kind} audio device on the kernel's machine ({exc})") from exc

    async def source(self) -> AsyncIterator[bytes]:
        sd = import_sounddevice()
        loop, chunks = asyncio.get_running_loop(), asyncio.Queue()

        def deliver(pcm: bytes) -> None:
            loop.call_soon_threadsafe(chunks.put_nowait, pcm)

        stream, rate = self._open_input(sd, deliver)
        with stream:
            while True:
                pcm = await chunks.get()
                if rate != SAMPLE_RATE:
                    pcm = float_to_pcm(resample(pcm_to_float(pcm), rate, SAMPLE_RATE))
                yield pcm

    def _open_input(self, sd: Any, deliver: Callable[[bytes], None]) -> tuple[Any, int]:
        """24 kHz if the device takes it, else its own rate (resampled in `source`)."""
        rates = [SAMPLE_RATE, int(sd.query_devices(self.input_device, kind="input")["default_samplerate"])]
        error: Exception | None = None
        for rate in rates:
            try:
                stream = sd.RawInputStream(
                    samplerate=rate, channels=1, dtype="int16", device=self.input_device,
                    blocksize=rate * self.chunk_ms // 1000, callback=lambda data, *_: deliver(bytes(data)),
                )  # fmt: skip
                return stream, rate
            except Exception as exc:  # PortAudioError: rate not supported by this device
                error = exc
        raise AudioUnavailable(f"cannot open the microphone: {error}")

    def play(self, item_id: str, pcm: bytes) -> None:
        if self._out is None:
            self._out = self._open_output()
        self.queue.push(item_id, pcm)

    def _open_output(self) -> Any:
        sd = import_sounddevice()

        def callback(outdata: Any, frames: int, *_: Any) -> None:
            outdata[:] = self.queue.pull(frames * BYTES_PER_SAMPLE)

        stream = sd.RawOutputStream(
            samplerate=SAMPLE_RATE, channels=1, dtype="int16", device=self.output_device, callback=callback
        )
        stream.start()
        return stream

    async def interrupt(self) -> Cut | None:
        return self.queue.clear()

    def reset(self) -> None:
        self.queue.clear()

    def close(self) -> None:
        if self._out is not None:
            with contextlib.suppress(Exception):
                self._out.close()
            self._out = None
