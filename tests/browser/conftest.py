"""Fixtures shared by the browser tests: one JupyterLab server for the whole lane, Playwright per module,
the spoken WAV that Chromium plays as its microphone, and kernels stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lab import Lab, requirements, running_lab

# Two user turns, with room between them for the assistant's spoken reply (no barge-in): a reply runs to a
# sentence end, up to about 90 tokens, which a loaded 2-core machine may take 15 s to generate and speak.
UTTERANCES = [
    "Hello there. I would like to book a table for two people tonight, please.",
    "My name is Alice, and we would love a table by the window.",
]


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    requirements()
    with running_lab(tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture(autouse=True)
def _stop_kernels_afterwards(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "lab" in request.fixturenames:
        request.getfixturevalue("lab").shutdown_kernels()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    requirements()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def mic_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's turns spoken by piper, with silence around them so the engine's VAD hears each end."""
    requirements()
    from voicenb.audio import silence, write_wav
    from voicenb.engine.speech import synthesize

    path = tmp_path_factory.mktemp("mic") / "mic.wav"
    write_wav(
        path,
        silence(1.0) + synthesize(UTTERANCES[0]) + silence(20.0) + synthesize(UTTERANCES[1]) + silence(4.0),
    )
    return path
