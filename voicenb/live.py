"""Continue a voicenb conversation on GPT-Live.

GPT-Live (`client.live`, models gpt-live-1 / gpt-live-1.1) is a separate API that manages its own
context; a new Live session can be seeded with prior text history in its startup ``input`` (at most 128
messages and, by default, 8,192 rendered tokens). `live_input` turns a voicenb conversation into that
history: the memory (the rolling summary) first, as a developer message, then the newest turns of the
window verbatim. When something must go, the oldest turns go first (the summary already holds what was
said before them), and the memory itself is cut line by line to at most half the budget, so the newest
turns always fit. Pure: no I/O and no transport (send the result with `client.live.connect(...)`).
"""

from __future__ import annotations

from typing import cast

from openai.types.live import InitialItemParam, SessionConfigParam

from .state import ConversationState, Item, summary_body
from .tokens import count_text_tokens

LIVE_MAX_MESSAGES = 128  # GPT-Live's limit on startup input messages
LIVE_MAX_INPUT_TOKENS = 8_192  # its default limit on their rendered tokens
MESSAGE_OVERHEAD_TOKENS = 8  # role and framing of one rendered message, counted high: never over
LIVE_DEFAULT_MODEL = "gpt-live-1.1"
MEMORY_HEADING = "What was said earlier in this conversation (from its memory):"


def message_tokens(text: str) -> int:
    """Tokens one history message costs against the Live budget (its text plus framing)."""
    return count_text_tokens(text) + MESSAGE_OVERHEAD_TOKENS


def live_input(
    state: ConversationState,
    *,
    max_messages: int = LIVE_MAX_MESSAGES,
    max_tokens: int = LIVE_MAX_INPUT_TOKENS,
) -> list[InitialItemParam]:
    """The conversation's memory and newest turns as GPT-Live startup ``input``, within both limits.

    The summary (if any) comes first, cut to at most half of ``max_tokens``; then the newest window
    turns that fit, oldest first. Turns with no words (a failed transcription) are skipped."""
    if max_messages < 1 or max_tokens <= MESSAGE_OVERHEAD_TOKENS:
        raise ValueError("a Live startup input needs room for at least one message")
    memory = _memory_message(state.current_summary(), max_tokens // 2)
    budget = max_tokens - (message_tokens(memory) if memory else 0)
    room = max_messages - (1 if memory else 0)
    kept: list[Item] = []
    for turn in reversed([t for t in state.window_turns() if t.text.strip()]):
        cost = message_tokens(turn.text)
        if len(kept) == room or cost > budget:
            break
        kept.append(turn)
        budget -= cost
    items = [_message("developer", memory)] if memory else []
    return items + [_message(t.role, t.text) for t in reversed(kept)]


def live_session_config(
    state: ConversationState,
    model: str = LIVE_DEFAULT_MODEL,
    instructions: str | None = None,
    **limits: int,
) -> SessionConfigParam:
    """A GPT-Live startup ``session`` that continues ``state``: the model, the instructions (None: the
    server's defaults) and `live_input` (``limits``: its ``max_messages`` / ``max_tokens``)."""
    config: SessionConfigParam = {"model": model, "input": live_input(state, **limits)}
    if instructions:
        config["instructions"] = instructions
    return config


def _memory_message(summary: Item | None, max_tokens: int) -> str | None:
    """The summary as one developer message of at most ``max_tokens``: whole lines, in order."""
    if summary is None:
        return None
    text = MEMORY_HEADING
    for line in summary_body(summary.text).splitlines():
        if line.strip() and message_tokens(f"{text}\n{line}") <= max_tokens:
            text = f"{text}\n{line}"
    return text if text != MEMORY_HEADING else None


def _message(role: str, text: str) -> InitialItemParam:
    part = "output_text" if role == "assistant" else "input_text"
    return cast(
        InitialItemParam, {"type": "message", "role": role, "content": [{"type": part, "text": text}]}
    )
