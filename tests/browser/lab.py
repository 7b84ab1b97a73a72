"""A real JupyterLab on loopback and headless Debian Chromium, shared by the browser tests.

One JupyterLab server serves every browser test (starting it costs seconds; each test opens its own
notebook, and its kernels are shut down afterwards). Chromium is launched per test, because its fake
microphone (a WAV file) is a launch argument. Chromium is Debian's (``make chromium``), never a Playwright
download.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_offline_models

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
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

# Lab's own "run all" command; its promise settles when the last cell has run (true: no cell failed).
RUN_ALL = """() => {
  window.__vnbRunAll = "running";
  window.jupyterapp.commands.execute("notebook:run-all-cells").then(
    (ok) => { window.__vnbRunAll = ok === false ? "a cell failed" : "done"; },
    (err) => { window.__vnbRunAll = "error: " + err; });
}"""

# Run code in the notebook's kernel (as a test probe, not a cell) and collect what it prints.
KERNEL_EXEC = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({ code, silent: false, store_history: false });
  let out = "";
  future.onIOPub = (msg) => {
    const c = msg.content;
    if (c.name === "stdout" || c.name === "stderr") out += c.text;
    if (c.ename) out += c.ename + ": " + c.evalue;
  };
  await future.done;
  return out;
}"""


def requirements() -> None:
    """Skip (or, in CI, fail) when the browser lane cannot run here; says what to install."""
    pytest.importorskip("playwright", reason="needs the browser extra: pip install 'voicenb[browser]'")
    pytest.importorskip("jupyterlab", reason="needs the browser extra: pip install 'voicenb[browser]'")
    require_offline_models()
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):  # CI must exercise the notebooks in a real browser, never skip them
            pytest.fail(f"{CHROMIUM} missing in CI: make test installs Debian's chromium")
        pytest.skip(
            f"{CHROMIUM} missing and could not be installed (make test runs: apt-get install chromium)"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quiet_lab_settings(settings: Path) -> None:
    """No news or update toasts over the notebooks."""
    target = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@dataclass
class Lab:
    """A running JupyterLab: ``url(path)`` opens a file in it; ``root`` is its folder."""

    base: str
    token: str
    root: Path
    log: Path

    def url(self, path: str) -> str:
        # reset: a fresh workspace, so a notebook an earlier test left open is not restored beside it
        # (Run All would run whichever became current)
        return f"{self.base}/lab/tree/{path}?reset&token={self.token}"

    def _api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.base}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel (each notebook's offline engine lives in its kernel)."""
        for kernel in self._api("GET", "kernels"):
            self._api("DELETE", f"kernels/{kernel['id']}")


def _with_root(pythonpath: str | None) -> str:
    """Kernels import this checkout's voicenb, whatever checkout the venv was installed from."""
    return os.pathsep.join(filter(None, [str(ROOT), pythonpath]))


@contextmanager
def running_lab(tmp: Path) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 with token auth, serving ``tmp/lab``; stopped and reaped afterwards."""
    root, home = tmp / "lab", tmp / "home"
    root.mkdir()
    _quiet_lab_settings(home / "settings")
    token, port = uuid.uuid4().hex, free_port()
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}  # the offline engine
    env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"),
               OMP_NUM_THREADS="1", PYTHONPATH=_with_root(os.environ.get("PYTHONPATH")),
               # The browser tests prove the controls, not the replies: the small reply model keeps a
               # 2-core CI fast (nbclient runs the notebooks on the default model; test_brain the 1.5B).
               VOICENB_LLM="smollm2-135m")  # fmt: skip
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.open_browser=False", "--allow-root",
        "--ServerApp.terminals_enabled=False", "--LabApp.extension_manager=readonly",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run the cells through Lab's own command
    ]  # fmt: skip
    log_path = tmp / "lab.log"
    log = log_path.open("w")
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/api/status?token={token}", server, log_path)
        yield Lab(base, token, root, log_path)
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


def wait_for(
    predicate: Callable[[], Any], timeout: float, what: str, context: Callable[[], Any] = str
) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); fail saying ``what`` and context."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout}s. {context()}")


def open_notebook(page: Any, lab: Lab, path: str) -> None:
    page.goto(lab.url(path))
    page.wait_for_function(KERNEL_READY, timeout=120_000)


def run_all(page: Any, timeout_s: float) -> None:
    """Run All through Lab's own command and wait for the last cell; every cell must succeed."""
    page.evaluate(RUN_ALL)
    page.wait_for_function("() => window.__vnbRunAll !== 'running'", timeout=timeout_s * 1000)
    outcome = page.evaluate("() => window.__vnbRunAll")
    assert outcome == "done", f"Run All: {outcome}; errors shown: {stderr_outputs(page)}"


# Scroll the open notebook to the first cell whose source contains the text, and make it the active cell
# (Lab may leave off-screen cells unrendered); false when no cell contains it.
SHOW_CELL = """async (text) => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const index = nb.widgets.findIndex((cell) => cell.model.sharedModel.getSource().includes(text));
  if (index < 0) return false;
  nb.activeCellIndex = index;
  await nb.scrollToItem(index, "start");
  return true;
}"""


def show_cell(page: Any, containing: str) -> None:
    """Scroll to the cell whose source contains ``containing``, as a learner scrolls back up to it."""
    assert page.evaluate(SHOW_CELL, containing), f"no cell contains {containing!r}"


def stderr_outputs(page: Any) -> list[str]:
    """Text of every stderr box and traceback the notebook shows."""
    boxes = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    return boxes.all_inner_texts()


def kernel_exec(page: Any, code: str) -> str:
    """Run ``code`` in the open notebook's kernel (outside any cell); what it printed."""
    return page.evaluate(KERNEL_EXEC, code)


def launch_chromium(playwright: Any, *extra_args: str) -> Any:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args], headless=True
    )
