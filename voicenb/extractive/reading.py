"""Reading a call: each spoken sentence becomes a `Note` with its hard facts (tokens with digits, codes,
money, number words, calendar words, proper nouns, place phrases) and its cues (decision, preference,
correction and request words). Fillers ("Um, yeah, okay, so ...") are dropped on the way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..lexicon import MONTHS, WEEKDAYS
from ..tokens import count_text_tokens

_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\s+(?=[¿¡])")
_STARTERS = (
    r"um+|uh+|erm+|er|hmm+|mm+|ah+|oh+|ooh|oof|yeah|yep|yes|hiya|hi|hello|hey|okay|ok|right|well|so|"
    r"alright|honestly|basically|anyway|like|you know|i mean|i guess|to be honest|hang on|wait|look|"
    r"eh|pues|bueno|vale|o sea|mira|este|entonces"
)
_LEADING_FILLER = re.compile(rf"^(?:(?:{_STARTERS})\b[,.!]?\s*)+", re.IGNORECASE)
_INNER_FILLER = re.compile(r"\b(?:um+|uh+|erm+|eh)\b,?\s*", re.IGNORECASE)
_WORD = re.compile(r"[^\W_][\w'’-]*")

_NUMBER_WORDS = (
    "two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|"
    "million|grand|half|dozen|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|"
    "twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|"
    "thirtieth|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|cien|mil|primer[oa]?|segund[oa]|"
    "tercer[oa]?|cuart[oa]|quint[oa]"
)
_RELATIVE_DAYS = ["today", "tomorrow", "tonight", "weekend", "fortnight", "mañana", "hoy"]
_DATE_WORDS = "|".join([*dict.fromkeys(MONTHS + WEEKDAYS), *_RELATIVE_DAYS])
_TIME = re.compile(r"^\d{1,2}[:.]\d\d|o'clock$|[ap]\.?m\.?$|^(?:noon|midday|midnight)$", re.IGNORECASE)
_RELATIVE = re.compile(rf"^(?:{'|'.join(_RELATIVE_DAYS)})$", re.IGNORECASE)
_SPELLED = re.compile(rf"^(?:{_NUMBER_WORDS})(?:-\w+)?$", re.IGNORECASE)
_DATE = re.compile(rf"^(?:{_DATE_WORDS})$|^\d{{1,2}}(?:st|nd|rd|th)$", re.IGNORECASE)
_MONEY = re.compile(r"^[£€$¥]|^\d[\d,.]*(?:k|p)?$(?=)|(?:pounds|euros|dollars|quid)$", re.IGNORECASE)
_HARD = re.compile(
    r"\b\d{1,2}(?:[:.]\d\d)?\s?(?:o'clock|[ap]\.?m\b\.?)|"
    rf"[£€$¥]?\d[\w:,./'’-]*\d?|\b[A-Z](?:-[A-Z])+\b|\b(?:{_NUMBER_WORDS}|{_DATE_WORDS}|o'clock|noon|midday|"
    r"midnight)(?:-\w+)?\b",
    re.IGNORECASE,
)
_STRONG_CUE = re.compile(
    r"\b(?:let's|lets|go for|going with|go with|we'll take|i'll take|book|booked|booking|decid\w*|chose|"
    r"choose|"
    r"pick\w*|settle\w*|pencil\w*|confirm\w*|prefer\w*|rather|want|wants|don't want|would like|i'd like|"
    r"love|hate|can't stand|never|always|favourite|favorite|allerg\w*|vegetarian|vegan|avoid\w*|must|"
    r"coeliac|celiac|cel[ií]ac[oa]|gluten|dairy|lactose|nuts?|halal|kosher|diabetic|pregnant|wheelchair|disabled|"
    r"can't (?:have|eat|drink|do|make|walk)|don't (?:eat|drink)|"
    r"need|needs|only|keen|fussy|actually|instead|chang\w*|switch\w*|mov(?:e|ed|ing)|forget|cancel\w*|"
    r"different|no longer|anymore|make it|updat\w*|tell them|ask them|make sure|please|remember|"
    r"prefiero|quiero|mejor|en vez de|cambi\w*|reserv\w*|al final|en realidad)\b",
    re.IGNORECASE,
)
_WEAK_CUE = re.compile(
    r"\b(?:in|at|round|by|through|near|behind|from|to|into|on) the\b|\b(?:not|no|room|gate|door|floor|"
    r"street|road|address|postcode|upstairs|downstairs|next door|called|named|left|right|front|back)\b",
    re.IGNORECASE,
)
_PLACE = re.compile(
    r"\b(?:room|kitchen|bathroom|bedroom|lounge|garage|garden|hall|hallway|landing|loft|attic|"
    r"basement|cellar|office|shed|porch|gate|door|entrance|driveway|steps|lift|stairs|flat|apartment|street|"
    r"road|lane|avenue|terminal|platform|station|airport|marina|harbour|beach|hotel|restaurant|café|cafe|"
    r"shop|store|depot|branch|hospital|clinic|surgery|school|park|reception|desk|terrace|balcony|suite|floor|"
    r"view|side)\b",
    re.IGNORECASE,
)
_WORD_BEFORE = re.compile(r"([A-Za-z][\w'-]*)\s+$")
_PERSONAL = re.compile(
    r"\b(?:you|your|you'd|you'll|you're|you've|i|i've|i'll|i'd|i'm|we'll|we've|us|usted|su)\b", re.I
)
_NOT_NAMES = {"i", "i'm", "i'll", "i've", "i'd", "ok", "okay", "mr", "mrs", "ms", "dr"}
# Words that start sentences in calls: capitalised there, yet not names.
_STARTER_WORDS = set(
    """ha haha ah oh wow ooh oops aw hmm yay thanks thank cheers lovely great perfect brilliant fine sure done
    good nice cool excellent wonderful fantastic awesome sorry congratulations understood sensible fair
    enjoy remember absolutely exactly definitely certainly of no yes yeah right okay alright sounds makes it
    it's that
    that's this these those there there's here here's they they're we we're we'd we'll you you're you'll
    you'd he he's she she's my your our their his her its the a an some any all both each every none one
    is are was were do does did can could would will shall should may might must have has had don't can't
    won't isn't what when where which who why how and but or so then also just maybe perhaps probably
    actually honestly anyway well now still yet again once if because since while after before as though
    although unless until otherwise instead besides plus let let's tell give take make go come try please
    check keep bring call send see look hold mostly most many much more less few lots nobody everyone
    everything nothing something someone anything anyone happy glad ideal got hang hi hello hiya bye
    goodbye welcome true sí vale bueno gracias perfecto claro genial muy el la los las un una es está hay
    yo tú usted nosotros mi su que qué cómo cuándo dónde por para con pero entonces también ya""".split()  # noqa: SIM905
)
_STOP = {
    "the", "a", "an", "and", "or", "but", "so", "to", "of", "in", "on", "at", "for", "with", "from", "that",
    "this", "it", "it's", "is", "are", "was", "were", "be", "been", "i", "i'm", "i'll", "i've", "i'd",
    "you", "your", "we", "we'd", "we'll", "our", "they", "them", "their", "he", "she", "his", "her",
    "there", "what", "which", "who", "how", "when", "where", "can", "could", "would", "will", "shall",
    "should", "do", "does", "did", "have", "has", "had", "not", "no", "yes", "just", "about", "into",
    "that's", "there's", "let", "me", "my", "if", "then", "than", "also", "too", "very", "really",
    "some", "any", "all", "one", "same", "next", "again", "now", "up", "out", "get", "got", "go",
}  # fmt: skip


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
        return {f: fact_weight(f) for f in self.facts}


# --- reading sentences -------------------------------------------------------------------------


def clean(sentence: str) -> str:
    """Drop spoken fillers ("Um, yeah, okay, so ...") and tidy what is left."""
    text = _INNER_FILLER.sub("", _LEADING_FILLER.sub("", sentence.strip())).strip(" ,")
    text = re.sub(r"\s+,", ",", re.sub(r",\s*,", ",", text))
    return text[:1].upper() + text[1:] if text else ""


def sentences(text: str) -> list[str]:
    return [s for s in (clean(p) for p in _SENTENCE.split(text)) if s]


def _norm(word: str) -> str:
    word = word.lower().strip(".,!?;:'’\"()")
    return re.sub(r"['’]s$", "", word)


def hard_facts(sentence: str, lower_vocab: set[str]) -> frozenset[str]:
    """Numbers, codes, money, calendar words and proper nouns in ``sentence``, normalised."""
    found = {_norm(m.group()) for m in _HARD.finditer(sentence)}
    found |= set(place_phrases(sentence))
    words = _WORD.findall(sentence)
    if len(words) == 1:
        return frozenset(found)  # "Lovely." "Entiendo." are not names
    for i, word in enumerate(words):
        if not word[:1].isupper() or _norm(word) in _NOT_NAMES:
            continue
        if i == 0 and _common(_norm(word), lower_vocab):
            continue  # a capital that only starts the sentence
        found.add(_norm(word))
    return frozenset(f for f in found if f)


def place_phrases(sentence: str) -> Iterable[str]:
    """A place noun and the word that qualifies it: "utility room", "side gate"."""
    for match in _PLACE.finditer(sentence):
        before = _WORD_BEFORE.search(sentence, max(0, match.start() - 30), match.start())
        if before and before.group(1).lower() not in _STOP:
            yield f"{before.group(1)} {match.group()}".lower()


def _common(word: str, lower_vocab: set[str]) -> bool:
    """A sentence-initial capital that is an ordinary word (a verb in -ing/-ed, a contraction, ...)."""
    forms = {word, word.rstrip("s"), re.split(r"['’]", word)[0]}
    return bool(forms & (lower_vocab | _STARTER_WORDS | _STOP)) or word.endswith(("ing", "ed", "ly"))


def fact_type(fact: str) -> str:
    if _TIME.search(fact):
        return "time"
    if _DATE.search(fact):
        return "date"
    if re.match(r"^[£€$¥]", fact):
        return "money"
    if re.search(r"\d", fact):
        return "number"
    if " " in fact:
        return "place"
    return "name"


def content_words(text: str) -> set[str]:
    return {w for w in (_norm(x) for x in _WORD.findall(text)) if len(w) > 3 and w not in _STOP}


def lowercase_vocab(texts: Iterable[str]) -> set[str]:
    """Words seen in lower case (so a capital at a sentence start is not taken for a name)."""
    return {w for t in texts for w in _WORD.findall(t) if w.islower()}


def make_note(role: str, text: str, turn: int, lower_vocab: set[str]) -> Note:
    return Note(
        role, text, turn, hard_facts(text, lower_vocab), bool(_STRONG_CUE.search(text)),
        bool(_WEAK_CUE.search(text)),
    )  # fmt: skip


def fact_weight(fact: str) -> float:
    """Digits, codes and names are what a summary cannot rebuild; spelled numbers and "today" less so."""
    if _RELATIVE.match(fact):
        return 1.0
    if _SPELLED.match(fact):
        return 1.5
    kind = fact_type(fact)
    return 2.0 if kind in ("place", "date") and not re.search(r"\d", fact) else 3.0
