"""A WAV file played as a live microphone (the panel's file source)."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from .pcm import TAIL_SILENCE_S, wav_source
from .playback import AudioUnavailable


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
