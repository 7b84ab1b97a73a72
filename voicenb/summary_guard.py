"""Summary guarantees that do not depend on the summarising model. Pure, no I/O.

After any summariser wrote its text, `guard` enforces:

1. the latest value wins: a value the user corrected later ("a table for four ... make it five") is
   removed from the summary, or kept only before its replacement as history ("four, now five");
2. no assistant chit-chat: lines that quote the assistant without a fact, or are pleasantries, go;
3. every number, date, time, amount, name and colour the user stated in the folded turns (and every
   one the previous summary held) is in the summary or deliberately superseded; missing ones are
   appended as short notes quoting the user's own words;
4. a budget floor: the summary may exceed its budget to hold the facts (by up to ``FLOOR_HEADROOM``
   tokens, or up to ``max_floor_tokens``);
   facts that still do not fit are dropped oldest first and listed in ``GuardResult.dropped`` so the
   session can publish a visible warning.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .extractive import place_phrases
from .tokens import count_text_tokens

Turn = tuple[str, str]


def _split(words: str) -> list[str]:
    return words.split()


FLOOR_HEADROOM = 400  # tokens the floor may add above the budget to hold facts (by default)

NUMBER_WORDS = {
    # English and Spanish number words up to twenty, plus tens: speech transcripts spell small numbers
    **dict.fromkeys(["zero", "cero"], "0"), **dict.fromkeys(["one", "uno", "una"], "1"),
    **dict.fromkeys(["two", "dos"], "2"), **dict.fromkeys(["three", "tres"], "3"),
    **dict.fromkeys(["four", "cuatro"], "4"), **dict.fromkeys(["five", "cinco"], "5"),
    **dict.fromkeys(["six", "seis"], "6"), **dict.fromkeys(["seven", "siete"], "7"),
    **dict.fromkeys(["eight", "ocho"], "8"), **dict.fromkeys(["nine", "nueve"], "9"),
    **dict.fromkeys(["ten", "diez"], "10"), **dict.fromkeys(["eleven"], "11"),
    **dict.fromkeys(["twelve", "doce"], "12"), **dict.fromkeys(["thirteen", "trece"], "13"),
    **dict.fromkeys(["fourteen", "catorce"], "14"), **dict.fromkeys(["fifteen", "quince"], "15"),
    **dict.fromkeys(["sixteen", "dieciséis"], "16"), **dict.fromkeys(["seventeen", "diecisiete"], "17"),
    **dict.fromkeys(["eighteen", "dieciocho"], "18"), **dict.fromkeys(["nineteen", "diecinueve"], "19"),
    **dict.fromkeys(["twenty", "veinte"], "20"), **dict.fromkeys(["thirty", "treinta"], "30"),
    **dict.fromkeys(["forty", "cuarenta"], "40"), **dict.fromkeys(["fifty", "cincuenta"], "50"),
    **dict.fromkeys(["hundred", "cien"], "100"),
}  # fmt: skip
MONTHS = _split(
    "january february march april may june july august september october november december "
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
)
WEEKDAYS = _split(
    "monday tuesday wednesday thursday friday saturday sunday lunes martes miércoles jueves "
    "viernes sábado domingo"
)
COLOURS = _split(
    "red orange yellow green blue purple violet pink brown black white grey gray beige navy "
    "teal rojo roja naranja amarillo amarilla verde azul morado morada rosa marrón negro negra "
    "blanco blanca gris graphite silver gold cream ivory crema plateado dorado"
)
MATERIALS = _split(
    "oak pine walnut wood wooden marble granite quartz slate brass chrome copper steel iron glass "
    "concrete laminate tile tiles leather linen cotton wool silk velvet bamboo ceramic porcelain "
    "madera roble mármol granito acero hierro cristal vidrio cuero lino algodón lana seda cerámica"
)
# capitalised words that start sentences or are pronouns, not names
NOT_NAMES = set(
    _split(
        "i i'm i've i'll i'd ok okay so and but or hi hello hey yes yeah no well oh um uh right "
        "sure thanks thank please sorry great good fine also then now we we're our my it it's that "
        "this the a an there they he she you your what when where which who how why let can could "
        "would will just actually maybe perfect lovely cool alright hola sí si bueno vale gracias "
        "pues entonces también perdón claro genial el la los las un una mi mis nuestro nuestra y o "
        "pero que qué cuando dónde assistant user asistente usuario summary resumen"
    )
)
SHORT_CORRECTION_WORDS = 10  # "Actually, make it five people." needs no shared word
ASSISTANT_KINDS = ("code", "money")  # what the assistant gives: references, credits (not its times,
# which it also corrects: "the earliest they can do is 7:30")
HISTORY_WORDS = ("was", "previously", "originally", "from", "antes", "era")
CORRECTION = re.compile(
    r"\b(actually|make it|change (?:it|that)|instead|rather|correction|scratch that|i meant|not .{1,40} but"
    r"|switch(?:ed)? to|move (?:it|that) to|update|en realidad|mejor|cambia|cambiar|en vez de|en lugar de"
    r"|perdón|quise decir|corrijo|no .{1,40} sino)\b",
    re.IGNORECASE,
)
CHIT_CHAT = re.compile(
    r"(as an? (?:\w+ ){0,3}(?:ai|assistant|bot)|i'?m sorry|happy to help|let me know|how can i help|"
    r"glad (?:you|to)|you're welcome|no problem|enjoy your|have a (?:great|nice)|encantad|con gusto)",
    re.IGNORECASE,
)
INTERJECTION = re.compile(
    r"^(oof|hmm+|ha+|oh|ah|brilliant|makes sense|lovely|great|okay|ok|right|perfect|sure|yes|yeah|no|"
    r"thanks?(?: you)?|cheers|wow|vale|genial|perfecto|claro|gracias|bueno|vaya)\W*$",
    re.IGNORECASE,
)
ASSISTANT_LINE = re.compile(r"^\W*(assistant|asistente)\s*:", re.IGNORECASE)
WORD = re.compile(r"[\w'’€$£%:./-]+", re.UNICODE)
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
BULLET = re.compile(r"^[\s\-•*–]+")


@dataclass(frozen=True)
class Fact:
    """One value the user stated: ``value`` (normalised), its class, and the user's words around it."""

    value: str
    kind: str  # number, time, money, date, weekday, name, colour
    note: str
    turn: int


@dataclass
class GuardResult:
    text: str
    added: list[str] = field(default_factory=list)  # facts appended as notes
    dropped: list[str] = field(default_factory=list)  # facts the floor could not hold
    superseded: dict[str, str] = field(default_factory=dict)  # old value -> the value replacing it
    removed_lines: list[str] = field(default_factory=list)  # chit-chat dropped


SCALES = {"hundred": 100, "cien": 100, "ciento": 100, "cientos": 100, "thousand": 1000, "mil": 1000}
JOINERS = {"and", "y"}


def _norm(token: str) -> str:
    t = token.lower().strip(".,;:!?¿¡\"'()’£$€").removesuffix("'s").removesuffix("’s")
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", t):  # 12,000 / 12.000
        t = re.sub(r"[.,]", "", t)
    return NUMBER_WORDS.get(t, t)


def tokens(text: str) -> list[tuple[str, str]]:
    """(normalised, raw) words, with spelled-out numbers joined into one value: "twelve thousand"
    -> 12000, "ciento cuarenta" -> 140, "five" -> 5."""
    out: list[tuple[str, str]] = []
    words = text.split()
    i = 0
    while i < len(words):
        parts = _split_hyphenated_number(words[i])
        if len(parts) > 1:  # "fifty-five": one value, the word kept as written
            value, _, _ = _spelled_number(parts, 0)
            out.append((str(value), words[i]))
            i += 1
            continue
        value, raw, j = _spelled_number(words, i)
        if j > i:
            out.append((str(value), " ".join(raw)))
            i = j
            continue
        out.append((_norm(words[i]), words[i]))
        i += 1
    return out


def _split_hyphenated_number(word: str) -> list[str]:
    """ "fifty-five" -> ["fifty", "five"] (so it reads as 55); other hyphenated words stay whole."""
    parts = word.split("-")
    if len(parts) > 1 and all(p.lower().strip(".,;:!?¿¡\"'()") in NUMBER_WORDS for p in parts):
        return parts
    return [word]


def _spelled_number(words: list[str], i: int) -> tuple[int, list[str], int]:
    total, current, j, used = 0, 0, i, []
    while j < len(words):
        w = words[j].lower().strip(".,;:!?¿¡\"'()")
        if w in NUMBER_WORDS and w not in SCALES:
            current += int(NUMBER_WORDS[w])
        elif w in SCALES and (used or SCALES[w] == 100):
            scale = SCALES[w]
            if scale == 1000:
                total, current = (total + max(current, 1)) * 1000, 0
            else:
                current = max(current, 1) * 100 if w not in ("ciento", "cien") else current + 100
        elif (
            w in JOINERS and used and j + 1 < len(words) and words[j + 1].lower().strip(".,") in NUMBER_WORDS
        ):
            pass
        elif (
            re.fullmatch(r"\d+", w)
            and not used
            and j + 1 < len(words)
            and words[j + 1].lower().strip(".,") in ("thousand", "mil")
        ):
            current = int(w)
        else:
            break
        used.append(words[j])
        if words[j][-1:] in ".,;:!?":
            j += 1
            break
        j += 1
    if len(used) < 2:  # one word: the plain normaliser handles it
        return 0, [], i
    return total + current, used, j


def _kind(
    token: str, raw: str, sentence_start: bool, vocab: set[str], mid_caps: frozenset[str] = frozenset()
) -> str | None:
    if re.fullmatch(r"\d{1,2}[:.]\d{2}(am|pm)?|\d{1,2}(am|pm)", token):
        return "time"
    if re.search(r"[€$£]|\d+%", raw) or token.endswith(("€", "%")):
        return "money"
    if raw.lower().strip(".,;:!?") in ("one", "uno", "una", "un"):
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


def _note(words: list[str], i: int) -> str:
    """The user's sentence when short, else the words around the value."""
    if len(words) <= 24:
        return " ".join(words).strip(" ,;")
    lo, hi = max(0, i - 6), min(len(words), i + 7)
    return " ".join(words[lo:hi]).strip(" ,;")


def mid_sentence_capitals(text: str) -> list[str]:
    """Capitalised words not at a sentence start: names, as any turn (the assistant's too) writes them."""
    return [w for s in SENTENCE.split(text) for w in BULLET.sub("", s).split()[1:] if w[:1].isupper()]


def user_facts(
    turns: Sequence[Turn], first_turn: int = 0, known_names: frozenset[str] = frozenset()
) -> list[Fact]:
    """Every value the user stated, in order (the same value may appear again, later)."""
    vocab = {w.lower() for _, text in turns for w in WORD.findall(text) if w[:1].islower()}
    mid_caps = frozenset(_norm(w) for w in mid_sentence_capitals(" ".join(t for _, t in turns)))
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
                kind = _kind(token, raw, i == 0, vocab, mid_caps | known_names)
                if (
                    kind == "number"
                    and i + 1 < len(pairs)
                    and pairs[i + 1][0].startswith(("o'clock", "o’clock"))
                ):
                    kind = "time"  # "8 o'clock" is a time, corrected by "7:30"
                if kind == "money" and re.search(r"[£$€]", raw):  # "£40" must not match "40 minutes"
                    token = re.sub(r"[^\d£$€.,]", "", raw).strip(".,")
                if kind and (role == "user" or kind in ASSISTANT_KINDS):
                    facts.append(Fact(token, kind, _note(words, i), n))
            places = place_phrases(sentence) if role == "user" else ()
            for phrase in places:  # "utility room", "side gate": plain words that matter
                facts.append(Fact(phrase, "place", _note(words, 0), n))
    return facts


def superseded_values(turns: Sequence[Turn], previous: str | None = None) -> dict[str, str]:
    """old value -> new value, for corrections. A user sentence with a correction cue replaces an
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
        if role != "user":
            continue
        for sentence in SENTENCE.split(text):
            new = user_facts([("user", sentence)], n)  # (corrections come from the user only)
            words = _content_words(sentence)
            if CORRECTION.search(sentence):
                negated = _negated_values(sentence)  # "fifty-five people, not forty": 40 is the old value
                new = [f for f in new if f.value not in negated]
                values = [f.value for f in new if f.kind not in ("name", "place", "colour", "material")]
                replaced.update(dict.fromkeys(negated, values[0]) if values else {})
                inside = {f.value for f in new}
                for fact in new:
                    if fact.kind in ("name", "place"):
                        continue  # corrections of these are words the model must handle
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


NEGATION = re.compile(r"\b(?:not|no|instead of|en vez de|en lugar de)\s+(\S+(?:\s+\S+)?)", re.IGNORECASE)


def _negated_values(sentence: str) -> set[str]:
    """Values the sentence says are no longer true: "..., not forty", "..., no cuarenta"."""
    values = set()
    for match in NEGATION.finditer(sentence):
        spelled = tokens(match.group(1))
        if spelled and spelled[0][0].isdigit():
            values.add(spelled[0][0])
    return values


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


def _drop_old_value(line: str, old: str, new: str) -> str | None:
    """The line without a superseded value: None when the line is only about it, unchanged when the
    old value is written before the new one (history, "four, now five")."""
    norm = _normalised_text(line)
    old_at, new_at = norm.find(f" {old} "), norm.find(f" {new} ")
    if old_at < 0:
        return line
    if new_at >= 0 and old_at < new_at:
        return line
    if new_at < 0:  # the line still states the old value as current: mark it replaced
        return f"{line.rstrip(' .')} (replaced: now {new})"
    return _cut_clause(line, old)


def _cut_clause(line: str, old: str) -> str:
    """Remove the clause (parenthesis or comma-separated part) that carries the old value."""
    out: list[str] = []
    skipping = False
    for t, w in tokens(line):
        if t == old or skipping:
            skipping = not w.endswith((")", ",", ";"))
            while out and out[-1].lower().strip("(,") in (
                "was",
                "previously",
                "originally",
                "from",
                "antes",
                "era",
            ):
                out.pop()
            if out and out[-1].endswith("("):
                out.pop()
            continue
        out.append(w)
    return " ".join(out).replace("()", "").strip(" ,;")


def clean_lines(summary: str, superseded: dict[str, str]) -> tuple[list[str], list[str]]:
    """(kept lines, removed chit-chat lines) with superseded values dropped."""
    kept: list[str] = []
    removed: list[str] = []
    for raw_line in summary.splitlines():
        body = BULLET.sub("", raw_line).strip()
        if not body or body in (BULLET.sub("", k) for k in kept):
            continue  # empty, or a repeated line
        line = f"- {body}" if raw_line.lstrip()[:1] in "-•*–" else body
        quoted_assistant = ASSISTANT_LINE.search(line)
        has_fact = bool(user_facts([("user", ASSISTANT_LINE.sub("", line))]))
        if CHIT_CHAT.search(line) or INTERJECTION.match(body) or (quoted_assistant and not has_fact):
            removed.append(line)
            continue
        line = _latest_value(line, superseded)
        if line:
            kept.append(line)
    return kept, removed


def _latest_value(line: str, superseded: dict[str, str]) -> str:
    for old, new in superseded.items():
        line = _drop_old_value(line, old, new) or ""
    return line


def guard(
    summary: str,
    turns: Sequence[Turn],
    previous: str | None,
    budget_tokens: int,
    max_floor_tokens: int | None = None,
) -> GuardResult:
    """Apply the guarantees in this module's docstring to ``summary`` (see `GuardResult`)."""
    carried = parse_replaced(previous or "")
    previous = (
        "\n".join(ln for ln in (previous or "").splitlines() if not ln.startswith(REPLACED_PREFIX)) or None
    )
    history = ([("user", previous)] if previous else []) + list(turns)
    superseded = _chain({**carried, **superseded_values(turns, previous)})
    summary = "\n".join(ln for ln in summary.splitlines() if REPLACED_PREFIX.strip("- ") not in ln)
    lines, removed = clean_lines(summary, superseded)
    text = "\n".join(lines)
    names = frozenset(_norm(w) for w in mid_sentence_capitals(" ".join(t for _, t in history)))
    names |= _line_initial_capitals(previous or "")
    carried_lines = [
        _latest_value(f"- {BULLET.sub('', ln)}", superseded) for ln in _dropped_lines(previous, text)
    ]
    text = "\n".join([*lines, *carried_lines])
    missing: list[Fact] = []
    for fact in user_facts(history, known_names=names):
        if fact.value in superseded or mentions(text, fact.value):
            continue
        if all(f.value != fact.value for f in missing):
            missing.append(fact)
    notes = [ln for ln in carried_lines if ln] + [
        _latest_value(f"- {m.note}", superseded) for m in _latest_notes(missing)
    ]
    added = [m.value for m in missing]
    result = GuardResult("", added, [], superseded, removed)
    ceiling = max(budget_tokens, max_floor_tokens or FLOOR_HEADROOM + budget_tokens)
    if superseded:  # explicit, and carried into the next fold: old values are never re-added as facts
        notes.append(REPLACED_PREFIX + "; ".join(f"{old} → {new}" for old, new in superseded.items()))
    result.text = _fit(lines, notes, budget_tokens, ceiling, result)
    return result


REPLACED_PREFIX = "- Replaced (latest value wins): "


def _dropped_lines(previous: str | None, summary: str) -> list[str]:
    """Fact-bearing lines of the previous summary the model left out entirely (under half of their
    content words are in the new summary): a small model rewriting its summary drops whole bullets,
    plain words included ("arroz negro" next to "Lucía")."""
    now = _content_words(summary)
    names = _line_initial_capitals(previous or "")
    out = []
    for line in (previous or "").splitlines():
        body = BULLET.sub("", line)
        words = _content_words(body)
        dropped = words and len(words & now) * 2 < len(words)
        if dropped and user_facts([("user", body)], known_names=names):
            out.append(line)
    return out


def _line_initial_capitals(previous: str) -> frozenset[str]:
    """A previous summary starts its lines with names ("Lucía es celíaca"): those count as names."""
    firsts = (BULLET.sub("", ln).split()[:1] for ln in previous.splitlines())
    return frozenset(_norm(w[0]) for w in firsts if w and w[0][:1].isupper() and _norm(w[0]) not in NOT_NAMES)


def parse_replaced(previous: str) -> dict[str, str]:
    """The old → new pairs a previous guarded summary recorded."""
    pairs: dict[str, str] = {}
    for line in previous.splitlines():
        if line.startswith(REPLACED_PREFIX):
            for pair in line.removeprefix(REPLACED_PREFIX).split(";"):
                old, _, new = pair.partition("→")
                if old.strip() and new.strip():
                    pairs[old.strip()] = new.strip()
    return pairs


def _chain(pairs: dict[str, str]) -> dict[str, str]:
    """120 → 130 and 130 → 140 become 120 → 140 and 130 → 140; a value never replaces itself."""
    out = {}
    for old, new in pairs.items():
        seen = {old}
        while new in pairs and new not in seen:
            seen.add(new)
            new = pairs[new]
        if new != old:
            out[old] = new
    return out


def _latest_notes(missing: list[Fact]) -> list[Fact]:
    """One note per fact, and one note for facts sharing the same words."""
    seen, out = set(), []
    for fact in missing:
        if fact.note not in seen:
            seen.add(fact.note)
            out.append(fact)
    return out


def _fit(lines: list[str], notes: list[str], budget: int, ceiling: int, result: GuardResult) -> str:
    """Everything fits up to ``ceiling`` (the floor may lift the budget to hold facts); above it,
    lines without any value go first, then the oldest notes, whose facts are recorded as dropped."""
    text = "\n".join(lines + notes)
    if count_text_tokens(text) <= max(budget, ceiling):
        return text
    for line in [ln for ln in lines if not user_facts([("user", ln)])]:
        lines = [ln for ln in lines if ln is not line]
        text = "\n".join(lines + notes)
        if count_text_tokens(text) <= ceiling:
            return text
    while notes and count_text_tokens(text) > ceiling:
        result.dropped.append(notes.pop(0).removeprefix("- "))
        text = "\n".join(lines + notes)
    return text
