"""LoCoMo (Maharana et al., ACL 2024; snap-research/locomo) read directly, pure: a published sample as
a `Conversation` of the eval schema, and LoCoMo's token F1 for an answer.

The mapping (the same as ``shared/eval/locomo/README.md``'s converted files): speaker_a speaks as the
user and speaker_b as the assistant, consecutive turns of one speaker are one turn, a placeholder user
turn comes first when speaker_b opens; the first turn of each session starts with its date in
brackets ("[1:56 pm on 8 May, 2023] ..."); a shared photo is "(shares a photo: CAPTION)". Probes are the
QA items of categories 1, 2 and 4 whose answer is one item (no comma) of at most four words, not yes or
no, at least three characters, at most `MAX_FACTS` spread evenly; a fact's turn is the last turn of its
evidence; a date answer also accepts "May 7, 2023", "May 7 2023" and "May 7".
"""

from __future__ import annotations

import re
import string
from collections import Counter
from pathlib import Path
from typing import Any

from .conversations import Conversation, ConversationError, Fact

PROBE_CATEGORIES = (1, 2, 4)
MAX_FACTS = 60
PLACEHOLDER = "(starts the conversation)"
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2}) ([A-Z][a-z]+),? (\d{4})$")


def is_locomo(data: Any) -> bool:
    sample = data[0] if isinstance(data, list) and data else data
    return isinstance(sample, dict) and "speaker_a" in sample.get("conversation", sample)


def conversation(data: Any, path: Path, first_turns: int | None = None) -> Conversation:
    """One LoCoMo sample (its ``conversation`` object, or the sample flattened) as a `Conversation`."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if isinstance(data, list):
        raise ConversationError(f"{path}: {len(data)} LoCoMo samples in one file; give one sample per file")
    conv = data.get("conversation", data)
    try:
        a, b = str(conv["speaker_a"]), str(conv["speaker_b"])
        turns, where = _turns(conv, a)
        facts = _facts(data.get("qa", []), where, first_turns)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConversationError(f"{path}: not a LoCoMo sample ({exc})") from None
    return Conversation(
        f"locomo_{a.lower()}_{b.lower()}", turns[:first_turns] if first_turns else turns, facts
    )


def _session_keys(conv: dict) -> list[str]:
    keys = [k for k in conv if re.fullmatch(r"session_\d+", k)]
    return sorted(keys, key=lambda k: int(k.split("_")[1]))


def _turns(conv: dict, user: str) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """(role, text) turns and the turn each dialogue id ("D1:3") ended up in."""
    turns: list[tuple[str, str]] = []
    where: dict[str, int] = {}
    for key in _session_keys(conv):
        stamp = conv.get(f"{key}_date_time")
        for n, said in enumerate(conv[key]):
            role = "user" if said["speaker"] == user else "assistant"
            text = str(said.get("text", "")).strip()
            if said.get("blip_caption"):
                text = f"{text} (shares a photo: {said['blip_caption']})".strip()
            if n == 0 and stamp:
                text = f"[{stamp}] {text}"
            if not turns and role == "assistant":
                turns.append(("user", PLACEHOLDER))
            if turns and turns[-1][0] == role:
                turns[-1] = (role, f"{turns[-1][1]} {text}")
            else:
                turns.append((role, text))
            where[str(said["dia_id"])] = len(turns) - 1
    return turns, where


def _facts(qa: list[dict], where: dict[str, int], first_turns: int | None) -> list[Fact]:
    chosen = []
    for i, item in enumerate(qa):
        answer = str(item.get("answer", "")).strip(' ."')
        if item.get("category") not in PROBE_CATEGORIES or not _one_item(answer):
            continue
        turns = [where[e] for e in item.get("evidence", []) if e in where]
        if first_turns is not None:
            turns = [t for t in turns if t < first_turns]
        if turns:
            answers = (answer, *_date_variants(answer))
            chosen.append(
                Fact(f"q{i}_c{item['category']}", str(item["question"]), answers, "name", max(turns))
            )
    if len(chosen) > MAX_FACTS:
        chosen = [chosen[int(k * len(chosen) / MAX_FACTS)] for k in range(MAX_FACTS)]
    return chosen


def _one_item(answer: str) -> bool:
    return (
        "," not in answer
        and len(answer.split()) <= 4
        and answer.lower() not in ("yes", "no")
        and len(answer) >= 3
    )


def _date_variants(answer: str) -> list[str]:
    match = _DAY_MONTH_YEAR.match(answer)
    if not match:
        return []
    day, month, year = match.groups()
    return sorted({f"{month} {day}", f"{month} {day} {year}", f"{month} {day}, {year}"} - {answer})


# --- LoCoMo's token F1 (its evaluation code: normalise, then precision and recall of tokens; without
# its Porter stemming, so "dancing" and "dance" count as different tokens) --------------------------


_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalise(text: str) -> list[str]:
    text = text.lower().translate(_PUNCTUATION)
    text = re.sub(r"\b(a|an|the|and)\b", " ", text)
    return text.split()


def token_f1(prediction: str, answer: str) -> float:
    """LoCoMo's F1 between a bot's answer and the gold answer, over normalised tokens."""
    pred, gold = normalise(prediction), normalise(answer)
    common = sum((Counter(pred) & Counter(gold)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)
