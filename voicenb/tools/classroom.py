"""The classroom recipe (README "Classroom"): one chat server (llama.cpp's, ``llama-cpp-python[server]``),
one speech server (``voicenb serve-models``), and one engine for the room whose three model parts are
those servers' URLs. Learners connect with ``VoiceSession.connect_to(url, api_key=token)``.

``recipe`` is the README's text; ``Room`` starts exactly those commands (on other ports when asked) and
``room_sessions`` is ``voicenb bench --sessions N``: simulated learners against the room.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .latency import percentiles, spoken_turns

TARGET_P95_S = 2.0  # the bar for "holds": p95 voice-to-voice of every learner in the room
START_TIMEOUT_S = 300.0  # loading the 1.5B and whisper on two busy cores


@dataclass(frozen=True)
class RoomPorts:
    chat: int = 8001
    speech: int = 8002
    engine: int = 8765


def recipe(
    ports: RoomPorts = RoomPorts(), token: str = "ROOM_TOKEN", model: str = "qwen2.5-1.5b"
) -> list[str]:
    """The three shell commands, one per server, in the order they must start."""
    chat, speech = f"http://127.0.0.1:{ports.chat}/v1", f"http://127.0.0.1:{ports.speech}/v1"
    return [
        f'python -m llama_cpp.server --model "$(voicenb model-path {model})" --host 127.0.0.1 '
        f"--port {ports.chat} --n_ctx 8192 --n_threads 2 --interrupt_requests False",
        f"voicenb serve-models --parts stt,tts --port {ports.speech}",
        f"voicenb serve --port {ports.engine} --token {shlex.quote(token)} "
        f"--llm {chat} --stt {speech} --tts {speech}",
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Room:
    """The recipe's three servers as child processes of this one (``async with Room() as room``), each
    logging to a file; a server that exits while starting raises with the tail of its log."""

    def __init__(self, ports: RoomPorts | None = None, token: str = "room-token") -> None:
        self.ports = ports or RoomPorts(free_port(), free_port(), free_port())
        self.token = token
        self.procs: list[subprocess.Popen[bytes]] = []
        self._logs = Path(tempfile.mkdtemp(prefix="voicenb-room-"))

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.ports.engine}/v1"

    async def __aenter__(self) -> Room:
        # `python` and `voicenb` of this environment, as in an activated venv
        bin_dir = str(Path(sys.executable).parent)
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        ports = (self.ports.chat, self.ports.speech, self.ports.engine)
        try:
            for i, (command, port) in enumerate(zip(recipe(self.ports, self.token), ports, strict=True)):
                log = (self._logs / f"server{i}.log").open("wb")
                proc = subprocess.Popen(
                    f"exec {command}", shell=True, env=env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
                self.procs.append(proc)
                await self._listening(proc, port, i)
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    async def _listening(self, proc: subprocess.Popen[bytes], port: int, i: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while loop.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"room server {i} exited ({proc.returncode}): {self.log_tail(i)}")
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.5)
                continue
            # A whole HTTP request (answered 404 by each): a bare connect makes the engine log a traceback
            writer.write(b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            await reader.read(64)
            writer.close()
            return
        raise TimeoutError(f"room server {i} did not listen on {port} in {START_TIMEOUT_S:.0f} s")

    def log_tail(self, i: int, lines: int = 5) -> str:
        text = (self._logs / f"server{i}.log").read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])

    def engine_memory_mb(self) -> dict[str, float]:
        """The engine process's resident memory now and at its peak (Linux ``/proc``)."""
        status = Path(f"/proc/{self.procs[2].pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return {
            k: int(fields[key].split()[0]) / 1024 for k, key in (("rss_mb", "VmRSS"), ("peak_mb", "VmHWM"))
        }

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()


async def learners(url: str, token: str, n: int, turns: int) -> list[float]:
    """v2v samples of ``n`` learners speaking ``turns`` questions each, starting 0.7 s apart."""

    async def one(i: int) -> list[float]:
        await asyncio.sleep(i * 0.7)  # staggered, as real learners are
        return (await spoken_turns(url, token, turns))["samples_s"]

    return [s for r in await asyncio.gather(*(one(i) for i in range(n))) for s in r]


async def room_sessions(max_sessions: int, turns: int = 3, target_s: float = TARGET_P95_S) -> dict[str, Any]:
    """1, 2, … ``max_sessions`` learners at once against a fresh room: each count's p50/p95, the largest
    count whose p95 is within ``target_s`` (0: not even one), and the engine's own memory."""
    rows: list[dict[str, Any]] = []
    async with Room() as room:
        for n in range(1, max_sessions + 1):
            samples = await learners(room.url, room.token, n, turns)
            rows.append({"sessions": n, **percentiles(samples), "samples_s": samples})
        memory = room.engine_memory_mb()
    holds = max((r["sessions"] for r in rows if r["p95_s"] <= target_s), default=0)
    return {"target_p95_s": target_s, "holds": holds, "rows": rows, "engine": memory}
