"""Summarisers: turn old turns (plus the previous summary) into one rolling summary text.

A summariser is any object with ``async summarise(turns, previous, language) -> str``; ``turns`` are
``(role, text)`` pairs in conversation order. Two ship here:

* `ChatSummariser` -- a chat model keeps a fact memory (`voicenb.memory`): a cheap OpenAI model
  (`voicenb.model_table.DEFAULT_TEXT_MODEL`) through the SDK, or the offline engine's own model behind
  its chat endpoint; the model proposes operations in JSON, code applies them (it was called
  ``OpenAISummariser``, although it summarises offline too; the old name still works);
* `ExtractiveSummariser` -- no model: keeps the sentences that carry facts (it was called
  ``OfflineSummariser``, although the offline session summarises with `ChatSummariser` on the
  engine's own model; the old name still works).

Each sets ``last_fold`` (`voicenb.memory.FoldResult`): what the fold applied, evicted and could not place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Protocol

from openai import APITimeoutError

from . import extractive
from .facts import Span, language_of
from .memory import RESPONSE_FORMAT, FactMemory, FoldResult, MemoryUpdate, parse_update
from .model_table import DEFAULT_TEXT_MODEL, reasons, warn_if_deprecated
from .tokens import count_text_tokens
from .unplaced import notes_for, sentence_of

Turn = tuple[str, str]
log = logging.getLogger("voicenb")

SUMMARY_HEADER = extractive.HEADER


class Summariser(Protocol):
    async def summarise(
        self, turns: Sequence[Turn], previous: str | None, language: str | None, budget_tokens: int
    ) -> str: ...


def format_turns(turns: Sequence[Turn]) -> str:
    return "\n".join(f"{role.capitalize()}: {text}" for role, text in turns)


# --- a text model keeps the fact memory ---------------------------------------------------------

SYSTEM_PROMPT = """You keep the memory of a spoken conversation between a user and an assistant as a \
list of facts. The memory replaces the older turns: whatever it leaves out is forgotten.
A fact is a subject (what it is about, in two or three words: "budget", "ceiling height", "builder", \
"start date", "allergy") and a short value in the words the conversation used, with its unit \
("£25,000", "2.35 metres", "Nadia Brookes", "28 April").
Go through the new turns one by one and return an operation for every fact they state:
- "add" a fact with a new subject;
- "update" a current fact the turns changed or corrected: its subject exactly as listed, and ONLY the \
latest value, which replaces the old one;
- "delete" a current fact that is no longer true and has no new value.
Current facts the turns do not change stay as they are: do not repeat them.
Facts are: names of people, pets, places and companies; numbers, sizes, amounts, prices, dates, days, \
times, references; descriptions and preferences as said (colours, materials, positions), likes, \
dislikes, allergies; decisions, requests, and what the assistant confirmed or booked. Leave out \
greetings, thanks and small talk. Do not answer, advise or invent.
"gist": what the conversation is about, in at most ten words.
Answer with JSON only, in this form (a dentist's call, for example):
{{"ops": [{{"op": "add", "subject": "patient", "value": "Ada Lee"}}, \
{{"op": "update", "subject": "appointment", "value": "Tuesday at 3 pm"}}], "gist": "Booking a check-up."}}
Write the values in {language}."""

RECHECK_PROMPT = """These values were said by the user but are in no fact. For each one that may matter \
later, add the fact it belongs to, or update the fact it changes; leave out small talk:
{spans}"""
MAX_RECHECK_SPANS = 12  # one more question per fold, about at most this many values
# The second question only when the first answer came this fast: on two busy cores a fold of two
# questions took 150-180 s (the offline session's limit is 180 s), and a late fold is a failed one.
RECHECK_WITHIN_S = 45.0
# A fold's questions end by this long after it starts, answered or not (what is unanswered stays as
# notes): a fold that runs into the offline session's 180 s limit keeps nothing of its turns.
ANSWER_WITHIN_S = 120.0
MIN_COMPLETION_TOKENS = 600  # operations in JSON take more tokens than the summary they make


REASONING_HEADROOM_TOKENS = 2000  # a reasoning model's hidden tokens, on top of the summary's own budget


class ChatSummariser:
    """Keeps a `FactMemory` with a chat model through ``client.chat.completions`` (AsyncOpenAI).

    Each fold asks for operations under a JSON schema (OpenAI's structured outputs; the offline
    engine constrains its local model to the same schema), applies them, asks once more about the
    values the user stated that no entry holds, and renders the entries within the budget. The memory
    is kept between folds; a summary it did not write itself (a fresh summariser, a fallback's text)
    is read back into entries first.
    """

    def __init__(
        self,
        client: Any = None,
        model: str = DEFAULT_TEXT_MODEL,
        max_tokens: int = 1000,
        fallback: Summariser | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        if client is None:
            from openai import AsyncOpenAI

            client = AsyncOpenAI()
        self.client, self.model, self.max_tokens = client, model, max_tokens
        warn_if_deprecated(model)
        self.fallback = fallback  # used when the model does not answer (e.g. the extractive one)
        self.today = today  # the turns' own day where the conversation gives none
        self.recheck_within_s = RECHECK_WITHIN_S
        self.answer_within_s = ANSWER_WITHIN_S
        self.memory = FactMemory()
        self.last_fold: FoldResult | None = None
        self._rendered: str | None = None  # the text the memory last rendered

    def _sampling(self, limit: int) -> dict[str, Any]:
        """Length and sampling arguments this model takes: a reasoning model gets room for its hidden
        reasoning (it counts against the limit) and low effort; any other model greedy decoding and the
        classic ``max_tokens``, which every OpenAI-compatible server (Ollama, llama-server) reads."""
        if reasons(self.model):
            return {"max_completion_tokens": limit + REASONING_HEADROOM_TOKENS, "reasoning_effort": "low"}
        return {"max_tokens": limit, "temperature": 0}

    def messages(self, turns: Sequence[Turn], memory: FactMemory, language: str | None) -> list[dict]:
        lang = language or "the same language the conversation is in"
        facts = "\n".join(e.line() for e in memory.entries if not e.spare) or "(none)"  # its own entries
        user = f"Current facts:\n{facts}\n\nNew turns:\n{format_turns(turns)}"
        return [
            {"role": "system", "content": SYSTEM_PROMPT.format(language=lang)},
            {"role": "user", "content": user},
        ]

    async def _ask(
        self, messages: list[dict], budget_tokens: int, within_s: float
    ) -> tuple[MemoryUpdate, str]:
        """The model's operations; none (and a warning) when it gives no answer within ``within_s``."""
        limit = min(self.max_tokens, max(budget_tokens, MIN_COMPLETION_TOKENS))
        try:  # one try: a retry would start the same long answer again
            resp = await self.client.with_options(
                max_retries=0, timeout=max(within_s, 1.0)
            ).chat.completions.create(
                model=self.model, messages=messages, response_format=RESPONSE_FORMAT, **self._sampling(limit)
            )
        except APITimeoutError:
            log.warning("the memory's model gave no answer within %.0f s: the values stay as notes", within_s)
            return MemoryUpdate(ops=[]), ""
        text = (resp.choices[0].message.content or "").strip()
        return parse_update(text), text

    async def summarise(
        self, turns: Sequence[Turn], previous: str | None, language: str | None, budget_tokens: int = 500
    ) -> str:
        lang = language_of(language, " ".join(t for _, t in turns))
        memory = self.memory.copy() if previous == self._rendered else FactMemory.from_text(previous)
        try:
            result = await self._fold(memory, turns, language, lang, budget_tokens)
        except Exception as exc:
            if self.fallback is None:
                raise
            log.warning(
                "the memory's model failed (%s: %s): the fallback summarises", type(exc).__name__, exc
            )
            text = await self.fallback.summarise(turns, previous, language, budget_tokens)
            self.last_fold, self._rendered = getattr(self.fallback, "last_fold", None), None
            return text
        text, result.evicted = memory.render(budget_tokens, lang)
        self.memory, self._rendered, self.last_fold = memory, text, result
        return text

    async def _fold(
        self, memory: FactMemory, turns: Sequence[Turn], language: str | None, lang: str, budget: int
    ) -> FoldResult:
        messages = self.messages(turns, memory, language)
        started = time.monotonic()
        update, said = await self._ask(messages, budget, self.answer_within_s)
        applied = memory.apply(update, turns, lang, self.today())
        missing = memory.unplaced(turns, lang)
        if missing and said and time.monotonic() - started < self.recheck_within_s:
            # the same conversation, one question more: the model's cache holds the prefix
            listed = "\n".join(
                f"- {s.value!r} in: {_sentence_of(s, turns, lang)}" for s in missing[:MAX_RECHECK_SPANS]
            )
            messages += [
                {"role": "assistant", "content": said},
                {"role": "user", "content": RECHECK_PROMPT.format(spans=listed)},
            ]
            second, _ = await self._ask(messages, budget, self.answer_within_s - (time.monotonic() - started))
            applied += memory.apply(second, turns, lang, self.today(), first_fold=False)
            missing = memory.unplaced(turns, lang)
        memory.keep_unplaced(missing, turns, lang)  # what the model still left out stays, as notes
        memory.fill(turns, budget, lang)  # and room left over holds more of what was said
        return FoldResult(applied, [], memory.unplaced(turns, lang))


def _sentence_of(span: Span, turns: Sequence[Turn], language: str) -> str:
    """The sentence of the span's turn that states it (its turn when none does), quoted and short."""
    found = sentence_of(span, turns, language)
    words = (found[1] if found else turns[span.turn][1]).split()
    return '"' + " ".join(words[:30]) + (" ..." if len(words) > 30 else "") + '"'


# --- offline, extractive -----------------------------------------------------------------------


class ExtractiveSummariser:
    """Extractive (`voicenb.extractive`): keeps the sentences that carry names, numbers, codes, dates,
    times, places, decisions, preferences and corrections, in conversation order.

    No model, no network, a few ms. It cannot reword; under its budget it cuts sentences to their
    factual clauses and drops what is worth least per token first: repeated facts and values a later
    correction superseded, so the current value is what stays. Assistant sentences are kept only when
    they add a fact (a booking reference the assistant gave), never when they are questions. Values
    the user stated that did not fit are reported in ``last_fold.unplaced``.
    """

    last_fold: FoldResult | None = None

    async def summarise(
        self, turns: Sequence[Turn], previous: str | None, language: str | None, budget_tokens: int = 2000
    ) -> str:
        # In a worker thread: a long fold must not hold up the dialogue's events on the loop.
        return await asyncio.to_thread(self.summarise_sync, turns, previous, budget_tokens, language)

    def summarise_sync(
        self,
        turns: Sequence[Turn],
        previous: str | None,
        budget_tokens: int = 2000,
        language: str | None = None,
    ) -> str:
        lang = language_of(language, " ".join(t for _, t in turns))
        text = extractive.summarise(turns, previous, budget_tokens, lang)
        memory = FactMemory.from_text(text)
        for _, note in notes_for(memory.unplaced(turns, lang), turns, lang):  # values no sentence holds
            line = f"- {note}"
            if line not in text and count_text_tokens(f"{text}\n{line}") <= budget_tokens:
                text = f"{text}\n{line}" if text else line
        self.last_fold = FoldResult(unplaced=FactMemory.from_text(text).unplaced(turns, lang))
        return text


OfflineSummariser = ExtractiveSummariser  # the old names (notebooks written before the renames)
OpenAISummariser = ChatSummariser
