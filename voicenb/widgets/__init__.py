"""Jupyter widgets for voicenb: the control panel, the browser mic/speaker, and audio sources/sinks.

Needs the ``widgets`` extra (ipywidgets, anywidget, bqplot). Names are imported on first use, so
``voicenb.widgets.io`` (sounddevice and file audio) works without them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ControlPanel": "panel",
    "BrowserAudio": "browser_audio",
    "TranscriptView": "transcript",
    "TokenChart": "chart",
    "AudioBridge": "bridge",
    "truncate_heard": "bridge",
    "LoopHop": "loop",
    "Throttle": "loop",
    "AudioSource": "io",
    "AudioSink": "io",
    "AudioUnavailable": "io",
    "Cut": "io",
    "FileSource": "io",
    "LocalAudio": "io",
    "RecordingSink": "io",
}

__all__ = sorted(_EXPORTS)  # pyright: ignore[reportUnsupportedDunderAll] (lazy exports)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'voicenb.widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
