"""The wire format (PCM16 little-endian mono at 24 kHz), WAV files and paced sources.

A *source* is any async iterator of PCM16 24 kHz byte chunks: a microphone, a file, a browser
widget, or a test script. The session pumps whatever it is given.
"""

from __future__ import annotations

import asyncio
import re
import wave
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import numpy as np
import soxr

SAMPLE_RATE = 24_000
BYTES_PER_SAMPLE = 2
CHUNK_MS = 40


def pcm_duration_s(pcm: bytes, rate: int = SAMPLE_RATE) -> float:
    """Seconds of audio in a PCM16 mono buffer."""
    return len(pcm) / (BYTES_PER_SAMPLE * rate)


def chunk_pcm(pcm: bytes, ms: int = CHUNK_MS, rate: int = SAMPLE_RATE) -> list[bytes]:
    """Split PCM16 mono into chunks of ``ms`` milliseconds (the last one may be shorter)."""
    step = rate * BYTES_PER_SAMPLE * ms // 1000
    return [pcm[i : i + step] for i in range(0, len(pcm), step)]


def silence(seconds: float, rate: int = SAMPLE_RATE) -> bytes:
    return bytes(int(seconds * rate) * BYTES_PER_SAMPLE)


def pcm_to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Anti-aliased resampling of a whole float mono signal (soxr). For a stream use `Resampler`."""
    if src_rate == dst_rate or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples.astype(np.float32, copy=False), src_rate, dst_rate).astype(np.float32)


class Resampler:
    """Streaming anti-aliased resampling (soxr keeps the filter state between chunks, so chunk edges
    do not click): feed mic chunks one by one."""

    def __init__(self, src_rate: int, dst_rate: int = SAMPLE_RATE) -> None:
        self.src_rate, self.dst_rate = src_rate, dst_rate
        self._stream = soxr.ResampleStream(src_rate, dst_rate, 1, dtype="float32")

    def __call__(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        if self.src_rate == self.dst_rate:
            return samples.astype(np.float32, copy=False)
        return self._stream.resample_chunk(samples.astype(np.float32, copy=False), last=last)


def read_wav(path: str | Path) -> bytes:
    """Read a WAV file as PCM16 mono 24 kHz (mixing down and resampling as needed)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported, got {8 * w.getsampwidth()}-bit")
        rate, channels = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    samples = data.reshape(-1, channels).mean(axis=1).astype(np.float32) / 32768.0
    return float_to_pcm(resample(samples, rate, SAMPLE_RATE))


def write_wav(path: str | Path, pcm: bytes, rate: int = SAMPLE_RATE) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(BYTES_PER_SAMPLE)
        w.setframerate(rate)
        w.writeframes(pcm)


async def pcm_source(
    pcm: bytes | Iterable[bytes], *, realtime: bool = True, chunk_ms: int = CHUNK_MS, speed: float = 1.0
) -> AsyncIterator[bytes]:
    """Yield PCM in ``chunk_ms`` chunks, paced like a live microphone when ``realtime`` is set.

    ``speed`` > 1 plays faster than real time (for soak tests and replays).
    """
    buffers = [pcm] if isinstance(pcm, bytes | bytearray) else pcm
    loop = asyncio.get_running_loop()
    start, sent_s = loop.time(), 0.0
    for buf in buffers:
        for chunk in chunk_pcm(bytes(buf), chunk_ms):
            yield chunk
            sent_s += pcm_duration_s(chunk)
            if realtime:
                await asyncio.sleep(max(0.0, start + sent_s / speed - loop.time()))
            else:
                await asyncio.sleep(0)


TAIL_SILENCE_S = 1.5  # after a file's last word, so the server's VAD hears the utterance end


async def wav_source(
    path: str | Path, *, realtime: bool = True, tail_silence_s: float = TAIL_SILENCE_S
) -> AsyncIterator[bytes]:
    """A WAV file as a live source, then ``tail_silence_s`` of silence (without it the last utterance
    never ends for a server VAD, so it is never answered)."""
    async for chunk in pcm_source(read_wav(path) + silence(tail_silence_s), realtime=realtime):
        yield chunk


WPM = 150  # a relaxed speaking rate
_WORDS = re.compile(r"\S+")


def spoken_seconds(text: str, wpm: int = WPM) -> float:
    """How long ``text`` takes to say at ``wpm`` words a minute (an estimate for scripted speech)."""
    return len(_WORDS.findall(text)) * 60 / wpm
