"""Extractive rolling summary for spoken service and planning calls: no model, no network, pure.

The facts such calls turn on are names, numbers and codes, dates and times, places, decisions,
preferences and corrections. Each sentence becomes a *note* with its hard facts (tokens with digits,
codes, money, number words, calendar words, proper nouns) and its cues (decision/preference/correction/
request words, place phrases). A note is kept when it adds a fact or carries a cue; fillers, thanks
and the assistant's questions go. When the summary would exceed its budget, long notes are first cut
to the clauses that carry something, then the notes worth least per token are dropped: a fact that
another note repeats is worth nothing, and a value a later correction replaced ("actually, move it to
7:30") is worth nothing either, so superseded values are the first to go and current ones stay.
Notes stay in conversation order, so when both survive the latest value reads last.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .tokens import count_text_tokens

HEADER = "Summary of the earlier conversation (latest values win):"
LINE_TOKENS = 3  # "- User:" (each note pays for its own space or newline)

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
_DATE_WORDS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|monday|"
    "tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|tonight|weekend|fortnight|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|lunes|"
    "martes|miércoles|jueves|viernes|sábado|domingo|mañana|hoy"
)
_TIME = re.compile(r"^\d{1,2}[:.]\d\d|o'clock$|[ap]\.?m\.?$|^(?:noon|midday|midnight)$", re.IGNORECASE)
_RELATIVE = re.compile(r"^(?:today|tomorrow|tonight|weekend|fortnight|hoy|mañana)$", re.IGNORECASE)
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
_CORRECTION_CUE = re.compile(
    r"\b(?:actually|instead|chang\w*|switch\w*|mov(?:e|ed|ing)|forget|cancel\w*|different|no longer|"
    r"anymore|make it|rather|en vez de|cambi\w*|mejor|en realidad)\b",
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
# The user taking what the assistant just offered: "Yes please." "Perfect." "Book that one."
_AGREE = re.compile(
    r"^\W*(?:\w+\W+){0,2}?(?:yes|yep|perfect|that works|sí|vale|perfecto|de acuerdo)\b|"
    r"\b(?:let's (?:do|go|book|pencil|take)|book (?:that|it|them)|go (?:for|with) (?:that|it)|"
    r"pencil (?:that|it) in|take (?:that|it)|do that)\b",
    re.IGNORECASE,
)
AGREED = " (agreed)"
_CLAUSE = re.compile(r",\s+|;\s+|\s+(?:but|so|because|which|though|although|while|pero|porque)\s+")
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


# --- choosing notes ----------------------------------------------------------------------------


def worth_keeping(note: Note, known: set[str]) -> bool:
    """A new sentence is kept if it adds a fact or carries a cue; questions and thanks only if factual."""
    new = note.facts - known
    if note.text.endswith("?"):
        # Questions ask for facts; the assistant's never state one, the user's rarely ("Can we do Monday?").
        return note.role != "assistant" and bool(new or note.strong)
    words = len(_WORD.findall(note.text))
    if new:
        return True
    if note.role == "assistant":
        # It restates what the user said, or small talk; unless it confirms a change ("moved to the 19th").
        return bool(note.facts) and bool(_CORRECTION_CUE.search(note.text))
    return words > 3 and (note.strong or note.weak)


def extract(turns: Sequence[tuple[str, str]], earlier: list[Note], lower_vocab: set[str]) -> list[Note]:
    """Notes worth keeping from ``turns``, after the ``earlier`` notes (of the previous summary)."""
    known = set().union(*(n.facts for n in earlier)) if earlier else set()
    notes: list[Note] = []
    for n, (role, text) in enumerate(turns):
        if role == "user" and _AGREE.search(text):
            # What the assistant offered just before: in this batch, or the last line of the summary.
            before = [x for x in (notes or earlier[-1:]) if x.turn == (n - 1 if notes else earlier[-1].turn)]
            for note in before:
                note.agreed = note.agreed or note.role == "assistant"
        generic = role == "assistant" and not _PERSONAL.search(text)
        for sentence in sentences(text):
            note = make_note(role, sentence, n, lower_vocab)
            note.generic = generic
            if worth_keeping(note, known):
                notes.append(note)
                known |= note.facts
    return notes


def mark_superseded(notes: list[Note]) -> None:
    """A corrected value loses its worth: a later note that changes something (a correction cue in it or
    in the turn before) and states a value of the same type on the same topic supersedes the old one."""
    for i, note in enumerate(notes):
        context = [n for n in notes[max(0, i - 3) : i + 1] if n.turn >= note.turn - 1]
        if not any(_CORRECTION_CUE.search(n.text) for n in context):
            continue
        types = {fact_type(f) for f in note.facts} - {"name"}
        topic = set().union(*(n.topic for n in context))
        for old in notes[:i]:
            if old.turn >= note.turn - 1 or not old.topic & topic:
                continue
            replaced = {f for f in old.facts - note.facts if fact_type(f) in types}
            old.superseded |= replaced
            note.corrects = note.corrects or bool(replaced)


def fact_weight(fact: str) -> float:
    """Digits, codes and names are what a summary cannot rebuild; spelled numbers and "today" less so."""
    if _RELATIVE.match(fact):
        return 1.0
    if _SPELLED.match(fact):
        return 1.5
    kind = fact_type(fact)
    return 2.0 if kind in ("place", "date") and not re.search(r"\d", fact) else 3.0


def _value(note: Note, counts: Counter[str]) -> float:
    """Unique facts count in full, facts another note repeats a fifth; superseded ones not at all."""
    live = note.facts - note.superseded
    facts = sum(note.weights[f] * (1.0 if counts[f] == 1 else 0.2) for f in live)
    # A correction must outlive what it corrects, or the old value would read as current.
    value = facts + 2 * note.strong + 1 * note.weak + 3 * note.corrects + 2 * note.agreed
    # General information (the weather, a museum) and questions matter less than what was settled.
    return value * (0.5 if note.generic else 1.0) * (0.5 if note.text.endswith("?") else 1.0)


def shorten(note: Note, lower_vocab: set[str]) -> Note:
    """Keep only the clauses that carry a fact or a cue (the whole note if none or all do); a clause
    of a word or two keeps the one before it ("my mother-in-law, Lourdes")."""
    clauses = [c for c in _CLAUSE.split(note.text.rstrip(".!")) if c]
    if len(clauses) < 2:
        return note
    keep = [bool(_STRONG_CUE.search(c)) or any(f in c.lower() for f in note.facts) for c in clauses]
    for i in range(1, len(clauses)):
        if keep[i] and len(clauses[i].split()) <= 2:
            keep[i - 1] = True
    if all(keep) or not any(keep):
        return note
    text = ", ".join(c for c, k in zip(clauses, keep, strict=True) if k)
    text = text[:1].upper() + text[1:] + ("" if text[-1] in ".?!" else ".")
    short = make_note(note.role, text, note.turn, lower_vocab)
    short.superseded = note.superseded & short.facts
    short.generic, short.corrects, short.agreed = note.generic, note.corrects, note.agreed
    return short


def fit(notes: list[Note], budget: int, lower_vocab: set[str]) -> list[Note]:
    """Drop the notes worth least per token until the summary fits ``budget`` tokens."""
    size = (
        count_text_tokens(HEADER) + sum(n.tokens for n in notes) + LINE_TOKENS * len({n.turn for n in notes})
    )
    if size <= budget:
        return notes
    notes = [shorten(n, lower_vocab) for n in notes]
    sizes = [n.tokens for n in notes]
    total = count_text_tokens(HEADER) + sum(sizes) + LINE_TOKENS * len({n.turn for n in notes})
    alive = set(range(len(notes)))
    counts = Counter(f for n in notes for f in n.facts - n.superseded)
    turns = Counter(n.turn for n in notes)
    holders: dict[str, set[int]] = {}
    for i, n in enumerate(notes):
        for f in n.facts:
            holders.setdefault(f, set()).add(i)
    values = {i: _value(notes[i], counts) for i in alive}
    while total > budget and alive:
        # Worth per token (a note alone on its line also pays for the line); among equals the oldest
        # goes: later lines carry the latest values.
        cost = {i: sizes[i] + (LINE_TOKENS if turns[notes[i].turn] == 1 else 0) for i in alive}
        worst = min(alive, key=lambda i: (values[i] / cost[i], i))
        alive.discard(worst)
        total -= cost[worst]
        turns[notes[worst].turn] -= 1
        counts.subtract(notes[worst].facts - notes[worst].superseded)
        for i in set().union(*(holders[f] for f in notes[worst].facts)) & alive:
            values[i] = _value(notes[i], counts)  # a fact it shared may now be unique to it
    return [notes[i] for i in sorted(alive)]


# --- rendering ---------------------------------------------------------------------------------

_LINE = re.compile(r"^- (?:(User|Assistant): )?(.*)$")


def parse_summary(summary: str | None, lower_vocab: set[str]) -> list[Note]:
    """Notes back from a summary this module wrote (any "- ..." lines of another summary too)."""
    notes = []
    for n, line in enumerate((summary or "").splitlines()):
        match = _LINE.match(line.strip())
        if not match:
            continue
        role, body = (match.group(1) or "").lower(), match.group(2)
        agreed = body.endswith(AGREED.strip())
        body = body.removesuffix(AGREED.strip()).rstrip()
        generic = role == "assistant" and not agreed and not _PERSONAL.search(body)
        for sentence in _SENTENCE.split(body):
            if sentence.strip():
                notes.append(make_note(role, sentence.strip(), n - 1_000_000, lower_vocab))
                notes[-1].generic, notes[-1].agreed = generic, agreed
    return notes


def render(notes: Sequence[Note]) -> str:
    lines: list[str] = []
    for i, note in enumerate(notes):
        if i and notes[i - 1].turn == note.turn:
            lines[-1] += " " + note.text
        else:
            lines.append(f"- {note.role.capitalize()}: {note.text}" if note.role else f"- {note.text}")
        last_of_line = i + 1 == len(notes) or notes[i + 1].turn != note.turn
        if last_of_line and note.role == "assistant" and any(n.agreed for n in notes if n.turn == note.turn):
            lines[-1] += AGREED
    return "\n".join([HEADER, *lines])


def summarise(turns: Sequence[tuple[str, str]], previous: str | None, budget_tokens: int) -> str:
    """Fold ``turns`` into the ``previous`` summary; the result fits ``budget_tokens`` (o200k)."""
    lower_vocab = lowercase_vocab([previous or "", *(t for _, t in turns)])
    notes = parse_summary(previous, lower_vocab)
    notes += extract(turns, notes, lower_vocab)
    mark_superseded(notes)
    notes = fit(notes, budget_tokens, lower_vocab)
    text = render(notes)
    while count_text_tokens(text) > budget_tokens and notes:  # the estimate was short: trim the oldest
        notes = notes[1:]
        text = render(notes)
    return text
