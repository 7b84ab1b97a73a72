"""`BrowserAudio`: the browser's microphone and speakers as an audio source and sink (an anywidget).

The traitlets below are the contract with ``browser_audio.js``. Audio travels as binary buffers in custom
widget messages, never as base64 or JSON arrays:

* browser → kernel ``{"type": "mic", "level": rms}`` + one PCM16 mono 24 kHz buffer (~40-100 ms), while
  ``capturing`` is true; ``{"type": "stopped", "seq", "item_id", "played_ms", "cut"}`` answers a stop.
* kernel → browser ``{"type": "audio", "item_id"}`` + one PCM16 24 kHz buffer, scheduled gaplessly on the
  AudioContext clock; ``{"type": "stop", "seq"}`` (barge-in) stops playback at once; ``{"type": "reset"}``.

Widget messages may be delivered on a kernel subshell thread, so incoming audio hops onto the event loop
that iterates `source()` with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from ..audio import BYTES_PER_SAMPLE, SAMPLE_RATE, Cut, PlayClock

MAX_QUEUED_S = 10.0  # a stalled consumer loses the oldest mic audio, not the kernel's memory


class BrowserAudio(anywidget.AnyWidget):
    """Mic capture (AudioWorklet, resampled to PCM16 mono 24 kHz) and gapless playback in the browser."""

    _esm = Path(__file__).with_name("browser_audio.js")

    instance_id = t.Unicode(help="keys the browser-side audio engine: one per model, not per view").tag(
        sync=True
    )
    # kernel → browser
    capturing = t.Bool(False, help="capture the mic now").tag(sync=True)
    chunk_ms = t.Int(80, help="mic chunk length").tag(sync=True)
    rate = t.Int(SAMPLE_RATE).tag(sync=True)
    # browser → kernel
    # "paused": the page opened while the session was capturing (a reopened tab) and waits for a click.
    mic_state = t.Unicode("idle", help="idle | paused | starting | live | denied | error").tag(sync=True)
    mic_error = t.Unicode("").tag(sync=True)
    audio_state = t.Unicode("", help="the AudioContext's state: suspended | running | closed").tag(sync=True)
    played_chunks = t.Int(0, help="assistant buffers the browser scheduled for playback").tag(sync=True)
    level = t.Float(0.0, help="mic level (RMS, 0..1) of the last chunk; kernel side only")

    def __init__(self, stop_timeout_s: float = 1.0, **kwargs: Any) -> None:
        kwargs.setdefault("instance_id", uuid.uuid4().hex)
        super().__init__(**kwargs)
        self.stop_timeout_s = stop_timeout_s
        self.mic_chunks = 0  # received from the browser
        self.sent_chunks = 0  # assistant buffers sent to the browser
        self.delivery_threads: Counter[str] = Counter()  # threads that delivered widget messages
        self.handled_threads: Counter[str] = Counter()  # threads that handled them (the loop's)
        self.clock = PlayClock()  # kernel-side estimate, used if the browser does not answer a stop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[bytes | None] | None = None
        self._stops: dict[int, asyncio.Future] = {}
        self._seq = 0
        self.on_msg(self._on_custom_msg)

    def traffic(self) -> dict[str, Any]:
        """Plain data about the threads and audio chunks it saw (the panel's `diagnostics`)."""
        return {
            "delivery_threads": dict(self.delivery_threads),
            "handled_threads": dict(self.handled_threads),
            "mic_chunks": self.mic_chunks,
            "sent_chunks": self.sent_chunks,
            "played_chunks": self.played_chunks,
            "mic_state": self.mic_state,
        }

    # --- source ----------------------------------------------------------------------------------

    async def source(self) -> AsyncIterator[bytes]:
        """Mic chunks as they arrive; capture runs while this is iterated (one consumer at a time)."""
        if self._queue is not None:
            self._queue.put_nowait(None)  # end the previous consumer
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._queue = queue
        self.capturing = True
        try:
            while (chunk := await queue.get()) is not None:
                yield chunk
        finally:
            if self._queue is queue:
                self._queue = None
                self.capturing = False

    def _on_custom_msg(self, _widget: Any, content: dict, buffers: list) -> None:
        """Runs on whatever thread the kernel delivers widget messages on; touches no asyncio state."""
        self.delivery_threads[threading.current_thread().name] += 1
        kind = content.get("type") if isinstance(content, dict) else None
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if kind == "mic" and buffers:
            loop.call_soon_threadsafe(self._put, bytes(buffers[0]), float(content.get("level") or 0.0))
        elif kind == "stopped":
            loop.call_soon_threadsafe(self._stopped, content)

    def _put(self, chunk: bytes, level: float) -> None:
        self.handled_threads[threading.current_thread().name] += 1
        queue = self._queue
        if queue is None:
            return  # nobody is listening: the mic audio is dropped
        self.mic_chunks += 1
        self.level = level
        max_chunks = int(MAX_QUEUED_S * 1000 / max(self.chunk_ms, 1))
        while queue.qsize() >= max_chunks:
            queue.get_nowait()
        queue.put_nowait(chunk)

    # --- sink ------------------------------------------------------------------------------------

    def play(self, item_id: str, pcm: bytes) -> None:
        """Send assistant audio to the browser (call on the event loop)."""
        self._loop = self._loop or asyncio.get_running_loop()
        self.send({"type": "audio", "item_id": item_id}, buffers=[pcm])
        self.sent_chunks += 1
        self.clock.add(item_id, len(pcm) / (BYTES_PER_SAMPLE * SAMPLE_RATE))

    async def interrupt(self) -> Cut | None:
        """Stop playback now; the browser says exactly how much of the playing item was heard."""
        self._loop = asyncio.get_running_loop()
        estimate = self.clock.stop()
        self._seq += 1
        seq, future = self._seq, self._loop.create_future()
        self._stops[seq] = future
        self.send({"type": "stop", "seq": seq})
        try:
            reply = await asyncio.wait_for(future, self.stop_timeout_s)
        except TimeoutError:
            return estimate  # no browser view answered: the kernel's own clock is the best guess
        finally:
            self._stops.pop(seq, None)
        if not reply.get("cut") or not reply.get("item_id"):
            return None
        return Cut(str(reply["item_id"]), int(reply.get("played_ms") or 0))

    def _stopped(self, content: dict) -> None:
        future = self._stops.get(int(content.get("seq") or 0))
        if future is not None and not future.done():
            future.set_result(content)

    def reset(self) -> None:
        self.clock.stop()
        with contextlib.suppress(Exception):  # the comm may already be closed
            self.send({"type": "reset"})
