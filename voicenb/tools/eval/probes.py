"""Model-answered probes: ask each fact's question over what the server still holds (needs a model)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from .conversations import Fact

PROBE_PROMPT = (
    "Below is everything a voice assistant still remembers of a conversation (a summary and the latest "
    "turns; later information overrides earlier). Answer the question from it alone, in a few words. "
    "If it does not say, answer 'unknown'."
)


async def probe_answers(
    context: Sequence[str], facts: Sequence[Fact], client: Any, model: str = "gpt-4o-mini"
) -> list[tuple[str, str, bool]]:
    """Ask ``model`` every fact's question over the context; (fact id, answer, correct) each."""
    memory = "\n".join(context)

    async def ask(fact: Fact) -> tuple[str, str, bool]:
        resp = await client.chat.completions.create(
            model=model, temperature=0, max_tokens=40,
            messages=[{"role": "system", "content": PROBE_PROMPT},
                      {"role": "user", "content": f"Memory:\n{memory}\n\nQuestion: {fact.question}"}],
        )  # fmt: skip
        answer = (resp.choices[0].message.content or "").strip()
        return fact.id, answer, any(a.lower() in answer.lower() for a in fact.answers)

    return list(await asyncio.gather(*(ask(f) for f in facts)))
