"""Continuing a voicenb conversation on GPT-Live: its memory and newest turns as startup input."""

from __future__ import annotations

import pytest
from openai.types.live import SessionConfig as LiveSessionConfig
from pydantic import TypeAdapter

from voicenb.live import (
    LIVE_MAX_INPUT_TOKENS,
    LIVE_MAX_MESSAGES,
    MEMORY_HEADING,
    live_input,
    live_session_config,
    message_tokens,
)
from voicenb.state import ConversationState, Item, TranscriptStatus, summary_item_text

FACTS = [f"- Fact {n}: the locker code for room {n} is {1000 + n * 7}" for n in range(400)]


def two_hour_call(summary_lines: list[str] | None, *, in_window: int) -> ConversationState:
    """Two hours at an exchange every 20 s (720 turns); the last ``in_window`` still in the window."""
    s = ConversationState()
    for n in range(720):
        role = "user" if n % 2 == 0 else "assistant"
        words = f"Turn {n}: " + " ".join(["something about the plan for the week"] * (1 + n % 3))
        s.log[f"t{n}"] = Item(f"t{n}", role, n, words, has_audio=True, audio_s=6.0)
        if n >= 720 - in_window:
            s.window.append(f"t{n}")
        else:
            s.log[f"t{n}"].in_window = False
    if summary_lines is not None:
        text = summary_item_text("\n".join(summary_lines))
        s.log["sum"] = Item("sum", "system", 999, text, is_summary=True)
        s.window.insert(0, "sum")
    return s


def validate(config: dict) -> LiveSessionConfig:
    return TypeAdapter(LiveSessionConfig).validate_python(config)


def rendered_tokens(items: list) -> int:
    return sum(message_tokens(i["content"][0]["text"]) for i in items)


@pytest.mark.parametrize(
    ("summary", "in_window"),
    [(FACTS[:12], 6), (FACTS, 6), (FACTS[:12], 720), (None, 720), (FACTS, 720)],
    ids=["summarised", "huge memory", "nothing pruned", "no memory", "both huge"],
)
def test_a_two_hour_log_becomes_valid_live_input_within_the_limits(summary, in_window):
    state = two_hour_call(summary, in_window=in_window)
    config = live_session_config(state, instructions="Keep it short.")
    parsed = validate(dict(config))
    items = list(config["input"])
    assert parsed.model == "gpt-live-1.1" and parsed.instructions == "Keep it short."
    assert 0 < len(items) <= LIVE_MAX_MESSAGES and rendered_tokens(items) <= LIVE_MAX_INPUT_TOKENS
    texts = [i["content"][0]["text"] for i in items]
    assert texts[-1].startswith("Turn 719:")  # the newest turn always wins
    turns = [int(t.split(":")[0].removeprefix("Turn ")) for t in texts if t.startswith("Turn ")]
    assert turns == list(range(720 - len(turns), 720))  # a contiguous newest run, in order
    if summary is not None:
        assert items[0]["role"] == "developer" and texts[0].startswith(MEMORY_HEADING)
        assert FACTS[0] in texts[0]  # the memory is cut from its end, whole lines
        assert rendered_tokens(items[:1]) <= LIVE_MAX_INPUT_TOKENS // 2
    roles = {i["role"] for i in items[1:]} if summary else {i["role"] for i in items}
    assert roles == {"user", "assistant"}
    assert all(i["content"][0]["type"] == ("output_text" if i["role"] == "assistant" else "input_text")
               for i in items)  # fmt: skip


def test_smaller_limits_hold_and_turns_with_no_words_are_skipped():
    state = two_hour_call(FACTS[:3], in_window=10)
    state.log["t719"].text, state.log["t719"].status = "", TranscriptStatus.FAILED
    items = live_input(state, max_messages=4, max_tokens=600)
    texts = [i["content"][0]["text"] for i in items]
    assert len(items) == 4 and texts[0].startswith(MEMORY_HEADING)
    assert [t.split(":")[0] for t in texts[1:]] == ["Turn 716", "Turn 717", "Turn 718"]
    assert rendered_tokens(items) <= 600
    with pytest.raises(ValueError, match="at least one message"):
        live_input(state, max_messages=0)
