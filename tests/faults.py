"""A fault-injecting websocket proxy on 127.0.0.1, between the SDK client and a realtime server.

It forwards frames both ways and lets a test drop the socket, inject raw frames into the client,
and delay, drop or rewrite server events by type, so faults hit the real session and the real engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

# A rule sees each server event (parsed) and returns: None (forward), "drop", a float (delay in
# seconds) or a dict (send this event instead).
Rule = Callable[[dict[str, Any]], Any]


@dataclass
class FaultProxy:
    upstream: str  # e.g. "ws://127.0.0.1:1234" (the engine's host:port; the client's path is kept)
    rules: list[Rule] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # types of server events that passed through

    async def __aenter__(self) -> FaultProxy:
        self._server = await serve(self._handle, "127.0.0.1", 0, max_size=None)
        self.port = self._server.sockets[0].getsockname()[1]
        self._client: ServerConnection | None = None
        self._up: Any = None
        self._pending: set[asyncio.Task] = set()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1"

    async def _handle(self, client: ServerConnection) -> None:
        headers = {k: v for k, v in client.request.headers.raw_items() if k.lower() == "authorization"}
        async with connect(
            self.upstream + client.request.path, additional_headers=headers, max_size=None
        ) as up:
            self._client, self._up = client, up
            tasks = [
                asyncio.create_task(self._pump(client, up)),
                asyncio.create_task(self._to_client(up, client)),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                t.cancel()
        with contextlib.suppress(Exception):
            await client.close()

    async def _pump(self, src: Any, dst: Any) -> None:
        async for message in src:
            await dst.send(message)

    async def _to_client(self, up: Any, client: ServerConnection) -> None:
        async for message in up:
            event = json.loads(message)
            action = next((a for a in (rule(event) for rule in self.rules) if a is not None), None)
            if action == "drop":
                continue
            if isinstance(action, dict):
                message = json.dumps(action)
            if isinstance(action, int | float) and not isinstance(action, bool):
                task = asyncio.create_task(self._later(client, message, float(action), event["type"]))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
                continue
            self.seen.append(event["type"])
            await client.send(message)

    async def _later(self, client: ServerConnection, message: str, delay: float, etype: str) -> None:
        await asyncio.sleep(delay)
        self.seen.append(etype)
        with contextlib.suppress(Exception):
            await client.send(message)

    def on(self, event_type: str, action: Any, times: int = 1) -> None:
        """Apply ``action`` to the next ``times`` server events of ``event_type``."""
        left = [times]

        def rule(event: dict[str, Any]) -> Any:
            if event.get("type") != event_type or left[0] == 0:
                return None
            left[0] -= 1
            return action(event) if callable(action) else action

        self.rules.append(rule)

    async def inject(self, text: str) -> None:
        """Send a raw frame to the client as if the server had."""
        await self._client.send(text)

    async def drop(self) -> None:
        """Cut the connection abruptly, both ways."""
        await self._client.close(code=1011, reason="fault: dropped")
        await self._up.close()
