"""The panel's audio source picker: the browser mic, a mic on the kernel's machine or a WAV file, and the
(source, sink) pair each choice means."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as w

from ..audio import AudioSink, AudioSource, AudioUnavailable, FileSource, LocalAudio, check_wav
from .browser_audio import BrowserAudio
from .loop import LoopHop

SOURCES = [("browser mic", "browser"), ("local mic (kernel machine)", "local"), ("WAV file", "file")]


class SourcePicker:
    """A dropdown of sources and, for a WAV file, its path field (shown only then)."""

    def __init__(
        self, hop: LoopHop, browser: BrowserAudio, local: LocalAudio | None, file: str | Path | None
    ) -> None:
        self.browser, self.local = browser, local
        self.select = w.Dropdown(options=SOURCES, value="browser", description="source")
        self.file_path = w.Text(value=str(file or ""), placeholder="path/to/speech.wav", description="file")
        self.file_path.layout.display = "none"
        # Runs on whatever thread delivered the widget message: hop, and do nothing else there.
        self.select.observe(lambda c: hop("source", self._show_file_field, c["new"]), "value")

    def endpoints(self) -> tuple[AudioSource, AudioSink]:
        """(source, sink) for the selected source; `AudioUnavailable` says why one cannot be used."""
        kind = self.select.value
        if kind == "local":
            self.local = self.local or LocalAudio()
            self.local.check()
            return self.local, self.local
        if kind == "file":
            path = Path(self.file_path.value.strip()).expanduser()
            if not path.is_file():
                raise AudioUnavailable(f"no such WAV file: {str(path)!r}")
            check_wav(path)
            return FileSource(path), self.browser
        return self.browser, self.browser

    def _show_file_field(self, kind: str) -> None:
        self.file_path.layout.display = "" if kind == "file" else "none"
