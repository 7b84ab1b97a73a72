"""Where a session's server is: OpenAI itself, any URL speaking the protocol, or the offline engine.

A backend owns the one decision the protocol core must not make: which host gets which credential.
The environment's key goes only to OpenAI's own host, or to a URL the caller explicitly trusts, and
never over plain ``ws://`` to a host off this machine.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..apikey import get_api_key, install_log_redaction, protect_logs, register_secret
from ..model_table import DEFAULT_TEXT_MODEL

if TYPE_CHECKING:  # imported where a backend connects (as AsyncOpenAI is)
    from openai.resources.realtime.realtime import AsyncRealtimeConnection

log = logging.getLogger("voicenb.session")
OPENAI_HOSTS = frozenset({"api.openai.com"})
OPENAI_URL = "wss://api.openai.com/v1"  # the SDK's own default
MAX_SERVER_FRAME_BYTES = 16 * 1024 * 1024  # one server event; OpenAI's own limit for a client event is 15 MiB


class UntrustedKeyError(ValueError):
    """A key would travel to a host the user has not said to trust."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_key_destination(url: str, *, explicit_key: bool, trust_key: bool) -> None:
    """Raise if a key would go to ``url`` unsafely (see the module docstring)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "ws" and not is_loopback(host):
        raise UntrustedKeyError(f"refusing to send an API key over plain ws:// to {host}: use wss://")
    if not explicit_key and not trust_key and host not in OPENAI_HOSTS:
        raise UntrustedKeyError(
            f"OPENAI_API_KEY is only sent to OpenAI; pass api_key= or trust_key=True to send it to {host}"
        )


@dataclass
class Backend:
    """How to reach a realtime server. Build one with `openai()`, `remote()` or `offline()`."""

    kind: str  # "openai" | "remote" | "offline"
    api_key: str = field(repr=False, default="")
    websocket_base_url: str | None = None
    engine_config: Any = None
    _engine: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        register_secret(self.api_key)  # masked in every log record and recording from now on
        install_log_redaction()

    @classmethod
    def openai(cls, api_key: str | None = None) -> Backend:
        key = api_key or get_api_key()
        if not key:
            raise ValueError("no OpenAI API key: set OPENAI_API_KEY or pass api_key=")
        return cls("openai", key)

    @classmethod
    def remote(
        cls, websocket_base_url: str, api_key: str | None = None, *, trust_key: bool = False
    ) -> Backend:
        """Any server speaking the GA protocol (``ws://host:port/v1``). Without ``api_key`` it gets the
        environment's key only when ``trust_key``; otherwise none."""
        key = api_key if api_key is not None else (get_api_key() if trust_key else None)
        if key:
            check_key_destination(websocket_base_url, explicit_key=api_key is not None, trust_key=trust_key)
        return cls("remote", key or "", websocket_base_url)

    @classmethod
    def offline(cls, engine_config: Any = None) -> Backend:
        """The offline engine, started in-process on loopback when the session connects."""
        return cls("offline", "", None, engine_config)

    @classmethod
    def default(cls, api_key: str | None = None, websocket_base_url: str | None = None) -> Backend:
        """What a notebook gets with no choice made: a URL if given, OpenAI with a key (``api_key`` or
        ``OPENAI_API_KEY``; ``api_key=""`` means none), else the offline engine."""
        if websocket_base_url:
            return cls.remote(websocket_base_url, api_key)
        key = get_api_key() if api_key is None else api_key
        return cls.openai(key) if key else cls.offline()

    @property
    def is_offline(self) -> bool:
        """The offline engine on this machine."""
        return self.kind == "offline"

    @property
    def truncation_at(self) -> int | None:
        """Where the offline engine drops old turns itself (its `EngineConfig.truncation_at`, a 32k model's
        point whatever the session's model is called); None elsewhere: the model's own point applies."""
        if not self.is_offline:
            return None
        from ..engine.config import EngineConfig

        return (self.engine_config or EngineConfig()).truncation_at

    @property
    def on_this_machine(self) -> bool:
        """The offline engine, or a server on loopback (`voicenb serve`, the eval's engine)."""
        return self.is_offline or is_loopback(urlsplit(self.url).hostname or "")

    @property
    def url(self) -> str:
        """The websocket base URL it connects to; "" for the offline engine until it runs (its port is
        picked when it starts)."""
        if self.kind == "offline":
            return self.websocket_base_url or ""
        return self.websocket_base_url or OPENAI_URL

    def describe(self) -> str:
        """One plain sentence saying where the session talks to (shown when it starts)."""
        if self.kind == "openai":
            return "Talking to OpenAI with your API key."
        if self.kind == "offline":
            return "No OPENAI_API_KEY set: using the offline engine on this machine (local models, no key)."
        return f"Talking to the realtime server at {self.websocket_base_url}."

    async def start(self) -> None:
        """Start what must run before connecting (the offline engine); idempotent."""
        if self.kind != "offline" or self._engine is not None:
            return
        from dataclasses import replace

        from ..engine import EngineConfig, OfflineEngine

        config = self.engine_config or EngineConfig()
        if config.token is None:  # a real per-process credential: other local users cannot connect
            config = replace(config, token=secrets.token_urlsafe(24))
        self._engine = OfflineEngine(config)
        await self._engine.start()
        self.api_key, self.websocket_base_url = config.token or "", self._engine.url
        register_secret(self.api_key)

    async def stop(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.stop()
            self.websocket_base_url = None

    async def connect(self, model: str) -> AsyncRealtimeConnection:
        """An open SDK realtime connection to this backend."""
        from openai import AsyncOpenAI
        from openai.types.websocket_connection_options import WebSocketConnectionOptions

        await self.start()
        protect_logs()  # the handshake carries the key; websockets logs headers at DEBUG
        # A server that needs no credential gets none (no Authorization header), not a made-up key.
        if self.api_key:
            client = AsyncOpenAI(api_key=self.api_key, websocket_base_url=self.websocket_base_url)
        else:
            client = AsyncOpenAI(websocket_base_url=self.websocket_base_url, _enforce_credentials=False)
        options = WebSocketConnectionOptions(max_size=MAX_SERVER_FRAME_BYTES)
        try:
            return await client.realtime.connect(model=model, websocket_connection_options=options).enter()
        except OSError as exc:  # no route, no DNS, refused: one line that says what to do
            raise ConnectionError(self.unreachable(exc)) from None

    def unreachable(self, exc: OSError) -> str:
        """The one line a user sees when the server cannot be reached."""
        reason = exc.strerror or str(exc) or type(exc).__name__
        if self.kind == "openai":
            return (
                f"cannot reach OpenAI at {self.url} ({reason}): check the network connection, or use the "
                "offline engine, which needs none: VoiceSession.offline()"
            )
        return f"cannot reach the realtime server at {self.url} ({reason}): is it running?"

    def client_for_text(self) -> tuple[Any, str]:
        """(AsyncOpenAI client, model) for text on this backend, for the summariser: OpenAI's small text
        model (`voicenb.model_table.DEFAULT_TEXT_MODEL`),
        or the running offline engine's own model; (None, "") where there is none."""
        from openai import AsyncOpenAI

        if self.kind == "openai":
            return AsyncOpenAI(api_key=self.api_key), DEFAULT_TEXT_MODEL
        try:
            chat_url = self._engine.chat_base_url if self._engine is not None else None
        except RuntimeError:  # the engine's model cannot complete text (a scripted or remote one)
            chat_url = None
        if chat_url:
            return AsyncOpenAI(base_url=chat_url, api_key=self.api_key, max_retries=0), "local"
        return None, ""
