"""Reading a conversation file: the eval schema (docs/eval-schema.md) or LoCoMo's published JSON."""

from __future__ import annotations

import json
from pathlib import Path

from . import locomo
from .conversations import Conversation, ConversationError, Fact


def load_conversation(path: str | Path, first_turns: int | None = None) -> Conversation:
    """Read a conversation file in the schema of ``docs/eval-schema.md``, or one of LoCoMo's published
    JSON (`voicenb.tools.eval.locomo`); ``first_turns``: only that many turns, with the facts whose
    evidence lies in them."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConversationError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConversationError(f"{path}: is a folder; give a conversation .json file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversationError(f"{path}: not a JSON conversation ({exc})") from None
    if locomo.is_locomo(data):
        return locomo.conversation(data, path, first_turns)
    conv = _schema_conversation(data, path)
    if first_turns is not None:
        facts = [f for f in conv.facts if f.turn < first_turns]
        conv = Conversation(conv.name, conv.turns[:first_turns], facts, conv.language)
    return conv


def _schema_conversation(data: object, path: Path) -> Conversation:
    if not isinstance(data, dict):
        raise ConversationError(f"{path}: not in the eval schema (not an object); see docs/eval-schema.md")
    try:
        turns = [(str(t["role"]), str(t["text"])) for t in data["turns"]]
        facts = [
            Fact(str(f["id"]), str(f["question"]), tuple(map(str, f["answers"])), f.get("kind", "name"),
                 int(f.get("turn", 0)), tuple(f.get("superseded") or ()))
            for f in data.get("facts", [])
        ]  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ConversationError(f"{path}: not in the eval schema ({what}); see docs/eval-schema.md") from None
    if not turns or any(role not in ("user", "assistant") for role, _ in turns):
        raise ConversationError(f"{path}: 'turns' must be a non-empty list of user/assistant turns")
    return Conversation(data.get("name") or path.stem, turns, facts, data.get("language") or "en")
