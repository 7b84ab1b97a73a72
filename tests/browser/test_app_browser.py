"""The live bot as a Voilà app (``make app``): a page with no code where a visitor presses Start, speaks
(Chromium's fake microphone plays a spoken WAV) and hears the reply; in headless Chromium, as a learner
opens it. How long the page takes to show the panel is printed as a figure, not asserted."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lab import ROOT, free_port, launch_chromium, requirements, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def voila(tmp_path: Path):
    requirements()
    pytest.importorskip("voila", reason="needs the browser extra: pip install 'voicenb[browser]'")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_API_KEY", "VOICENB_ROOM"))}
    path = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(PYTHONPATH=path, OMP_NUM_THREADS="1", VOICENB_LLM="smollm2-135m")
    log = (tmp_path / "voila.log").open("w")
    cmd = [sys.executable, "-m", "voila", str(ROOT / "notebooks" / "app.ipynb"), "--no-browser",
           f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0"]  # fmt: skip
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for(
            lambda: _answers(port, server), 90, "Voilà serving", lambda: (tmp_path / "voila.log").read_text()
        )
        yield base, tmp_path / "voila.log"
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
        log.close()


def _answers(port: int, server: subprocess.Popen) -> bool:
    """Listening (a GET of the page would start a kernel: the test's own request is the first)."""
    if server.poll() is not None:
        raise RuntimeError(f"voila exited with {server.returncode}")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def test_the_app_page_shows_no_code_and_a_spoken_turn_is_answered(voila, playwright: Any, mic_wav: Path):
    base, log = voila
    browser = launch_chromium(playwright, f"--use-file-for-fake-audio-capture={mic_wav}%noloop")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        started = time.monotonic()
        page.goto(base)
        panel = page.locator(".voicenb-panel")
        panel.wait_for(timeout=90_000)
        print(f"app page: panel shown {time.monotonic() - started:.1f} s after the request")
        assert "ControlPanel(" not in page.content()  # a page, not a notebook: no source shown
        assert panel.get_by_role("button", name="Start").is_enabled()

        panel.get_by_role("button", name="Start").click()
        transcript = panel.locator(".vnb-transcript")
        context = lambda: f"transcript: {transcript.inner_text()!r}; voila log: {log.read_text()[-1500:]}"  # noqa: E731
        wait_for(lambda: "table" in transcript.locator(".vnb-user").inner_text().lower(), 240,
                 "the visitor's words in the transcript", context)  # fmt: skip
        wait_for(lambda: transcript.locator(".vnb-assistant").count() > 0, 120, "the bot's reply", context)
        audio = panel.locator(".voicenb-audio")
        wait_for(lambda: int(audio.get_attribute("data-played-chunks") or 0) > 0, 120,
                 "the reply's audio played in the page", context)  # fmt: skip
        assert audio.get_attribute("data-mic-state") == "live"
    finally:
        browser.close()
