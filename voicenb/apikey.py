"""Where the OpenAI API key comes from: the environment, or a hidden prompt. Never stored elsewhere."""

from __future__ import annotations

import getpass
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
