"""Recall, the first built-in tool: BM25 (``bm25s``) over everything ever said in a session.

The summary keeps what it can; the full log keeps every turn. ``recall(query)`` lets the model look
back into the log when a question needs a detail the summary dropped: it returns a few verbatim
snippets of turns no longer in the server's window (folded, handed off or dropped), each with who said
it and when. What is still in the window the model reads anyway, so it is never returned. Pure: the
log comes from the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..state import ConversationState, Item
from .tools import Tool, tool

RECALL_HITS = 3
# Nothing folded matches: the answer, if any, is in what the model already reads (the summary, the
# recent turns), so it must not conclude that nothing was said.
ANSWER_FROM_THEM = "Answer the user's question from these lines now."
NOTHING_FOUND = "No other earlier turn matches: answer from the conversation and summary you have."
SNIPPET_CHARS = 300  # a snippet is the turn, cut: the model prefills every returned word
# When to use it, said where the model reads it exactly when the tool is offered: its description.
RECALL_DESCRIPTION = (
    "Search everything said earlier in this conversation, including the parts that were summarised "
    "away, for exact details. Older parts of the conversation are summarised: when the user asks about "
    "a detail said earlier (a name, number, date or choice) that the summary does not state, call "
    "recall with a few words of what to look for, then answer from what it returns."
)


@dataclass(frozen=True)
class Snippet:
    role: str
    text: str
    at_s: float | None  # seconds into the session it was said (None: not known)
    turns_ago: int
    score: float

    def line(self) -> str:
        when = f"{_clock(self.at_s)} into the call, " if self.at_s is not None else ""
        who = {"user": "the user", "assistant": "you", "tool": "a tool"}.get(self.role, self.role)
        return f"[{when}{self.turns_ago} turns ago, {who}] {self.text}"


def searchable(state: ConversationState) -> list[Item]:
    """Turns and tool outputs the server no longer holds (summaries and re-seeded copies excluded)."""
    return [
        i
        for i in state.log.values()
        if not i.in_window and not i.copy_of and i.text and (i.is_turn or i.kind == "function_call_output")
    ]


def search(state: ConversationState, query: str, k: int = RECALL_HITS) -> list[Snippet]:
    """The ``k`` best BM25 matches of ``query`` among the turns no longer in the window, oldest first."""
    import bm25s

    items = searchable(state)
    if not items or not query.strip():
        return []
    corpus = bm25s.tokenize([i.text for i in items], stopwords="en", show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    asked = bm25s.tokenize([query], stopwords="en", show_progress=False)
    found, scores = retriever.retrieve(asked, k=min(k, len(items)), show_progress=False)
    turns = [i.seq for i in state.turns()]
    hits = []
    for n, score in zip(found[0], scores[0], strict=True):
        if score <= 0:
            continue  # no word of the query in it
        item = items[int(n)]
        later = sum(1 for seq in turns if seq > item.seq)
        hits.append(Snippet(item.role, _cut(item.text), item.at_s, later, float(score)))
    return sorted(hits, key=lambda s: -s.turns_ago)


def recall_tool(state: ConversationState | Callable[[], ConversationState]) -> Tool:
    """``recall(query)`` over ``state`` (or the state a callable returns) as a session tool."""

    def recall(query: str) -> str:
        """(described by RECALL_DESCRIPTION)

        Args:
            query: a few words of what to look for
        """
        current = state() if callable(state) else state
        hits = search(current, query)
        if not hits:
            return NOTHING_FOUND
        return "\n".join(s.line() for s in hits) + "\n" + ANSWER_FROM_THEM

    return tool(recall, description=RECALL_DESCRIPTION, timeout_s=5.0)


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
