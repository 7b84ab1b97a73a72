"""Audio on the kernel's own machine through ``sounddevice`` (optional: a local JupyterLab only)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from .pcm import BYTES_PER_SAMPLE, SAMPLE_RATE, float_to_pcm, pcm_to_float, resample
from .playback import AudioUnavailable, Cut, ms_of


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
