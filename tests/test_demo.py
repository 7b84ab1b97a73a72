"""The demo's recall figure: the bot's last reply, checked, never forced."""

from __future__ import annotations

from voicenb.state import ConversationState
from voicenb.tools.demo import recalled


def said(state: ConversationState, role: str, text: str) -> None:
    kind = "output_text" if role == "assistant" else "input_text"
    item = state.on_item_added({"id": f"i{len(state.log)}", "type": "message", "role": role,
                                "content": [{"type": kind, "text": text}]}, None)  # fmt: skip
    state.on_item_done(
        {"id": item.id, "type": "message", "role": role, "content": [{"type": kind, "text": text}]}
    )


def test_recall_is_the_last_reply_containing_the_answer():
    state = ConversationState()
    said(state, "user", "What was my hotel budget again?")
    assert recalled(state) is False  # no reply yet
    said(state, "assistant", "Your hotel budget is 120 euros a night.")
    assert recalled(state) is True
    said(state, "user", "And again?")
    said(state, "assistant", "I'm not sure, sorry.")
    assert recalled(state) is False  # only the last reply counts
