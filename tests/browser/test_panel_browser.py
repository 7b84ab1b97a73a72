"""The control panel in a real JupyterLab, driven by headless Chromium with a spoken WAV as the mic.

JupyterLab runs on 127.0.0.1 with token auth in a temp dir; the notebook shows a `ControlPanel` over the
offline engine. Chromium (Debian's, never a Playwright download) feeds the WAV through its fake capture
device. The test clicks Start and checks the whole loop: the user's words in the transcript, assistant
audio scheduled in the browser, points on the chart, a summary after the trigger slider is moved below
the window, and that widget callbacks (delivered on ipykernel subshell threads) ran on the loop thread.
It screenshots the panel mid-conversation; `VOICENB_SCREENSHOT=docs/panel.png make test` refreshes the image
the README shows (a plain run writes it to a temporary folder, so tests leave the tree clean).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_offline_models

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
# Two user turns, with room between them for the assistant's spoken reply (no barge-in).
UTTERANCES = [
    "Hello there. I would like to book a table for two people tonight, please.",
    "My name is Alice, and we would love a table by the window.",
]
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]  # fmt: skip

KERNEL_READY = """() => {
  const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const ctx = nb && nb.sessionContext;
  return Boolean(ctx && ctx.isReady && ctx.session?.kernel && ctx.kernelDisplayStatus === "idle");
}"""

CHART_BARS = """() => Array.from(document.querySelectorAll(".voicenb-chart rect.bar"))
  .filter((r) => parseFloat(r.getAttribute("height") || "0") > 0).length"""

NOTEBOOK_CODE = """\
import asyncio, json, pathlib
from voicenb import SummaryPolicy, VoiceSession
from voicenb.widgets import ControlPanel

# keep_last=0: once the trigger is below the window, the whole first exchange can be summarised.
session = VoiceSession(policy=SummaryPolicy(trigger_tokens=20_000, keep_last=0))
panel = ControlPanel(session)

async def dump_diagnostics():  # the test reads these; a task that outlives the cell, like the panel's own
    while True:
        pathlib.Path("diagnostics.json").write_text(json.dumps(panel.diagnostics(), default=str))
        await asyncio.sleep(0.5)

dumper = asyncio.get_running_loop().create_task(dump_diagnostics())
panel
"""


def _requirements() -> None:
    pytest.importorskip("playwright", reason="needs the browser extra: pip install 'voicenb[browser]'")
    pytest.importorskip("jupyterlab", reason="needs the browser extra: pip install 'voicenb[browser]'")
    require_offline_models()
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):  # CI must exercise the panel in a real browser, never skip it
            pytest.fail(f"{CHROMIUM} missing in CI: make test installs Debian's chromium")
        pytest.skip(
            f"{CHROMIUM} missing and could not be installed (make test runs: apt-get install chromium)"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spoken_wav(path: Path) -> Path:
    """The user's turns spoken by piper, with silence around them so the engine's VAD hears each end."""
    from voicenb.audio import silence, write_wav
    from voicenb.engine.speech import synthesise

    write_wav(
        path,
        silence(1.0) + synthesise(UTTERANCES[0]) + silence(12.0) + synthesise(UTTERANCES[1]) + silence(4.0),
    )
    return path


def _write_notebook(path: Path) -> None:
    cell = {
        "cell_type": "code",
        "id": "panel",
        "metadata": {},
        "execution_count": None,
        "outputs": [],
        "source": NOTEBOOK_CODE,
    }
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = {"cells": [cell], "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))


def _quiet_lab_settings(settings: Path) -> None:
    """No news or update toasts over the panel."""
    target = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server on loopback: (URL with token, its root dir). Stopped and reaped afterwards."""
    root, home = tmp_path / "lab", tmp_path / "home"
    root.mkdir()
    _quiet_lab_settings(home / "settings")
    token, port = uuid.uuid4().hex, _free_port()
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}  # the offline engine
    env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"),
               OMP_NUM_THREADS="1")  # fmt: skip
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.open_browser=False", "--allow-root",
        "--ServerApp.terminals_enabled=False", "--LabApp.extension_manager=readonly",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run the cells through Lab's own command
    ]  # fmt: skip
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/api/status?token={token}", server, tmp_path / "lab.log")
        yield f"{base}/lab/tree/panel.ipynb?token={token}", root
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
        log.close()


def _wait_http(url: str, server: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer in {timeout}s:\n{log.read_text()[-3000:]}")


def _diagnostics(root: Path) -> dict:
    try:
        return json.loads((root / "diagnostics.json").read_text())
    except (OSError, ValueError):
        return {}


def _wait(predicate, timeout: float, what: str, root: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout}s; panel diagnostics: {_diagnostics(root)}")


@pytest.mark.timeout(600)
def test_panel_in_jupyterlab_with_a_spoken_mic(lab: tuple[str, Path], tmp_path: Path) -> None:
    _requirements()
    from playwright.sync_api import sync_playwright

    url, root = lab
    _write_notebook(root / "panel.ipynb")
    wav = spoken_wav(tmp_path / "mic.wav")
    args = [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}%noloop"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            _converse(page, url, root, tmp_path / "panel.png")
        finally:
            browser.close()


def _converse(page, url: str, root: Path, default_shot: Path) -> None:
    page.goto(url)
    page.wait_for_function(KERNEL_READY, timeout=120_000)
    # Not awaited: the command's promise settles only when the cells finish.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    panel = page.locator(".voicenb-panel")
    panel.wait_for(timeout=120_000)

    panel.get_by_role("button", name="Start").click()
    transcript = panel.locator(".vnb-transcript")
    _wait(lambda: "table" in transcript.locator(".vnb-user").all_inner_texts().__str__().lower(), 180,
          "the user's words in the transcript", root)  # fmt: skip
    audio = panel.locator(".voicenb-audio")
    _wait(lambda: int(audio.get_attribute("data-played-chunks") or 0) > 0, 120,
          "assistant audio played in the browser", root)  # fmt: skip
    assert audio.get_attribute("data-mic-state") == "live"
    assert int(audio.get_attribute("data-mic-chunks") or 0) > 20  # ~80 ms chunks streamed to the kernel
    assert audio.get_attribute("data-audio-state") == "running"  # the Start click unlocked audio
    _wait(lambda: transcript.locator(".vnb-assistant").count() > 0, 60, "the assistant's reply", root)
    _wait(lambda: _diagnostics(root).get("chart_points", 0) >= 2, 120, "two completed responses", root)
    _wait(lambda: page.evaluate(CHART_BARS) >= 2, 30, "bars on the token chart", root)
    assert "alice" in str(transcript.locator(".vnb-user").all_inner_texts()).lower()

    window = _diagnostics(root)["window_tokens"]
    assert 0 < window < 5000, window
    readout = panel.locator(".vnb-trigger .widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("50")  # below the current window
    page.keyboard.press("Enter")
    _wait(
        lambda: transcript.locator(".vnb-summary").count() > 0, 120, "a summary item after the slider", root
    )
    time.sleep(1.0)  # one throttled chart update (<= 2/s) after the summary
    screenshot = Path(os.environ.get("VOICENB_SCREENSHOT") or default_shot)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(screenshot))

    _assert_callbacks_hopped_to_the_loop(root)


def _assert_callbacks_hopped_to_the_loop(root: Path) -> None:
    """JupyterLab 4.4+ sends comm messages to a kernel subshell (ipykernel 7 then routes each comm's messages
    to the subshell or the main shell): whichever thread delivers them, the work runs on the loop thread."""
    diag = _diagnostics(root)
    hops = diag["hops"]
    assert {"start", "trigger"} <= {h["name"] for h in hops}, hops
    assert all(h["ran_on_loop_thread"] for h in hops), hops
    delivered, handled = diag["delivery_threads"], diag["handled_threads"]
    assert any(t.startswith("subshell-") for t in delivered), f"no subshell delivery seen: {delivered}"
    assert list(handled) == ["MainThread"], handled  # the kernel's loop thread, never the subshell
    print(
        f"\nwidget messages delivered on {delivered}; panel callbacks from", {h["from_thread"] for h in hops}
    )
    assert diag["summaries"] >= 1 and diag["chart_points"] >= 1 and not diag["errors"], diag
