"""The four workshop notebooks in a real JupyterLab, as a learner meets them: Run All, then every control
the notebook invites the learner to touch, each checked by what it shows.

The notebooks are copied into the lab's folder (running them there leaves the checkout untouched). One
JupyterLab server serves all of them (see conftest.py); each notebook's kernel is stopped afterwards.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lab import (
    ROOT,
    Lab,
    kernel_exec,
    launch_chromium,
    open_notebook,
    run_all,
    show_cell,
    stderr_outputs,
    wait_for,
)
from voicenb.tools.eval import POLICIES

pytestmark = pytest.mark.browser

STATUS = re.compile(r"window ≈?([\d,]+) / trigger ([\d,]+) tok")  # ≈: estimated after a summary
SUMMARIES = re.compile(r"(\d+) summar(?:y|ies)")


@pytest.fixture
def notebooks(lab: Lab) -> Path:
    """A fresh copy of notebooks/ (with its helper module) in the lab's folder."""
    target = lab.root / "notebooks"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT / "notebooks", target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return target


def _page(browser: Any) -> Any:
    return browser.new_page(viewport={"width": 1500, "height": 1100})


def _cell_outputs(page: Any, containing: str) -> str:
    """The visible output of the code cell whose source contains ``containing`` (scrolled to first: Lab
    does not render cells far off screen, as a learner would scroll to read one)."""
    show_cell(page, containing)
    cell = page.locator(".jp-CodeCell").filter(has=page.locator(".jp-InputArea", has_text=containing)).first

    # Lab renders a cell's outputs after the kernel reports it done, and re-renders a cell scrolled back
    # into view, each a moment after the output node is attached: wait for its text or image, not the node
    def rendered() -> str:
        text = " ".join(cell.locator(".jp-OutputArea").all_inner_texts()).strip()
        return text or (" " if cell.locator(".jp-OutputArea img").count() else "")

    return wait_for(rendered, 60, f"the output of the cell with {containing!r}")


def _says_offline_backend(output: str) -> bool:
    """The cell that makes the session says, in its own output, that it runs on the offline engine."""
    return bool(re.search(r"backend: .*offline", output, re.IGNORECASE))


def _assert_clean(page: Any) -> None:
    assert not stderr_outputs(page), f"stderr boxes or tracebacks: {stderr_outputs(page)}"


# --- 01: no controls; Run All shows the measurements and the plot -------------------------------------------


@pytest.mark.timeout(420)
def test_01_runs_all_and_shows_its_measurements(lab: Lab, playwright: Any, notebooks: Path) -> None:
    browser = launch_chromium(playwright)
    try:
        page = _page(browser)
        open_notebook(page, lab, "notebooks/01_text_vs_audio_tokens.ipynb")
        run_all(page, 300)
        _assert_clean(page)
        measured = _cell_outputs(page, "audio_tokens = await measure()")
        assert _says_offline_backend(measured) and "audio" in measured and "tok" in measured
        assert "audio tokens per second" in _cell_outputs(page, "audio_per_s =")
        show_cell(page, "plt.show()")
        plot_cell = page.locator(".jp-CodeCell").filter(
            has=page.locator(".jp-InputArea", has_text="plt.show()")
        )
        assert plot_cell.locator(".jp-OutputArea img").count() == 1  # the cost plot
        assert "the quality ceiling" in _cell_outputs(page, "DEFAULT_REALTIME_MODEL):")  # both models
    finally:
        browser.close()


# --- 02: the live panel after Run All -------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_02_panel_controls_work_after_run_all(
    lab: Lab, playwright: Any, notebooks: Path, mic_wav: Path
) -> None:
    browser = launch_chromium(playwright, f"--use-file-for-fake-audio-capture={mic_wav}%noloop")
    try:
        page = _page(browser)
        open_notebook(page, lab, "notebooks/02_live_summarising_bot.ipynb")
        run_all(page, 360)
        _assert_clean(page)
        _drive_the_panel(page)
        _rerun_the_panel_cell(page)
    finally:
        browser.close()


def _status(panel: Any) -> tuple[int, int, int, str]:
    """(window, trigger, summaries, text) as the status line shows them."""
    text = panel.locator(".vnb-status").inner_text()
    window, trigger = (int(g.replace(",", "")) for g in STATUS.search(text).groups())
    return window, trigger, int(SUMMARIES.search(text).group(1)), text


def _drive_the_panel(page: Any) -> None:
    assert _says_offline_backend(_cell_outputs(page, "panel = ControlPanel(session)"))
    panel = page.locator(".voicenb-panel")
    transcript = panel.locator(".vnb-transcript")
    _, trigger, summaries, text = _status(panel)
    assert trigger == 600 and summaries >= 1 and "1 summaries" not in text, text  # the script summarised
    assert transcript.locator("details.vnb-folded").count() >= 1  # folded turns collapse under one line
    assert panel.locator("select").first.input_value() == "browser mic"  # the script put the mic back

    # Drag "summary at" far right: a log slider lands on a round number the box and the status follow.
    _drag(page, panel.locator(".vnb-trigger .noUi-handle"), 400)
    wait_for(lambda: _status(panel)[1] >= 10_000, 20, "the dragged trigger in the status line",
             lambda: _status(panel)[3])  # fmt: skip
    dragged = _status(panel)[1]
    assert int(panel.locator(".vnb-trigger-box input").input_value()) == dragged
    assert dragged == int(float(f"{dragged:.2g}"))  # snapped to two significant digits

    # Start with the browser mic (Chromium's fake capture speaks two sentences).
    users_before = transcript.locator(".vnb-user").count()
    panel.get_by_role("button", name="Start").click()
    wait_for(lambda: "listening (browser mic)" in _status(panel)[3], 30, "listening in the status line",
             lambda: _status(panel)[3])  # fmt: skip
    wait_for(lambda: "alice" in " ".join(transcript.locator(".vnb-user").all_inner_texts()).lower(), 180,
             "the second spoken sentence in the transcript", lambda: _status(panel)[3])  # fmt: skip
    assert transcript.locator(".vnb-user").count() >= users_before + 2
    assert panel.locator(".voicenb-audio").get_attribute("data-mic-state") == "live"

    # Stop: listening ends, the connection and the conversation stay, Start is offered again.
    panel.get_by_role("button", name="Stop").click()
    wait_for(lambda: "listening" not in _status(panel)[3], 30, "Stop in the status line",
             lambda: _status(panel)[3])  # fmt: skip
    assert "● connected" in _status(panel)[3]
    assert panel.get_by_role("button", name="Start").is_enabled()

    # Type a trigger below the window: a summary follows at once.
    window, _, summaries, _ = _status(panel)
    assert window > 100, window
    field = panel.locator(".vnb-trigger-box input")
    field.fill("100")
    field.press("Enter")
    wait_for(lambda: _status(panel)[2] > summaries, 120, "a summary after typing a trigger below the window",
             lambda: _status(panel)[3])  # fmt: skip
    assert _status(panel)[1] == 100

    # Summarise now: folds what is left, or says there is nothing to fold.
    summaries = _status(panel)[2]
    panel.get_by_role("button", name="Summarise now").click()
    wait_for(lambda: "nothing to summarise yet" in _status(panel)[3] or _status(panel)[2] > summaries, 60,
             "an answer to Summarise now", lambda: _status(panel)[3])  # fmt: skip


def _rerun_the_panel_cell(page: Any) -> None:
    """Re-running the panel's cell replaces the panel and closes the session only the old panel reached."""
    kernel_exec(page, "_old_session, _old_panel = session, panel")
    index = page.evaluate("""() => {
      const nb = window.jupyterapp.shell.currentWidget.content;
      return nb.widgets.findIndex((c) => c.model.sharedModel.getSource().includes("ControlPanel(session)"));
    }""")
    page.evaluate(f"""() => {{
      window.jupyterapp.shell.currentWidget.content.activeCellIndex = {index};
      return window.jupyterapp.commands.execute("notebook:run-cell");
    }}""")
    wait_for(
        lambda: kernel_exec(page, "print(_old_panel.closed, _old_session.connected, panel.closed)").strip()
        == "True False False",
        30, "the old panel retired and its session closed",
        lambda: kernel_exec(page, "print(_old_panel.closed, _old_session.connected, panel.closed)"),
    )  # fmt: skip
    status = page.locator(".voicenb-panel .vnb-status").inner_text()
    assert "not connected" in status and "0 summaries" in status  # the new panel, on a new session


# --- 03: the threshold lab's Run button ------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_03_lab_run_button_shows_a_new_result(lab: Lab, playwright: Any, notebooks: Path) -> None:
    browser = launch_chromium(playwright)
    try:
        page = _page(browser)
        open_notebook(page, lab, "notebooks/03_threshold_lab.ipynb")
        run_all(page, 420)
        _assert_clean(page)
        show_cell(page, "lab = ThresholdLab(")
        lab_view = page.locator(".vnb-lab")
        picker = lab_view.locator("select")
        wait_for(lambda: picker.count() == 1, 60, "the lab's widgets on screen",
                 lambda: _cell_outputs(page, "lab = ThresholdLab("))  # fmt: skip
        output = lab_view.locator(".jp-OutputArea")
        assert output.locator("img").count() == 0  # nothing until Run is pressed

        picker.select_option("trip_planning")
        trigger, keep = lab_view.locator(".widget-slider").nth(0), lab_view.locator(".widget-slider").nth(1)
        before = trigger.locator(".widget-readout").inner_text()
        _drag(page, trigger.locator(".noUi-handle"), -120)
        wait_for(lambda: trigger.locator(".widget-readout").inner_text() != before, 10, "the trigger moved")
        _drag(page, keep.locator(".noUi-handle"), -60)
        chosen_trigger = int(trigger.locator(".widget-readout").inner_text().replace(",", ""))
        chosen_keep = int(keep.locator(".widget-readout").inner_text())

        run = lab_view.locator(".vnb-lab-run")
        assert run.inner_text().strip() == "Run"
        run.click()
        busy = lambda: run.inner_text().strip() == "Running…" and run.is_disabled()  # noqa: E731
        wait_for(busy, 10, "a busy Run button")
        title = f"trip_planning, trigger {chosen_trigger}, keep last {chosen_keep}"
        shown = lambda: title in output.inner_text() and output.locator("img").count() == 1  # noqa: E731
        wait_for(shown, 240, f"the result for {title!r}", lambda: lab_view.inner_text())
        assert output.locator("table tbody tr").count() == len(POLICIES)  # one row per policy
        assert run.is_enabled() and run.inner_text().strip() == "Run"
    finally:
        browser.close()


# --- 04: Run All books a table through the bot, folds it away and recalls it; the panel shows the calls ---


@pytest.mark.timeout(600)
def test_04_tool_calls_show_in_the_panel_and_recall_reads_a_folded_turn(
    lab: Lab, playwright: Any, notebooks: Path
) -> None:
    browser = launch_chromium(playwright)
    try:
        page = _page(browser)
        open_notebook(page, lab, "notebooks/04_tools_and_recall.ipynb")
        # The lab's kernels default to the 135M for speed; it answers a forced tool_choice in words, so
        # this notebook gets the model a learner's machine picks (the engine starts at the first ask)
        kernel_exec(page, "import os; os.environ.pop('VOICENB_LLM', None)")
        run_all(page, 480)
        _assert_clean(page)
        spec = _cell_outputs(page, "book_table.spec()")
        assert "'people'" in spec and "'integer'" in spec, spec  # the schema, from the type hints
        assert _says_offline_backend(_cell_outputs(page, "panel = ControlPanel(session)"))
        booked = _cell_outputs(page, 'tool="book_table"')
        assert "bookings: [{" in booked, booked  # the model's call reached the learner's function

        # The panel's transcript shows each call compactly: name, arguments, result (folded ones too).
        tools = page.locator(".voicenb-panel .vnb-transcript .vnb-tool")
        rows = lambda: [t or "" for t in tools.evaluate_all("els => els.map(e => e.textContent)")]  # noqa: E731
        wait_for(
            lambda: any("book_table(name=" in r for r in rows()), 30, "the booking call in the panel", rows
        )
        assert any("Tool result" in r and "BK-48" in r for r in rows()), rows()  # and what it returned
        assert any("recall(query=" in r for r in rows()), rows()
        # What recall returned comes from the full log: turns the fold took out of the server's window.
        folded = kernel_exec(page, """
call = [i for i in session.state.log.values() if i.kind == "function_call" and i.name == "recall"][-1]
said = session.state.tool_output(call.call_id).text
print(any(i.text and i.text[:30] in said for i in session.state.log.values() if not i.in_window))
""")  # fmt: skip
        assert folded.strip() == "True", folded
        plot = _cell_outputs(page, "plot_window(window_series")
        assert (
            page.locator(".jp-CodeCell").filter(has_text="plot_window(window_series").locator("img").count()
        )
        assert "Error" not in plot
    finally:
        browser.close()


def _drag(page: Any, handle: Any, dx: float) -> None:
    """Drag a slider's handle ``dx`` pixels with the mouse, as a learner does."""
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=6)
    page.mouse.up()
