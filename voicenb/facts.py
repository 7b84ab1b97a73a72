"""The hard facts a turn states, read in its language, pure: numbers and amounts (number words read by
`text2num`), dates, times, codes, names, colours and materials (`spans`); what a text already holds
(`values_in`); and days said relative to the turn ("yesterday", "next Friday") as dates (`anchor_dates`).

One reader for the whole toolkit: the fact memory's check (`voicenb.memory`) and the extractive
fallback (`voicenb.extractive`) both use it. It only finds candidates for the model to place; it never
decides what a value means or which value a correction replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from text_to_num import alpha2digit

from .lexicon import (
    CAPITALISED_NOUNS,
    COLOURS,
    COMMON_WORD_MONTHS,
    CURRENCY,
    FUNCTION_WORDS,
    LANGUAGES,
    MATERIALS,
    MONTHS,
    MULTIPLIERS,
    NAME_CUES,
    RELATIVE_DAY_NOUN_AFTER,
    RELATIVE_DAYS,
    WEEKDAY_STEP,
    WEEKDAYS,
    known,
)

SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+|\s+(?=[¿¡])")
WORD = re.compile(r"[£$€]?[\w'’]+(?:[-.,:/][\w]+)*[%€]?", re.UNICODE)
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
TIME = re.compile(r"(\d{1,2})(?:[:.h](\d\d))?(am|pm|h)?$")
ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th|º|ª|er|e|o|a)$")
STAMP = re.compile(r"\[(?:[^\]]*?\bon\s+)?(\d{1,2} \w+,? \d{4}|\d{4}-\d\d-\d\d)\]\s*")


@dataclass(frozen=True)
class Span:
    """One value a turn states: ``value`` normalised ("25000", "may", "hh-30518", "nadia"), its kind
    (number, amount, time, date, code, name), and the turn it is in."""

    value: str
    kind: str
    turn: int = 0


def detect_language(text: str) -> str:
    """The language whose function words the text uses most (English when none)."""
    words = [w.lower() for w in WORD.findall(text)]
    counts = {lang: sum(w in set(FUNCTION_WORDS[lang]) for w in words) for lang in LANGUAGES}
    return max(counts, key=lambda lang: (counts[lang], lang == "en"))


def language_of(language: str | None, text: str) -> str:
    """The session's language where it names one of ours, else the text's own."""
    return known(language) or detect_language(text)


def _digits(sentence: str, lang: str) -> str:
    """Number words as digits ("twenty-five" -> 25); "one" stays a word (mostly a pronoun)."""
    try:
        return alpha2digit(sentence, lang, threshold=2)
    except Exception:  # text2num refuses some inputs; the words then stay words
        return sentence


def _number(token: str) -> str:
    """ "12,000" -> "12000", "2.35" -> "2.35", "12th" -> "12"."""
    token = ORDINAL.sub(r"\1", token)
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", token):
        return re.sub(r"[.,]", "", token)
    return token.replace(",", ".")


def _is_month(word: str, raw: str, near_digit: bool, lang: str) -> bool:
    if word not in MONTHS[lang]:
        return False
    return word not in COMMON_WORD_MONTHS.get(lang, ()) or raw[:1].isupper() or near_digit


def _relative_day(words: list[str], i: int, lang: str) -> bool:
    return words[i] in RELATIVE_DAYS[lang] and (
        i == 0 or words[i - 1] not in RELATIVE_DAY_NOUN_AFTER.get(lang, ())
    )


def spans(text: str, language: str, turn: int = 0, names: frozenset[str] = frozenset()) -> list[Span]:
    """Every number, amount, time, date, code, name, colour and material ``text`` states, in order.
    ``names``: words known as names, which count at a sentence start too (elsewhere any capitalised
    word does)."""
    lang = known(language) or "en"
    calendar = set(MONTHS[lang]) | set(WEEKDAYS[lang])
    starters = set(FUNCTION_WORDS[lang]) | calendar  # capitalised at a sentence start, not names
    out: list[Span] = []
    for sentence in SENTENCE.split(text):
        raw = [re.sub(r"['’]s$", "", w) for w in WORD.findall(_digits(sentence, lang))]  # Bristol's
        words = [w.lower().strip("'’") for w in raw]
        for i, (w, r) in enumerate(zip(words, raw, strict=True)):
            after = words[i + 1] if i + 1 < len(words) else ""
            near_digit = any(c.isdigit() for c in (words[i - 1] if i else "") + after)
            kind, value = _kind(w, r, after, lang), w
            if kind in ("number", "amount", "time"):
                value = _value(w, after, kind, lang)
            elif _is_month(w, r, near_digit, lang) or w in WEEKDAYS[lang] or _relative_day(words, i, lang):
                kind = "date"
            elif w in COLOURS[lang] or w in MATERIALS[lang]:
                kind = "colour" if w in COLOURS[lang] else "material"
            elif (
                r[:1].isupper() and r.isalpha() and w not in (starters if i == 0 else calendar) and len(w) > 1
            ):
                cue = i > 0 and (
                    words[i - 1] in NAME_CUES.get(lang, ()) or (out and out[-1].value == words[i - 1])
                )
                kind = "name" if cue or (lang not in CAPITALISED_NOUNS and (i > 0 or w in names)) else None
            if kind:
                out.append(Span(value, kind, turn))
    return out


def _kind(word: str, raw: str, after: str, lang: str) -> str | None:
    if TIME.match(word) and (":" in word or word.endswith(("am", "pm")) or after in ("am", "pm", "o'clock")):
        return "time"
    if re.search(r"[£$€]|\d%", raw) or (
        NUMBER.match(word) and (after in CURRENCY[lang] or after in MULTIPLIERS.get(lang, {}))
    ):
        return "amount"
    if NUMBER.fullmatch(word) or ORDINAL.fullmatch(word):
        return "number"
    if re.search(r"\d", word) and re.search(r"[^\W\d_]", word):
        return "code"  # references: HH-30518, B-84512370
    return None


def _value(word: str, after: str, kind: str, lang: str) -> str:
    if kind == "time":
        hour, minute, half = TIME.match(word).groups()  # type: ignore[union-attr]
        half = half if half in ("am", "pm") else after if after in ("am", "pm") else ""
        return f"{int(hour)}:{minute or '00'}{half}"
    number = _number(re.sub(r"[^\d.,]", "", word).strip(".,") or "0")
    times = MULTIPLIERS.get(lang, {}).get(after)
    if times and re.fullmatch(r"\d+(?:\.\d+)?", number):
        return f"{float(number) * times:g}"
    return number


def known_names(text: str, language: str) -> frozenset[str]:
    """Words written with a capital inside sentences: names, at a sentence start too. A session stamp
    is not a sentence: the word after "[1:56 pm on 8 May, 2023]" opens one ("Morning!" is no name)."""
    return frozenset(s.value for s in spans(unstamped(text), language) if s.kind == "name")


def unstamped(text: str) -> str:
    """A turn without its session stamps ("[1:56 pm on 8 May, 2023] ..."): a stamp is when the turn
    was said (`session_date` reads it), not something said in it."""
    return STAMP.sub("", text)


def values_in(text: str, language: str) -> set[str]:
    """What a text holds, as `spans` normalise it (plus its plain words, for names)."""
    found = {s.value for s in spans(text, language, names=frozenset(w.lower() for w in WORD.findall(text)))}
    return found | {w.lower() for w in WORD.findall(text)}


# --- days said relative to the turn ---------------------------------------------------------------


def session_date(text: str) -> date | None:
    """The latest session date stamped in a turn, as in "[1:56 pm on 8 May, 2023] ..." (LoCoMo's
    session stamps; one speaker's last words of a session and first of the next make one turn, so a
    stamp can sit mid-turn)."""
    found = list(STAMP.finditer(text))
    if not found:
        return None
    match = found[-1]
    for fmt in ("%d %B, %Y", "%d %B %Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(match.group(1), fmt).date()
        except ValueError:
            continue
    return None


def format_date(day: date, language: str) -> str:
    lang = known(language) or "en"
    month = MONTHS[lang][day.month - 1]
    return f"{day.day} {month.capitalize() if lang in ('en', 'de') else month} {day.year}"


def anchor_dates(text: str, on: date, language: str) -> str:
    """``text`` with each relative day followed by its date: "yesterday" said on 8 May 2023 ->
    "yesterday (7 May 2023)", "next Friday" -> "next Friday (12 May 2023)"."""
    lang = known(language) or "en"
    out, words = [], text.split(" ")
    bare = [w.lower().strip('.,;:!?¿¡"()') for w in words]
    for i, word in enumerate(words):
        day = _relative(bare, i, on, lang)
        if day and not _already_dated(bare, i):
            core = word.rstrip(".,;:!?)")
            word = f"{core} ({format_date(day, lang)}){word[len(core) :]}"
        out.append(word)
    return " ".join(out)


def _relative(bare: list[str], i: int, on: date, lang: str) -> date | None:
    if _relative_day(bare, i, lang):
        return on + timedelta(days=RELATIVE_DAYS[lang][bare[i]])
    if bare[i] in WEEKDAYS[lang] and i and bare[i - 1] in WEEKDAY_STEP[lang]:
        step, target = WEEKDAY_STEP[lang][bare[i - 1]], WEEKDAYS[lang].index(bare[i])
        ahead = (target - on.weekday()) % 7 or 7
        return on + timedelta(days=ahead if step > 0 else ahead - 7)
    return None


def _already_dated(bare: list[str], i: int) -> bool:
    return i + 1 < len(bare) and bare[i + 1][:1].isdigit()
