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
from .summary_guard import GuardResult, guard

Turn = tuple[str, str]

SUMMARY_HEADER = extractive.HEADER


class Summariser(Protocol):
    async def summarise(
        self, turns: Sequence[Turn], previous: str | None, language: str | None, budget_tokens: int
    ) -> str: ...


def format_turns(turns: Sequence[Turn]) -> str:
    return "\n".join(f"{role.capitalize()}: {text}" for role, text in turns)


# --- OpenAI text model -------------------------------------------------------------------------

SYSTEM_PROMPT = """You keep the memory of a spoken conversation between a user and an assistant. \
Your summary replaces the older turns: whatever you leave out is forgotten.
Write one short bullet per fact that may matter later. Each bullet says what the fact is about and its \
value, in the words the conversation used, for example "- Plumber Anselmo comes on Wednesday at five" \
or "- Budget: twelve thousand euros". Keep:
- names of people, pets, places, companies; numbers, amounts, prices, dates, days, times, references;
- descriptions and preferences exactly as said: colours, materials, patterns, sizes, styles, positions \
(for example "under the window"), likes, dislikes, allergies, constraints;
- decisions, requests, open questions, and what was agreed: a time, price or name the assistant \
confirmed or booked.
When something was corrected or changed, write ONLY the latest value.
Keep every bullet of the previous summary unless it was changed.
Leave out greetings, thanks, small talk and the assistant's own chatter. Do not answer, advise or \
invent. Write in {language}. Output only the bullets."""


class OpenAISummariser:
    """Summarises with a chat model through ``client.chat.completions`` (AsyncOpenAI)."""

    def __init__(
        self,
        client: Any = None,
        model: str = "gpt-4o-mini",
        max_tokens: int = 1000,
        fallback: Summariser | None = None,
    ) -> None:
        if client is None:
            from openai import AsyncOpenAI

            client = AsyncOpenAI()
        self.client, self.model, self.max_tokens = client, model, max_tokens
        self.fallback = fallback  # used when the model does not answer (e.g. the extractive one)
        self.last_guard: GuardResult | None = None  # what the guard added/dropped in the last summary

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
        try:
            resp = await self.client.chat.completions.create(
                model=self.model,
                messages=self.messages(turns, previous, language),
                temperature=0,
                max_tokens=min(self.max_tokens, budget_tokens),
            )
            text = (resp.choices[0].message.content or "").strip()
            if not text:
                raise RuntimeError("summariser returned an empty summary")
        except Exception:
            if self.fallback is None:
                raise
            text = await self.fallback.summarise(turns, previous, language, budget_tokens)
            self.last_guard = getattr(self.fallback, "last_guard", None)
            return text
        self.last_guard = guard(text, turns, previous, budget_tokens)
        return self.last_guard.text


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

    last_guard: GuardResult | None = None

    def summarise_sync(self, turns: Sequence[Turn], previous: str | None, budget_tokens: int = 2000) -> str:
        text = extractive.summarise(turns, previous, budget_tokens)
        # the extractive fallback keeps its hard budget: facts that do not fit are reported, not kept
        self.last_guard = guard(text, turns, previous, budget_tokens, max_floor_tokens=budget_tokens)
        return self.last_guard.text
