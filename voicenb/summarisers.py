"""Summarisers: turn old turns (plus the previous summary) into one rolling summary text.

A summariser is any object with ``async summarise(turns, previous, language) -> str``; ``turns`` are
``(role, text)`` pairs in conversation order. Two ship here:

* `OpenAISummariser` -- a cheap text model (gpt-4o-mini by default) through the official SDK;
* `OfflineSummariser` -- extractive, no model: keeps the sentences that carry facts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from .tokens import count_text_tokens

Turn = tuple[str, str]

SUMMARY_HEADER = "Summary of the earlier conversation (latest values win):"


class Summariser(Protocol):
    async def summarise(
        self, turns: Sequence[Turn], previous: str | None, language: str | None, budget_tokens: int
    ) -> str: ...


def format_turns(turns: Sequence[Turn]) -> str:
    return "\n".join(f"{role.capitalize()}: {text}" for role, text in turns)


# --- OpenAI text model -------------------------------------------------------------------------

SYSTEM_PROMPT = """You maintain the running summary of a spoken conversation between a user and an \
assistant. The summary replaces the older turns in the assistant's memory, so it must keep what \
matters later:
- every name, number, identifier, date, time, place, amount, decision and stated preference;
- when something was corrected or changed, ONLY the latest value (do not mention superseded values);
- open questions and what the assistant promised to do.
Fold the previous summary into the new one. Write in {language}. Use short bullet points. Do not answer \
the user, do not give advice, do not invent anything, do not address anyone: output only the summary."""


class OpenAISummariser:
    """Summarises with a chat model through ``client.chat.completions`` (AsyncOpenAI)."""

    def __init__(self, client: Any = None, model: str = "gpt-4o-mini", max_tokens: int = 1000) -> None:
        if client is None:
            from openai import AsyncOpenAI

            client = AsyncOpenAI()
        self.client, self.model, self.max_tokens = client, model, max_tokens

    def messages(self, turns: Sequence[Turn], previous: str | None, language: str | None) -> list[dict]:
        lang = language or "the same language the conversation is in"
        user = f"Previous summary:\n{previous or '(none)'}\n\nNew turns:\n{format_turns(turns)}"
        return [
            {"role": "system", "content": SYSTEM_PROMPT.format(language=lang)},
            {"role": "user", "content": user},
        ]

    async def summarise(
        self, turns: Sequence[Turn], previous: str | None, language: str | None, budget_tokens: int = 500
    ) -> str:
        resp = await self.client.chat.completions.create(
            model=self.model,
            messages=self.messages(turns, previous, language),
            temperature=0,
            max_tokens=min(self.max_tokens, budget_tokens),
        )
        text = (resp.choices[0].message.content or "").strip()
        if not text:
            raise RuntimeError("summariser returned an empty summary")
        return text


# --- offline, extractive -----------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_FILLER = re.compile(
    r"\b(?:um+|uh+|erm|er|hmm+|yeah|hiya|hi|hello|okay|you know|i mean|like,)\b[,.]?\s*", re.IGNORECASE
)
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|tonight|morning|afternoon|evening"
)
_FACTY = re.compile(
    rf"\d|\b(?:{_MONTHS})\b|[€$£%@]|\b(?:name|called|prefer|want|need|allerg|vegetarian|vegan|book|"
    r"order|address|email|phone|number|budget|deadline|meeting|decid|agree|instead|actually|change|"
    r"correct|rather|switch|cancel|move|not|never|always)\w*",
    re.IGNORECASE,
)
_PROPER = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z'-]+")
_WORD = re.compile(r"[\w'-]+")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def _carries_fact(sentence: str) -> bool:
    return bool(_FACTY.search(sentence) or _PROPER.search(sentence))


class OfflineSummariser:
    """Extractive: keeps the sentences that carry names, numbers, dates, decisions and changes.

    No model, no network, ~1 ms. It cannot reword, so it keeps a corrected sentence and the
    correction both (the later one is last, so "latest values win" reads right). Assistant
    sentences are kept only when they add words the user did not say (a confirmation of a number
    is redundant; a booking reference the assistant gave is not) and never when they are questions.
    """

    async def summarise(
        self, turns: Sequence[Turn], previous: str | None, language: str | None, budget_tokens: int = 2000
    ) -> str:
        return self.summarise_sync(turns, previous, budget_tokens)

    def summarise_sync(self, turns: Sequence[Turn], previous: str | None, budget_tokens: int = 2000) -> str:
        lines = [ln for ln in (previous or "").splitlines() if ln.startswith("- ")]
        seen = {w.lower() for ln in lines for w in _WORD.findall(ln)}
        for role, text in turns:
            for sentence in _sentences(_FILLER.sub("", text)):
                words = {w.lower() for w in _WORD.findall(sentence)}
                new_words = words - seen
                if not _carries_fact(sentence) or not new_words:
                    continue
                if role == "assistant" and sentence.endswith("?"):
                    continue  # the assistant's questions carry no facts; the user's answers do
                if role == "assistant" and not any(_FACTY.search(w) or w[:1].isdigit() for w in new_words):
                    continue
                lines.append(f"- {role.capitalize()}: {sentence}")
                seen |= words
        return "\n".join([SUMMARY_HEADER, *fit_budget(lines, budget_tokens)])


def fit_budget(lines: list[str], budget_tokens: int) -> list[str]:
    """Drop the oldest lines until the summary fits: the window must stay bounded however long the
    conversation runs, and later lines carry the latest values."""
    sizes = [count_text_tokens(ln) + 1 for ln in lines]
    total = count_text_tokens(SUMMARY_HEADER) + sum(sizes)
    start = 0
    while total > budget_tokens and start < len(lines):
        total -= sizes[start]
        start += 1
    return lines[start:]
