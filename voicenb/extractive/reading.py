"""Reading a call: each spoken sentence becomes a `Note` with its hard facts (the shared reader,
`voicenb.facts.spans`: numbers, amounts, dates, times, codes, names; plus place phrases) and its cues
(decision, preference, correction and request words, per language). Fillers ("Um, yeah, okay, so
...") are dropped on the way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..facts import SENTENCE, known_names, spans
from ..tokens import count_text_tokens

_WORD = re.compile(r"[^\W_][\w'’-]*")


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


# Cue words by language; a language with no row keeps notes by their facts alone.
FILLERS = {
    "en": r"um+|uh+|erm+|er|hmm+|mm+|ah+|oh+|ooh|oof|yeah|yep|yes|hiya|hi|hello|hey|okay|ok|right|well|so|"
    r"alright|honestly|basically|anyway|like|you know|i mean|i guess|to be honest|hang on|wait|look",
    "es": r"eh|pues|bueno|vale|o sea|mira|este|entonces|hola|sí",
}
STRONG = {
    "en": _words(
        r"let's|lets|go for|going with|go with|we'll take|i'll take|book|booked|booking|decid\w*",
        r"chose|choose",
        r"pick\w*|settle\w*|pencil\w*|confirm\w*|prefer\w*|rather|want|wants|don't want|would like|i'd like",
        r"love|hate|can't stand|never|always|favourite|favorite|allerg\w*|vegetarian|vegan|avoid\w*|must",
        r"coeliac|celiac|gluten|dairy|lactose|nuts?|halal|kosher|diabetic|pregnant|wheelchair|disabled",
        r"can't (?:have|eat|drink|do|make|walk)|don't (?:eat|drink)|need|needs|only|keen|fussy|actually",
        r"instead|chang\w*|switch\w*|mov(?:e|ed|ing)|forget|cancel\w*|different|no longer|anymore|make it",
        r"updat\w*|tell them|ask them|make sure|please|remember",
    ),
    "es": _words(
        r"prefiero|quiero|mejor|en vez de|cambi\w*|reserv\w*|al final|en realidad|cel[ií]ac[oa]",
        r"alérgic[oa]|necesit\w*|por favor|nunca|siempre",
    ),
}
WEAK = {
    "en": _words(
        r"(?:in|at|round|by|through|near|behind|from|to|into|on) the|not|no|room|gate|door|floor|street",
        r"road|address|postcode|upstairs|downstairs|next door|called|named|left|right|front|back",
    ),
    "es": _words(r"calle|planta|piso|puerta|izquierda|derecha|se llama|no"),
}  # fmt: skip
PLACE = {
    "en": _words(
        r"room|kitchen|bathroom|bedroom|lounge|garage|garden|hall|hallway|landing|loft|attic|basement|cellar",
        r"office|shed|porch|gate|door|entrance|driveway|steps|lift|stairs|flat|apartment|street|road|lane",
        r"avenue|terminal|platform|station|airport|marina|harbour|beach|hotel|restaurant|café|cafe|shop",
        r"store|depot|branch|hospital|clinic|surgery|school|park|reception|desk|terrace|balcony|suite|floor",
        r"view|side",
    )
}
PERSONAL = {
    "en": _words(r"you|your|you'd|you'll|you're|you've|i|i've|i'll|i'd|i'm|we'll|we've|us"),
    "es": _words(r"usted|su|yo|nosotros|mi|nuestr[oa]"),
}
_NONE = re.compile(r"(?!)")  # matches nothing
_STOP = set(
    re.findall(
        r"\S+",
        "the a an and or but so to of in on at for with from that this it it's is are was were be been i "
        "i'm i'll i've i'd you your we we'd we'll our they them their he she his her there what which who "
        "how when where can could would will shall should do does did have has had not no yes just about "
        "into that's there's let me my if then than also too very really some any all one same next again "
        "now up out get got go",
    )
)


@dataclass(frozen=True)
class Reader:
    """How a call's sentences are read: its language and the words it writes as names."""

    language: str
    names: frozenset[str] = frozenset()

    def cue(self, table: dict[str, re.Pattern[str]]) -> re.Pattern[str]:
        return table.get(self.language, _NONE)


def reader(texts: Iterable[str], language: str) -> Reader:
    return Reader(language, known_names(" ".join(texts), language))


@dataclass
class Note:
    """One kept sentence (or what is left of it) and what it carries."""

    role: str  # "user" | "assistant" | "" (a line of a summary not written by us)
    text: str
    turn: int  # notes of one turn render on one line
    facts: frozenset[str] = frozenset()
    strong: bool = False
    weak: bool = False
    superseded: set[str] = field(default_factory=set)
    generic: bool = False  # the assistant's general information, not about this caller
    corrects: bool = False  # it states the value that replaced an older one
    agreed: bool = False  # the assistant proposed it and the user took it ("book that one")
    kinds: dict[str, str] = field(default_factory=dict)  # fact -> its kind (number, date, name, place...)

    @functools.cached_property
    def tokens(self) -> int:
        return count_text_tokens(self.text) + 1

    @functools.cached_property
    def topic(self) -> frozenset[str]:
        """What the note is about: its content words that are not values themselves."""
        values = {w for f in self.facts for w in f.split()}
        return frozenset(content_words(self.text) - values)

    @functools.cached_property
    def weights(self) -> dict[str, float]:
        return {f: fact_weight(self.kinds.get(f, "name")) for f in self.facts}


def clean(sentence: str, language: str = "en") -> str:
    """Drop spoken fillers ("Um, yeah, okay, so ...") and tidy what is left."""
    fillers = FILLERS.get(language)
    text = sentence.strip()
    if fillers:
        text = re.sub(rf"^(?:(?:{fillers})\b[,.!]?\s*)+", "", text, flags=re.IGNORECASE)
        text = re.sub(r"\b(?:um+|uh+|erm+|eh)\b,?\s*", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+,", ",", re.sub(r",\s*,", ",", text.strip(" ,")))
    return text[:1].upper() + text[1:] if text else ""


def sentences(text: str, language: str = "en") -> list[str]:
    return [s for s in (clean(p, language) for p in SENTENCE.split(text)) if s]


def hard_facts(sentence: str, how: Reader) -> dict[str, str]:
    """The sentence's facts ({value: kind}): the shared reader's spans and its place phrases."""
    found = {s.value: s.kind for s in spans(sentence, how.language, names=how.names)}
    if len(_WORD.findall(sentence)) == 1:
        found = {v: k for v, k in found.items() if k != "name"}  # "Lovely." "Entiendo." are not names
    return found | dict.fromkeys(place_phrases(sentence, how), "place")


def place_phrases(sentence: str, how: Reader) -> Iterable[str]:
    """A place noun and the word that qualifies it: "utility room", "side gate"."""
    for match in how.cue(PLACE).finditer(sentence):
        before = re.search(r"([A-Za-z][\w'-]*)\s+$", sentence[max(0, match.start() - 30) : match.start()])
        if before and before.group(1).lower() not in _STOP:
            yield f"{before.group(1)} {match.group()}".lower()


def content_words(text: str) -> set[str]:
    return {w for w in (x.lower().strip("'’") for x in _WORD.findall(text)) if len(w) > 3 and w not in _STOP}


def make_note(role: str, text: str, turn: int, how: Reader) -> Note:
    facts = hard_facts(text, how)
    strong, weak = bool(how.cue(STRONG).search(text)), bool(how.cue(WEAK).search(text))
    return Note(role, text, turn, frozenset(facts), strong, weak, kinds=facts)


def fact_weight(kind: str) -> float:
    """Digits, codes and names are what a summary cannot rebuild; calendar words and places less so."""
    return 2.0 if kind in ("place", "date") else 3.0
