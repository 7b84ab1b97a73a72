"""The loopback websocket server speaking the GA Realtime protocol: `OfflineEngine` accepts clients
(each a `connection.Connection`, served by `dispatch.serve`) and holds what they share: models, speech
queues, settings."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections import deque
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from ..apikey import protect_logs, register_secret
from . import dispatch
from .components import Components, load_components
from .config import SOCKET_MAX_SIZE, EngineConfig
from .connection import Connection
from .fairness import FairScheduler

log = logging.getLogger("voicenb.engine")


class OfflineEngine:
    """An OpenAI-Realtime-compatible (GA) server on loopback with local speech models.

    ``async with OfflineEngine(EngineConfig()) as eng:`` then point the SDK at ``eng.url``:
    ``AsyncOpenAI(api_key=eng.config.token, websocket_base_url=eng.url)`` then
    ``.realtime.connect(model="gpt-realtime")`` (a token-less engine: ``_enforce_credentials=False``).
    """

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.parts = Components()
        # the latest message lists the reply LLM was given (bounded: a long-lived engine must not grow)
        self.llm_calls: deque[list[dict[str, str]]] = deque(maxlen=self.config.prompt_history)
        self.stt_jobs = self._scheduler("speech-to-text")
        self.tts_jobs = self._scheduler("text-to-speech")
        self.connections: list[Connection] = []
        self._server: Server | None = None
        self._chat: Any = None
        self._ws_log = logging.getLogger("voicenb.engine.ws")
        protect_logs(self._ws_log.name)
        register_secret(self.config.token)

    def _scheduler(self, name: str) -> FairScheduler:
        return FairScheduler(name, self.config.speech_workers, self.config.max_pending_jobs)

    @property
    def models_used(self) -> dict[str, str]:
        return dict(self.parts.used)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("engine not started")
        return next(iter(self._server.sockets)).getsockname()[1]

    @property
    def url(self) -> str:
        """Pass as ``websocket_base_url``; the SDK appends ``/realtime?model=...``."""
        return f"ws://{self.config.host}:{self.port}/v1"

    @property
    def truncation_at(self) -> int:
        """Billed tokens past which the oldest items are dropped: the configured figure, lowered for a
        local LLM so its context is never overrun (see ``models.OFFLINE_TRUNCATION_AT``)."""
        n_ctx = getattr(self.parts.llm, "n_ctx", None)
        if isinstance(n_ctx, int):
            return min(self.config.truncation_at, n_ctx - 1024)
        return self.config.truncation_at

    @property
    def chat_base_url(self) -> str:
        """OpenAI-compatible base URL of the local model (``POST {chat_base_url}/chat/completions``)."""
        if self._chat is None:
            raise RuntimeError("no chat API: the engine is not started or its LLM cannot complete text")
        return self._chat.base_url

    async def start(self) -> None:
        if self._server is not None:
            return
        self.parts = await asyncio.to_thread(load_components, self.config)
        for part, how in self.parts.used.items():
            log.info("offline engine %s: %s", part, how)
        if self.config.chat_api and hasattr(self.parts.llm, "complete"):
            from .chat_api import ChatAPI

            self._chat = ChatAPI(self.parts.llm, self.config.host, self.config.token)
            await self._chat.start()
            log.info("offline chat-completions API on %s", self._chat.base_url)
        self._server = await serve(
            self._serve_connection, self.config.host, self.config.port, max_size=SOCKET_MAX_SIZE,
            process_request=self._check_request, compression=None, logger=self._ws_log,
            max_queue=self.config.max_queued_frames,
        )  # fmt: skip
        log.info("offline realtime engine listening on %s", self.url)

    async def stop(self) -> None:
        if self._server is None:
            return
        for conn in list(self.connections):
            conn.close()
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        self.stt_jobs.shutdown()
        self.tts_jobs.shutdown()
        self.stt_jobs, self.tts_jobs = self._scheduler("speech-to-text"), self._scheduler("text-to-speech")
        if self._chat is not None:
            await self._chat.stop()
            self._chat = None

    async def __aenter__(self) -> OfflineEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if not urlsplit(request.path).path.rstrip("/").endswith("/realtime"):
            return connection.respond(HTTPStatus.NOT_FOUND, "Connect to /v1/realtime?model=...\n")
        token = self.config.token
        if token:
            given = request.headers.get("Authorization", "")
            # websockets decodes header bytes with surrogateescape: non-ASCII must compare, not crash
            given_bytes = given.encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given_bytes, f"Bearer {token}".encode()):
                return connection.respond(HTTPStatus.UNAUTHORIZED, "Missing or invalid bearer token.\n")
        if len(self.connections) >= self.config.max_connections:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Too many connections; retry later.\n")
        return None

    async def _serve_connection(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path).query) if ws.request else {}
        conn = Connection(self, ws, (query.get("model") or ["gpt-realtime"])[0])
        self.connections.append(conn)
        try:
            await dispatch.serve(conn)
        finally:
            self.connections.remove(conn)


def serve_forever(host: str = "127.0.0.1", port: int = 8765, token: str | None = None, **config: Any) -> None:
    """Blocking server for ``voicenb serve``: runs until interrupted (Ctrl-C)."""

    async def main() -> None:
        async with OfflineEngine(EngineConfig(host=host, port=port, token=token, **config)) as engine:
            print(
                f"voicenb offline realtime engine on {engine.url}  (models: {engine.models_used})", flush=True
            )
            await asyncio.Future()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
