"""Where the OpenAI API key comes from (the environment, or a hidden prompt), and keeping it out of logs.

Redaction has two layers: ``register_secret`` + ``redact_text`` mask any string equal to a known secret
wherever it appears (log records, their arguments and tracebacks once ``install_log_redaction`` ran, and
any text a caller passes, e.g. a recording); ``protect_logs`` also masks credentials websockets logs at
DEBUG during a handshake (Authorization and other non-protocol headers, query-string values).
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any

REDACTED = "sk-…redacted"
MIN_SECRET_CHARS = 6  # shorter strings are too likely to be ordinary words or numbers


def get_api_key(prompt: bool = False) -> str | None:
    """``OPENAI_API_KEY`` from the environment; else, if ``prompt``, ask with a hidden getpass prompt
    (nothing echoes into notebook outputs). None means: use the offline engine."""
    key = os.environ.get("OPENAI_API_KEY") or None
    if key is None and prompt:
        key = getpass.getpass("OpenAI API key (leave empty for the offline engine): ").strip() or None
    return key


# --- secrets known to this process -------------------------------------------------------------

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(secret: str | None) -> None:
    """Remember ``secret`` (an API key, a bearer token) so ``redact_text`` and the log filter mask it."""
    if secret and len(secret) >= MIN_SECRET_CHARS:
        with _secrets_lock:
            _secrets.add(secret)


def forget_secret(secret: str | None) -> None:
    with _secrets_lock:
        _secrets.discard(secret or "")


def redact_text(text: str) -> str:
    """``text`` with every registered secret masked, wherever it appears (longest secrets first)."""
    if not _secrets or not text:
        return text
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings) with registered secrets masked in every
    string, keys included: for recordings and event logs."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    return value


def _redact_record(record: logging.LogRecord) -> None:
    """Mask registered secrets in a record: its formatted message and any traceback text."""
    if not _secrets:
        return
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: leave it to the handler, which reports such errors itself
        return
    clean = redact_text(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)


class RedactSecrets(logging.Filter):
    """Masks registered secrets in records passing a logger or handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_factory_installed: Callable[..., logging.LogRecord] | None = None


def install_log_redaction() -> None:
    """Mask registered secrets in every log record this process creates, whatever the logger or handler
    (a record factory; costs nothing while no secret is registered). Idempotent."""
    global _factory_installed
    if _factory_installed is not None and logging.getLogRecordFactory() is _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = factory


# --- handshake credentials ---------------------------------------------------------------------

# Headers whose values carry no credentials; every other header's value is masked in handshake logs.
SAFE_HEADERS = frozenset(
    {
        "host", "upgrade", "connection", "sec-websocket-version", "sec-websocket-key",
        "sec-websocket-accept", "sec-websocket-extensions", "sec-websocket-protocol", "user-agent", "server",
        "date", "content-length", "content-type", "origin", "accept", "accept-encoding", "cache-control",
        "pragma", "openai-beta", "x-request-id",
    }
)  # fmt: skip
SAFE_QUERY_KEYS = frozenset({"model", "intent", "call_id"})
_HEADER_LINE = re.compile(r"^([<>] )([A-Za-z0-9!#$%&'*+.^_`|~-]+): (.*)$", re.S)
_QUERY_PAIR = re.compile(r"([?&;])([^=&;#\s]+)=([^&;#\s]*)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+\S+")


def redact_credentials(message: str) -> str:
    """A handshake log line with credentials masked: non-protocol header values, query-string values
    other than the model, bearer tokens anywhere; then registered secrets."""
    header = _HEADER_LINE.match(message)
    if header and header.group(2).lower() not in SAFE_HEADERS:
        message = f"{header.group(1)}{header.group(2)}: [redacted]"
    message = _QUERY_PAIR.sub(_redact_query_pair, message)
    return redact_text(_BEARER.sub(r"\1 [redacted]", message))


def _redact_query_pair(pair: re.Match[str]) -> str:
    separator, key, _ = pair.groups()
    return pair.group(0) if key.lower() in SAFE_QUERY_KEYS else f"{separator}{key}=[redacted]"


class RedactAuthorization(logging.Filter):
    """websockets logs handshake request lines and headers at DEBUG; never let a credential reach a log
    (a bearer token, an ``api-key`` header, a ``?token=`` or ``?api_key=`` query value, a known key)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_credentials(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def protect_logs(*loggers: str) -> None:
    """Install the redaction on these loggers (default: websockets' client and server), once each,
    and the process-wide masking of registered secrets."""
    install_log_redaction()
    for name in loggers or ("websockets.client", "websockets.server"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactAuthorization) for f in logger.filters):
            logger.addFilter(RedactAuthorization())
