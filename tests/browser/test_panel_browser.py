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
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lab import Lab, launch_chromium, open_notebook

pytestmark = pytest.mark.browser

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
        turns = [f"{t.role}/{t.status}: {t.text[:40]}" for t in session.state.turns()]
        responses = [r.status for r in session.ledger.records]
        diagnostics = {**panel.diagnostics(), "turns": turns, "responses": responses}
        pathlib.Path("diagnostics.json").write_text(json.dumps(diagnostics, default=str))
        await asyncio.sleep(0.5)

dumper = asyncio.get_running_loop().create_task(dump_diagnostics())
panel
"""


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
def test_panel_in_jupyterlab_with_a_spoken_mic(
    lab: Lab, playwright: Any, mic_wav: Path, tmp_path: Path
) -> None:
    root = lab.root
    _write_notebook(root / "panel.ipynb")
    browser = launch_chromium(playwright, f"--use-file-for-fake-audio-capture={mic_wav}%noloop")
    try:
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        _converse(page, lab, root, tmp_path / "panel.png")
        _reopen_while_listening(browser, page, lab, root)
    finally:
        browser.close()


def _converse(page, lab: Lab, root: Path, default_shot: Path) -> None:
    open_notebook(page, lab, "panel.ipynb")
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
    box = panel.locator(".vnb-trigger-box input")
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("100")  # below the current window (the box's minimum)
    page.keyboard.press("Enter")
    _wait(
        lambda: transcript.locator(".vnb-summary").count() > 0, 120, "a summary item after the slider", root
    )
    time.sleep(1.0)  # one throttled chart update (<= 2/s) after the summary
    screenshot = Path(os.environ.get("VOICENB_SCREENSHOT") or default_shot)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(screenshot))

    _assert_callbacks_hopped_to_the_loop(root)


SAVE = "async () => { await window.jupyterapp.commands.execute('docmanager:save'); return true; }"


def _reopen_while_listening(browser: Any, old: Any, lab: Lab, root: Path) -> None:
    """The notebook reopened in a new tab while the session still listens: the panel comes back with the
    mic paused until a click (it turned the mic on by itself and sent the question it heard again)."""
    assert old.evaluate(SAVE)  # the panel's output is in the file the new tab opens
    old.close()
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    open_notebook(page, lab, "panel.ipynb")
    audio = page.locator(".voicenb-panel .voicenb-audio")
    audio.wait_for(timeout=120_000)
    _wait(lambda: _diagnostics(root).get("mic_state") == "paused", 60, "the mic paused on reopening", root)
    heard = _diagnostics(root)["mic_chunks"]
    assert audio.get_attribute("data-mic-state") == "paused" and audio.get_attribute("data-mic-chunks") == "0"
    assert "Turn mic on" in audio.inner_text()
    audio.get_by_role("button", name="Turn mic on").click()
    _wait(lambda: _diagnostics(root).get("mic_chunks", 0) > heard, 60, "mic audio after the click", root)
    assert audio.get_attribute("data-mic-state") == "live"


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
