"""Summarisers: turn old turns (plus the previous summary) into one rolling summary text.

A summariser is any object with ``async summarise(turns, previous, language) -> str``; ``turns`` are
``(role, text)`` pairs in conversation order. Two ship here:

* `OpenAISummariser` -- a cheap text model (gpt-4o-mini by default) through the official SDK;
* `OfflineSummariser` -- extractive, no model: keeps the sentences that carry facts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from . import extractive

Turn = tuple[str, str]

SUMMARY_HEADER = extractive.HEADER


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


class OfflineSummariser:
    """Extractive (`voicenb.extractive`): keeps the sentences that carry names, numbers, codes, dates,
    times, places, decisions, preferences and corrections, in conversation order.

    No model, no network, a few ms. It cannot reword; under its budget it cuts sentences to their
    factual clauses and drops what is worth least per token first: repeated facts and values a later
    correction superseded, so the current value is what stays. Assistant sentences are kept only when
    they add a fact (a booking reference the assistant gave), never when they are questions.
    """

    async def summarise(
        self, turns: Sequence[Turn], previous: str | None, language: str | None, budget_tokens: int = 2000
    ) -> str:
        # In a worker thread: a long fold must not hold up the dialogue's events on the loop.
        return await asyncio.to_thread(self.summarise_sync, turns, previous, budget_tokens)

    def summarise_sync(self, turns: Sequence[Turn], previous: str | None, budget_tokens: int = 2000) -> str:
        return extractive.summarise(turns, previous, budget_tokens)
