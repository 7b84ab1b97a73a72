"""Where the OpenAI API key comes from: the environment, or a hidden prompt. Never stored elsewhere."""

from __future__ import annotations

import getpass
import logging
import os


def get_api_key(prompt: bool = False) -> str | None:
    """``OPENAI_API_KEY`` from the environment; else, if ``prompt``, ask with a hidden getpass prompt
    (nothing echoes into notebook outputs). None means: use the offline engine."""
    key = os.environ.get("OPENAI_API_KEY") or None
    if key is None and prompt:
        key = getpass.getpass("OpenAI API key (leave empty for the offline engine): ").strip() or None
    return key


def redact(text: str, key: str | None) -> str:
    """``text`` with ``key`` masked, for anything that might be shown or logged."""
    return text.replace(key, "sk-…redacted") if key else text


class RedactAuthorization(logging.Filter):
    """websockets logs handshake headers at DEBUG; never let a bearer token reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage().lower()
        if "authorization" in text or "bearer" in text:
            record.msg, record.args = "[handshake header redacted]", ()
        return True


def protect_logs(*loggers: str) -> None:
    """Install the redaction on these loggers (default: websockets' client and server), once each."""
    for name in loggers or ("websockets.client", "websockets.server"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactAuthorization) for f in logger.filters):
            logger.addFilter(RedactAuthorization())
