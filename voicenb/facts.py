"""Facts in conversation text, pure: spelled-out numbers ("ciento veinte" -> 120), dates, times, names,
colours, materials and places a user states, which values a correction replaces ("make it five", "...,
not forty"), and whether a text mentions a value. The summary guard (`voicenb.summary_guard`) keeps
what these find."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .extractive import place_phrases
from .lexicon import (
    ARTICLES,
    ASSISTANT_CHANGE,
    COLOURS,
    CORRECTION,
    CURRENCY_WORDS,
    INTERJECTION,
    JOINERS,
    MATERIALS,
    MONTHS,
    NAME_CUE,
    NEGATION,
    NOT_NAMES,
    SCALES,
    WEEKDAYS,
    number_word,
)

Turn = tuple[str, str]


NOUN_CASE_SHARE = 0.15
SHORT_CORRECTION_WORDS = 10  # "Actually, make it five people." needs no shared word
# What the assistant gives that the user relies on: references, credits, days and times it booked,
# names it offered ("a restaurant called O Cantinho do Mar", "the plumber, Anselmo"). Its own changes
# supersede.
ASSISTANT_KINDS = ("code", "money", "time", "name", "weekday")
ASSISTANT_LINE = re.compile(r"^\W*(assistant|asistente)\s*:", re.IGNORECASE)
WORD = re.compile(r"[\w'’€$£%:./-]+", re.UNICODE)
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+|\s+(?=[¿¡])")  # Spanish opens a question or exclamation
BULLET = re.compile(r"^[\s\-•*–]+")


@dataclass(frozen=True)
class Fact:
    """One value the user stated: ``value`` (normalised), its class, and the user's words around it."""

    value: str
    kind: str  # number, day (of a month), time, money, date, weekday, name, colour, material, place
    note: str
    turn: int


def _norm(token: str) -> str:
    t = token.lower().strip(".,;:!?¿¡\"'()’£$€").removesuffix("'s").removesuffix("’s")
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", t):  # 12,000 / 12.000
        t = re.sub(r"[.,]", "", t)
    if t in ("cent", "cents"):
        return t  # English "fifty cents"; French "cent" is read in `_spelled_number`
    value = number_word(t)
    return str(value) if value is not None else str(SCALES[t]) if t in SCALES else t


def tokens(text: str) -> list[tuple[str, str]]:
    """(normalised, raw) words, with spelled-out numbers joined into one value: "twelve thousand"
    -> 12000, "ciento cuarenta" -> 140, "dix-neuf" -> 19, "five" -> 5."""
    out: list[tuple[str, str]] = []
    words = text.split()
    i = 0
    while i < len(words):
        value, raw, j = _spelled_number(words, i)
        if j > i:
            out.append((str(value), " ".join(raw)))
            i = j
            continue
        out.append((_norm(words[i]), words[i]))
        i += 1
    return out


def _bare(word: str) -> str:
    return word.lower().strip(".,;:!?¿¡\"'()")


def _spelled_number(words: list[str], i: int) -> tuple[int, list[str], int]:
    """A number spelled over several words from ``words[i]``: (value, its words, index after it);
    (0, [], i) when there is none."""
    total, current, j, used = 0, 0, i, []
    while j < len(words):
        w = _bare(words[j])
        value = number_word(w) if w not in SCALES else None
        if value is not None:
            current += value
        elif w in SCALES and (w not in ("cent", "cents") or not used or 1 <= current <= 9):
            if SCALES[w] == 1000:  # ("fifty cents" stays fifty; "quatre cents" is 400)
                total, current = (total + max(current, 1)) * 1000, 0
            else:
                current = max(current, 1) * 100
        elif w in JOINERS and used and j + 1 < len(words) and number_word(_bare(words[j + 1])) is not None:
            pass
        elif re.fullmatch(r"\d+", w) and not used and j + 1 < len(words) and _bare(words[j + 1]) in SCALES:
            current = int(w)  # "12 thousand"
        else:
            break
        used.append(words[j])
        if words[j][-1:] in ".,;:!?":
            j += 1
            break
        j += 1
    if len(used) < 2 and not (used and "-" in used[0]):  # one plain word: the normaliser handles it
        return 0, [], i
    return total + current, used, j


def _kind(
    token: str, raw: str, sentence_start: bool, vocab: set[str], mid_caps: frozenset[str] = frozenset()
) -> str | None:
    if re.fullmatch(r"\d{1,2}[:.]\d{2}(am|pm)?|\d{1,2}(am|pm)", token):
        return "time"
    if re.search(r"[€$£]|\d+%", raw) or token.endswith(("€", "%")):
        return "money"
    if raw.lower().strip(".,;:!?") in ARTICLES:
        return None  # mostly an article or a pronoun
    if re.fullmatch(r"\d+(st|nd|rd|th)?|\d+[.,]\d+", token):
        return "number"
    if token in MONTHS:
        return "date"
    if token in WEEKDAYS:
        return "weekday"
    if token in COLOURS:
        return "colour"
    if token in MATERIALS:
        return "material"
    clean = raw.strip(".,;:!?¿¡\"'()’")
    capitalised = (
        clean[:1].isupper() and token not in NOT_NAMES and len(clean) > 1 and not INTERJECTION.match(clean)
    )
    if capitalised and (not sentence_start or (token not in vocab and token in mid_caps)):
        return "name"
    if re.search(r"\d", token) and re.search(r"[a-z]", token):
        return "code"  # codes and references: AB12, CS-77104
    return None


NOTE_WORDS_BEFORE = 10  # what is said about a value comes mostly before it: "she does not want ... Albufeira"
NOTE_WORDS_AFTER = 6


def _note(words: list[str], i: int) -> str:
    """The user's sentence when short, else the words around the value (with six words before it, a
    note once kept "want to end up anywhere like X" of "she does not want to end up anywhere like X")."""
    if len(words) <= 24:
        return " ".join(words).strip(" ,;")
    lo, hi = max(0, i - NOTE_WORDS_BEFORE), min(len(words), i + NOTE_WORDS_AFTER + 1)
    return " ".join(words[lo:hi]).strip(" ,;")


def _words_inside_sentences(text: str) -> list[str]:
    return [w for s in SENTENCE.split(text) for w in BULLET.sub("", s).split()[1:]]


def capitalises_nouns(text: str) -> bool:
    """Whether the text capitalises common nouns (German): over NOUN_CASE_SHARE of the words inside
    sentences start with a capital (English and Spanish text: a few per cent, names only)."""
    inside = [w for w in _words_inside_sentences(text) if w[:1].isalpha()]
    capitals = sum(1 for w in inside if w[:1].isupper())
    return len(inside) >= 20 and capitals > NOUN_CASE_SHARE * len(inside)


def name_candidates(text: str, nouns_capitalised: bool | None = None) -> frozenset[str]:
    """Words written with a capital inside sentences: names; where the text capitalises its nouns,
    only capitalised words after a name cue ("Herr Okonjo", "namens Bruno")."""
    if capitalises_nouns(text) if nouns_capitalised is None else nouns_capitalised:
        return frozenset(_norm(w) for m in NAME_CUE.finditer(text) for w in m.group(1).split())
    return frozenset(_norm(w) for w in mid_sentence_capitals(text))


def mid_sentence_capitals(text: str) -> list[str]:
    """Capitalised words not at a sentence start: names, as any turn (the assistant's too) writes them."""
    return [w for w in _words_inside_sentences(text) if w[:1].isupper()]


def user_facts(
    turns: Sequence[Turn], first_turn: int = 0, known_names: frozenset[str] = frozenset()
) -> list[Fact]:
    """Every value the user stated, in order (the same value may appear again, later)."""
    vocab = {w.lower() for _, text in turns for w in WORD.findall(text) if w[:1].islower()}
    whole = " ".join(t for _, t in turns)
    by_case = not capitalises_nouns(whole)
    mid_caps = name_candidates(whole, nouns_capitalised=not by_case)
    if not by_case:  # German: a capital letter does not make a name; only names already known count
        vocab = set()
    facts = []
    for n, (role, text) in enumerate(turns, start=first_turn):
        if role not in ("user", "assistant"):
            continue
        for sentence in SENTENCE.split(text):
            sentence = BULLET.sub("", sentence)  # a previous summary's bullet is not part of the note
            pairs = tokens(sentence)
            words = [raw for _, raw in pairs]
            for i, (token, raw) in enumerate(pairs):
                if not token:
                    continue
                kind = _kind(token, raw, i == 0 or not by_case, vocab, mid_caps | known_names)
                if (
                    kind == "number"
                    and i + 1 < len(pairs)
                    and pairs[i + 1][0].startswith(("o'clock", "o’clock"))
                ):
                    kind = "time"  # "8 o'clock" is a time, corrected by "7:30"
                if kind == "number" and _before_month(pairs, i):
                    kind = "day"  # "el doce de marzo": a correction of the head count does not replace it
                if kind == "number" and i + 1 < len(pairs) and pairs[i + 1][0] in CURRENCY_WORDS:
                    kind = "money"  # "ochocientos setenta y cinco euros": a price the assistant quotes counts
                if kind == "money" and re.search(r"[£$€]", raw):  # "£40" must not match "40 minutes"
                    token = re.sub(r"[^\d£$€.,]", "", raw).strip(".,")
                if kind and (role == "user" or kind in ASSISTANT_KINDS):
                    facts.append(Fact(token, kind, _note(words, i), n))
            places = place_phrases(sentence) if role == "user" else ()
            for phrase in places:  # "utility room", "side gate": plain words that matter
                facts.append(Fact(phrase, "place", _note(words, 0), n))
    return facts


def _before_month(pairs: list[tuple[str, str]], i: int) -> bool:
    """A number that a month follows, directly or after "of", "de", "di", "du": a day of the month."""
    after = [t for t, _ in pairs[i + 1 : i + 3]] + [""]
    return after[0] in MONTHS or (after[0] in DAY_OF and after[1] in MONTHS)


DAY_OF = ("of", "de", "di", "du", "del")


def superseded_values(turns: Sequence[Turn], previous: str | None = None) -> dict[str, str]:
    """old value -> new value, for corrections. A user sentence with a correction cue (or an assistant
    sentence saying it applied a change: "I've moved the booking to 7:30") replaces an
    earlier value of the same kind (numbers by numbers, times by times, ...) from the user's turns or
    the previous summary: the one whose sentence shares most words with the correction ("budget",
    "invitados"), then the closest in size, then the latest. A long correction sentence that shares
    no word with the earlier one is not taken as a correction of it."""
    replaced: dict[str, str] = {}
    seen: list[tuple[Fact, set[str]]] = [
        (f, _content_words(line))
        for line in (previous or "").splitlines()
        for f in user_facts([("user", line)], -1)
    ]
    for n, (role, text) in enumerate(turns):
        if role not in ("user", "assistant"):
            continue
        for sentence in SENTENCE.split(text):
            new = user_facts([(role, sentence)], n)
            words = _content_words(sentence)
            cue = CORRECTION if role == "user" else ASSISTANT_CHANGE  # the assistant applies a change
            if cues := [*cue.finditer(sentence)]:
                negated = _negated_values(sentence)  # "fifty-five people, not forty": 40 is the old value
                last = cues[-1].start()  # the last cue: "Anzi, martedì non posso: meglio giovedì"
                in_place = _replaced_before_cue(role, sentence[:last], sentence[last:])
                replaced.update(in_place)
                new = [f for f in new if f.value not in negated and f.value not in in_place]
                replaced.update(_replacing_negated(negated, new))
                inside = {f.value for f in new}
                for fact in new:
                    if fact.kind in ("name", "place") or fact.value in in_place.values():
                        continue  # names and places: words the model must handle; in place: done
                    earlier = [
                        (len(words & w), _closeness(f.value, fact.value), k, f)
                        for k, (f, w) in enumerate(seen)
                        if f.kind == fact.kind and f.value not in inside
                    ]
                    short = len(sentence.split()) <= SHORT_CORRECTION_WORDS
                    earlier = [e for e in earlier if e[0] > 0 or short]
                    if earlier:
                        replaced[max(earlier, key=lambda e: e[:3])[3].value] = fact.value
            seen += [(f, words) for f in new]
    facts = [f for f, _ in seen]
    for old, new in list(replaced.items()):  # a value restated after being replaced is current again
        if _last_turn(facts, old) > _last_turn(facts, new):
            del replaced[old]
    return replaced


WORD_KINDS_REPLACED_IN_PLACE = ("colour", "material", "weekday", "date", "time")


def _replaced_before_cue(role: str, before: str, after: str) -> dict[str, str]:
    """old -> new for values the sentence itself gives up before its correction cue: "We hate chrome,
    we'd rather have brass" replaces chrome, not an earlier material ("a grey tile floor"). Numbers
    are left out: "two kids, and actually a table for five" counts different things."""
    taken = user_facts([(role, after)])
    new_of_kind: dict[str, str] = {}
    for f in taken:
        if f.kind in WORD_KINDS_REPLACED_IN_PLACE:
            new_of_kind.setdefault(f.kind, f.value)
    taken_values = {f.value for f in taken}
    return {
        f.value: new_of_kind[f.kind]
        for f in user_facts([(role, before)])
        if f.kind in new_of_kind and f.value not in taken_values
    }


NUMERIC_KINDS = ("number", "day", "money", "time")


def _negated_values(sentence: str) -> dict[str, str]:
    """Values the sentence says are no longer true, with their kinds: "..., not forty", "no cuarenta",
    "pas le douze", "not Tuesday", "não terça-feira"."""
    values: dict[str, str] = {}
    for match in NEGATION.finditer(sentence):
        said = [f for f in user_facts([("user", match.group(1))]) if f.kind not in ("name", "place")]
        spelled = [t for t, _ in tokens(match.group(1)) if t[:1].isdigit()]
        if said:
            values.setdefault(said[0].value, said[0].kind)
        elif spelled:
            values.setdefault(spelled[0], "number")
    return values


def _replacing_negated(negated: dict[str, str], new: list[Fact]) -> dict[str, str]:
    """old -> new for negated values: the sentence's first value of the same kind (any numeric kind
    for a number: "£40, not thirty")."""
    out = {}
    for old, kind in negated.items():
        numeric = kind in NUMERIC_KINDS
        same = [f.value for f in new if f.kind == kind or (numeric and f.kind in NUMERIC_KINDS)]
        if same:
            out[old] = same[0]
    return out


def _closeness(a: str, b: str) -> float:
    """Corrections change a value by a modest factor (120 -> 140 guests, not 5 -> 140)."""
    x, y = (re.sub(r"\D", "", v) for v in (a, b))
    if not x or not y or int(x) == 0 or int(y) == 0:
        return 0.0
    return -abs(math.log(int(x) / int(y)))


def _content_words(sentence: str) -> set[str]:
    words = {t for t, _ in tokens(sentence) if len(t) > 3 and not t.isdigit()}
    return words - NOT_NAMES - {m.group(0).lower() for m in CORRECTION.finditer(sentence)}


def _last_turn(facts: list[Fact], value: str) -> int:
    return max((f.turn for f in facts if f.value == value), default=-1)


def _normalised_text(text: str) -> str:
    return " " + " ".join(t for t, _ in tokens(text)) + " "


def mentions(text: str, value: str) -> bool:
    if " " in value:
        return value in " ".join(text.lower().split())
    if re.search(r"[£$€]", value):
        return value in re.sub(r"\s", "", text.lower())
    return f" {value} " in _normalised_text(text)
