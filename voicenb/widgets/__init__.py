"""Jupyter widgets for voicenb: the control panel, the browser mic/speaker, the transcript and chart.

Needs the ``widgets`` extra (ipywidgets, anywidget, bqplot); names are imported on first use. Audio
sources and sinks that are not widgets (files, sounddevice, a simulated speaker) are in `voicenb.audio`.
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
}

__all__ = sorted(_EXPORTS)  # pyright: ignore[reportUnsupportedDunderAll] (lazy exports)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'voicenb.widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
