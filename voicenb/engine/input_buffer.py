"""The uncommitted input audio, addressed in session milliseconds: the one place where the input side
turns bytes of PCM16 mono into milliseconds and back."""

from __future__ import annotations

from ..audio import BYTES_PER_SAMPLE, SAMPLE_RATE
from .protocol import ProtocolError


def bytes_to_ms(n_bytes: int) -> float:
    return n_bytes / (BYTES_PER_SAMPLE * SAMPLE_RATE) * 1000


class InputBuffer:
    """PCM16 the client appended and has not committed. Times are session-audio milliseconds (from the
    session's first appended sample), as the VAD reports them; the buffer tracks where its first byte
    sits, so audio dropped from its front keeps later times valid. ``len()`` is in bytes."""

    def __init__(self, max_s: float) -> None:
        self.max_s = max_s
        self._pcm = bytearray()
        self.start_ms = 0.0  # session-audio time of the buffer's first sample

    def __len__(self) -> int:
        return len(self._pcm)

    @property
    def ms(self) -> float:
        """How much audio is buffered."""
        return bytes_to_ms(len(self._pcm))

    def append(self, pcm: bytes, event_id: str | None) -> None:
        """Add ``pcm``, or refuse all of it when the buffer would exceed its limit."""
        if len(self._pcm) + len(pcm) > self.max_s * BYTES_PER_SAMPLE * SAMPLE_RATE:
            raise ProtocolError(
                "input_audio_buffer_too_large",
                f"The input audio buffer would exceed {self.max_s:g} s of audio: commit or clear it first.",
                "audio",
                event_id,
            )
        self._pcm += pcm

    def since(self, session_ms: float) -> bytes:
        """The audio from ``session_ms`` to the end (the buffer keeps it)."""
        return bytes(self._pcm[self._offset(session_ms) :])

    def take(self, start_ms: float, end_ms: float) -> bytes:
        """The audio from ``start_ms`` to ``end_ms``; everything before ``end_ms`` leaves the buffer."""
        start, end = self._offset(start_ms), self._offset(end_ms)
        pcm = bytes(self._pcm[start:end])
        self._drop(end)
        return pcm

    def take_all(self) -> bytes:
        """Everything buffered; the buffer is then empty."""
        pcm = bytes(self._pcm)
        self._drop(len(pcm))
        return pcm

    def keep_last(self, keep_ms: float) -> None:
        """Drop all but the last ``keep_ms``, once twice that is buffered: trimming in batches, as each
        trim moves the rest of the buffer."""
        if self.ms > 2 * keep_ms:
            self._drop(self._offset(self.start_ms + self.ms - keep_ms))

    def _drop(self, n_bytes: int) -> None:
        del self._pcm[:n_bytes]
        self.start_ms += bytes_to_ms(n_bytes)

    def _offset(self, session_ms: float) -> int:
        """The byte offset of ``session_ms``, on a sample boundary inside the buffer."""
        samples = round((session_ms - self.start_ms) * SAMPLE_RATE / 1000)
        return max(0, min(len(self._pcm) // BYTES_PER_SAMPLE, samples)) * BYTES_PER_SAMPLE
