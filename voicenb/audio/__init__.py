"""Audio in and out. The wire format is PCM16 little-endian mono at 24 kHz.

* A **source** has ``source()``: an async iterator of PCM16 chunks (what `VoiceSession.run` pumps); any
  async iterator of chunks works too (`wav_source`, `pcm_source`).
* A **sink** plays assistant audio: ``play(item_id, pcm)``; ``interrupt()`` stops playback at once
  (barge-in) and says how much of the item being played was heard, as a `Cut`; ``reset()`` drops
  everything queued.

Modules: ``pcm`` (the wire format, files, paced sources), ``playback`` (the interface and a simulated
speaker: `PlayClock`, `RecordingSink`), ``files`` (`FileSource`), ``local`` (`LocalAudio`, sounddevice on
the kernel's machine). The browser's mic and speakers are a widget: `voicenb.widgets.BrowserAudio`.
"""

from .files import FileSource, check_wav
from .local import LocalAudio, PcmQueue, import_sounddevice
from .pcm import (
    BYTES_PER_SAMPLE,
    CHUNK_MS,
    SAMPLE_RATE,
    TAIL_SILENCE_S,
    WPM,
    Resampler,
    chunk_pcm,
    float_to_pcm,
    pcm_duration_s,
    pcm_source,
    pcm_to_float,
    read_wav,
    resample,
    silence,
    spoken_seconds,
    wav_source,
    write_wav,
)
from .playback import AudioSink, AudioSource, AudioUnavailable, Cut, PlayClock, RecordingSink, ms_of

__all__ = [
    "BYTES_PER_SAMPLE",
    "CHUNK_MS",
    "SAMPLE_RATE",
    "TAIL_SILENCE_S",
    "WPM",
    "AudioSink",
    "AudioSource",
    "AudioUnavailable",
    "Cut",
    "FileSource",
    "LocalAudio",
    "PcmQueue",
    "PlayClock",
    "RecordingSink",
    "Resampler",
    "check_wav",
    "chunk_pcm",
    "float_to_pcm",
    "import_sounddevice",
    "ms_of",
    "pcm_duration_s",
    "pcm_source",
    "pcm_to_float",
    "read_wav",
    "resample",
    "silence",
    "spoken_seconds",
    "wav_source",
    "write_wav",
]
