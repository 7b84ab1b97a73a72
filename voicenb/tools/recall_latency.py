"""What a turn that calls ``recall`` costs offline: the same folded conversation asked questions the
model answers from what it holds, and the same questions with a response that must call recall first
(the local 1.5B does not choose recall by itself: see the README).

``python -m voicenb.tools.recall_latency [CONVERSATION.json] [--json]``: replays the conversation's
turns as typed text with scripted replies, folds all but the last two with the extractive summariser,
then asks the local reply model (the engine's default) its probe questions one by one, each twice
(plain, then with ``tool_choice`` recall), timing each from the request to the end of the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from .. import events as ev
from ..policy import SummaryPolicy
from ..session import Backend, SessionConfig, VoiceSession
from ..summarisers import ExtractiveSummariser
from .eval.loading import load_conversation
from .eval.probes import load_reply_model
from .eval.replay import pairs
from .scripted import EstimatedSpeech, ScriptedReplies

INSTRUCTIONS = "You are a helpful voice assistant. Answer in one short sentence."


async def measure(path: str, questions: int = 6) -> dict[str, Any]:
    from ..engine import EngineConfig, OfflineEngine

    conv = load_conversation(path)
    replies = ScriptedReplies(load_reply_model(), fallback_tokens=48)
    engine_config = EngineConfig(llm=replies, tts=EstimatedSpeech(), load_models=False)
    config = SessionConfig(instructions=INSTRUCTIONS, output_modalities=["text"], turn_detection=False)
    policy = SummaryPolicy(trigger_tokens=10**9, keep_last=2, min_turns=1)
    async with OfflineEngine(engine_config) as engine:
        session = VoiceSession(config, policy=policy, summariser=ExtractiveSummariser(),
                               backend=Backend.remote(engine.url))  # fmt: skip
        async with session:
            for user, assistant in pairs(conv.turns):
                replies.say(assistant or "Okay.")
                await session.send_text(user)
                await session.next(ev.UsageUpdated, timeout=60)
            task = session.summarise_now()
            if task is not None:
                await task
            turns = []
            for fact in conv.facts[:questions]:
                for force in (False, True):
                    timed = await _timed(session, fact.question, force)
                    turns.append(
                        {**timed, "correct": any(a.lower() in timed["answer"].lower() for a in fact.answers)}
                    )
    plain = [t["seconds"] for t in turns if not t["calls"]]
    recalled = [t["seconds"] for t in turns if t["calls"]]
    return {
        "conversation": conv.name,
        "turns": turns,
        "plain_turn_s": round(sum(plain) / len(plain), 2) if plain else None,
        "recall_turn_s": round(sum(recalled) / len(recalled), 2) if recalled else None,
    }


async def _timed(session: VoiceSession, question: str, force: bool) -> dict[str, Any]:
    """One question: seconds from sending it to the end of the answer (after any tool round)."""
    before = set(session.state.log)
    started = time.monotonic()
    await session.send_text(question, respond=not force)
    if force:
        await session.link.send(
            {"type": "response.create", "response": {"tool_choice": {"type": "function", "name": "recall"}}}
        )
    while True:
        await session.next(ev.UsageUpdated, timeout=300)
        added = [i for i in session.state.log.values() if i.id not in before]
        if added and not added[-1].is_tool:
            break
    seconds = time.monotonic() - started
    answer = " ".join(i.text for i in added if i.role == "assistant")
    calls = [i.text for i in added if i.kind == "function_call"]
    await session.link.delete_items([i.id for i in added if i.id in session.state.window])
    return {"question": question, "answer": answer, "calls": calls, "seconds": round(seconds, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voicenb.tools.recall_latency", description=__doc__)
    default = Path(__file__).parent.parent / "data" / "conversations" / "support_call.json"
    parser.add_argument("conversation", nargs="?", default=str(default))
    parser.add_argument("--questions", type=int, default=6)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.conversation, args.questions))
    if args.json:
        print(json.dumps(result))
    else:
        for t in result["turns"]:
            kind = "recall" if t["calls"] else "plain "
            print(f"{t['seconds']:6.2f} s  {kind} {t['question']} -> {t['answer']}")
        print(f"plain turn {result['plain_turn_s']} s, turn that called recall {result['recall_turn_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
