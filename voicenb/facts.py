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

Turn = tuple[str, str]


def _split(words: str) -> list[str]:
    return words.split()


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
# What the assistant gives that the user relies on: references, credits, times it booked, names it
# offered ("a restaurant called O Cantinho do Mar", "the plumber, Anselmo"). Its own changes supersede.
ASSISTANT_KINDS = ("code", "money", "time", "name")
ASSISTANT_CHANGE = re.compile(
    r"\b(moved|changed|rebooked|updated|switched|instead|the earliest|the latest|lo cambio|he cambiado"
    r"|cambiado|movido|en su lugar)\b",
    re.IGNORECASE,
)
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
            if cue.search(sentence):
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
