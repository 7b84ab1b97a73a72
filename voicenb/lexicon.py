"""The words the fact reader (`voicenb.facts`) knows, in English, Spanish, French, German, Italian and
Portuguese: languages the offline engine speaks (piper for English, espeak-ng for the others). Pure data.

Speech transcripts spell numbers ("mil cuatrocientos", "dix-neuf", "einundzwanzig"), so every language
needs its number words; calendar, colour and material words make plain facts checkable; function words
keep sentence starts from passing as names.
"""

from __future__ import annotations

import re


def _words(text: str) -> list[str]:
    return text.split()


def _numbered(*rows: tuple[int, str]) -> dict[str, int]:
    """{word: value} from (value, "word word ...") rows: each word of a row has the row's value."""
    return {w: value for value, words in rows for w in words.split()}


# Words with one value each; compounds ("fifty-five", "veintidós", "soixante-dix", "einundzwanzig")
# are read by `number_word` from these parts.
UNITS = _numbered(
    (0, "zero cero zéro null"), (1, "one uno una un une eins ein eine"), (2, "two dos deux zwei"),
    (3, "three tres trois drei"), (4, "four cuatro quatre vier"), (5, "five cinco cinq fünf"),
    (6, "six seis sechs"), (7, "seven siete sept sieben"), (8, "eight ocho huit acht"),
    (9, "nine nueve neuf neun"), (10, "ten diez dix zehn"), (11, "eleven once onze elf"),
    (12, "twelve doce douze zwölf"), (13, "thirteen trece treize dreizehn"),
    (14, "fourteen catorce quatorze vierzehn"), (15, "fifteen quince quinze fünfzehn"),
    (16, "sixteen dieciséis seize sechzehn"), (17, "seventeen diecisiete siebzehn"),
    (18, "eighteen dieciocho achtzehn"), (19, "nineteen diecinueve neunzehn"),
    (20, "twenty veinte vingt vingts zwanzig"), (21, "veintiuno veintiún veintiuna"),
    (22, "veintidós"), (23, "veintitrés"), (24, "veinticuatro"), (25, "veinticinco"), (26, "veintiséis"),
    (27, "veintisiete"), (28, "veintiocho"), (29, "veintinueve"),
    (30, "thirty treinta trente dreißig dreissig"), (40, "forty cuarenta quarante vierzig"),
    (50, "fifty cincuenta cinquante fünfzig"), (60, "sixty sesenta soixante sechzig"),
    (70, "seventy setenta siebzig"), (80, "eighty ochenta quatre-vingt quatre-vingts achtzig"),
    (90, "ninety noventa neunzig"), (100, "cien ciento"),
    (200, "doscientos doscientas"), (300, "trescientos trescientas"),
    (400, "cuatrocientos cuatrocientas"), (500, "quinientos quinientas"),
    (600, "seiscientos seiscientas"), (700, "setecientos setecientas"),
    (800, "ochocientos ochocientas"), (900, "novecientos novecientas"),
    # Italian (compounds are one word, read by `_italian`) and Portuguese ("um", "uma" are left out:
    # English transcripts are full of "um")
    (2, "due duas dois"), (3, "tre três"), (4, "quattro"), (5, "cinque"), (6, "sei"), (7, "sette sete"),
    (8, "otto oito"), (9, "nove"), (10, "dieci dez"), (11, "undici"), (12, "dodici doze"),
    (13, "tredici treze"), (14, "quattordici"), (15, "quindici"), (16, "sedici dezasseis dezesseis"),
    (17, "diciassette dezassete dezessete"), (18, "diciotto dezoito"), (19, "diciannove dezanove dezenove"),
    (20, "venti vinte"), (30, "trenta trinta"), (40, "quaranta quarenta"), (50, "cinquanta cinquenta"),
    (60, "sessanta sessenta"), (70, "settanta"), (80, "ottanta oitenta"), (90, "novanta"),
    (100, "cento cem"), (200, "duzentos duzentas"), (300, "trezentos trezentas"),
    (400, "quatrocentos quatrocentas"), (500, "quinhentos quinhentas"), (600, "seiscentos seiscentas"),
    (700, "setecentos setecentas"), (800, "oitocentos oitocentas"), (900, "novecentos novecentas"),
)  # fmt: skip
# Multipliers: "two hundred", "quatre cents", "zwei tausend". "cent(s)" only after a unit below ten,
# so that English "fifty cents" stays fifty.
SCALES = _numbered((100, "hundred cent cents hundert"), (1000, "thousand mil mille tausend mila"))
JOINERS = {"and", "y", "et", "und", "e"}
ARTICLES = {"one", "uno", "una", "un", "une", "ein", "eine"}  # mostly an article or a pronoun


def number_word(word: str) -> int | None:
    """The value of one spelled number word, compounds included; None when it is not one."""
    w = word.lower()
    if w in UNITS:
        return UNITS[w]
    if "-" in w:  # fifty-five, dix-neuf, quatre-vingt-dix, soixante-et-onze
        parts = [p for p in re.split(r"(?<!quatre)-", w) if p not in JOINERS]
        values = [UNITS.get(p) for p in parts]
        return sum(v for v in values if v is not None) if parts and None not in values else None
    return (_german(w) or _italian(w)) if w.isalpha() else None


def _german(w: str) -> int | None:
    """German writes a number as one word: einundzwanzig, zweihundertfünfzig, eintausendvierhundert."""
    for scale, word in ((1000, "tausend"), (100, "hundert")):
        if word in w:
            head, _, tail = w.partition(word)
            times = _german(head) if head else 1
            rest = _german(tail) if tail else 0
            return None if times is None or rest is None else times * scale + rest
    if "und" in w:
        unit, _, tens = w.partition("und")
        u, t = UNITS.get(unit), UNITS.get(tens)
        return None if u is None or t is None or not 20 <= t <= 90 else u + t
    return UNITS.get(w)


_ITALIAN_TENS = _words("venti trenta quaranta cinquanta sessanta settanta ottanta novanta")
_ITALIAN_UNITS = {w: UNITS[w] for w in _words("uno due tre quattro cinque sei sette otto nove")} | {"tré": 3}


def _italian(w: str) -> int | None:
    """Italian writes a number as one word too: ventidue, trentotto, centoventi, milleduecento, duemila."""
    if w in UNITS:
        return UNITS[w]
    for scale, word in ((1000, "mila"), (1000, "mille"), (100, "cento")):
        if word in w:
            head, _, tail = w.partition(word)
            times = _italian(head) if head else 1
            rest = _italian(tail) if tail else 0
            if times is None or rest is None or (word == "mila" and times < 2) or rest >= scale:
                return None
            return times * scale + rest
    for tens in _ITALIAN_TENS:
        for stem in (tens, tens[:-1]):  # "ventuno", "trentotto": the vowel goes before uno and otto
            unit = w.removeprefix(stem) if w.startswith(stem) else None
            if unit in _ITALIAN_UNITS and (stem != tens or unit not in ("uno", "otto")):
                return UNITS[tens] + _ITALIAN_UNITS[unit]
    return None


MONTHS = _words(
    "january february march april may june july august september october november december "
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre "
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre "
    "januar februar märz april mai juni juli august september oktober november dezember "
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre "
    "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro"
)
WEEKDAYS = _words(
    "monday tuesday wednesday thursday friday saturday sunday "
    "lunes martes miércoles jueves viernes sábado domingo "
    "lundi mardi mercredi jeudi vendredi samedi dimanche "
    "montag dienstag mittwoch donnerstag freitag samstag sonntag "
    "lunedì martedì mercoledì giovedì venerdì sabato domenica lunedi martedi mercoledi giovedi venerdi "
    "segunda-feira terça-feira quarta-feira quinta-feira sexta-feira sábado domingo terça"
)
COLOURS = _words(
    "red orange yellow green blue purple violet pink brown black white grey gray beige navy teal "
    "graphite silver gold cream ivory "
    "rojo roja naranja amarillo amarilla verde azul morado morada rosa marrón negro negra blanco "
    "blanca gris crema plateado dorado "
    "rouge jaune vert verte bleu bleue rose noir noire blanc blanche grise argenté doré crème "
    "rot gelb grün blau lila braun schwarz weiß weiss grau silber golden "
    "rosso rossa arancione giallo gialla blu azzurro azzurra viola marrone nero nera bianco bianca "
    "grigio grigia argento oro "
    "vermelho vermelha laranja amarelo amarela roxo roxa castanho marrom preto preta branco branca "
    "cinzento cinzenta cinza prateado dourado"
)
MATERIALS = _words(
    "oak pine walnut wood wooden marble granite quartz slate brass chrome copper steel iron glass "
    "concrete laminate tile tiles leather linen cotton wool silk velvet bamboo ceramic porcelain "
    "madera roble mármol granito acero hierro cristal vidrio cuero lino algodón lana seda cerámica "
    "chêne pin noyer bois marbre granit ardoise laiton cuivre acier fer verre béton carrelage cuir lin "
    "coton laine soie velours bambou céramique porcelaine "
    "eiche kiefer nussbaum holz marmor quarz schiefer messing kupfer stahl eisen glas beton fliesen "
    "leder leinen baumwolle wolle seide samt bambus keramik porzellan "
    "legno rovere noce marmo acciaio ferro vetro cuoio pelle cotone seta velluto ottone rame ceramica "
    "madeira carvalho mármore aço vidro couro linho algodão lã latão cobre cerâmica"
)
# Capitalised words that start sentences or are pronouns, not names
NOT_NAMES = set(
    _words(
        "i i'm i've i'll i'd ok okay so and but or hi hello hey yes yeah no well oh um uh right "
        "sure thanks thank please sorry great good fine also then now we we're our my it it's that "
        "this the a an there they he she you your what when where which who how why let can could "
        "would will just actually maybe perfect lovely cool alright "
        "hola sí si bueno vale gracias pues entonces también perdón claro genial el la los las un una "
        "mi mis nuestro nuestra y o pero que qué cuando dónde "
        "bonjour merci oui non alors donc mais ou et je j'ai c'est ce cette ça il elle nous vous ils "
        "elles le les une mon ma mes notre votre très bien parfait bon ah euh voilà aussi d'accord "
        "hallo danke bitte ja nein also und aber oder dann der die das ein eine ich du er sie es wir "
        "ihr mein meine unser gut genau super auch "
        "ciao buongiorno buonasera grazie prego allora quindi ma io noi voi lui lei loro il lo gli mio "
        "nostro nostra che cosa quando dove perfetto bene certo anche poi ecco va "
        "olá oi obrigado obrigada sim não então mas eu nós você vocês ele ela o os as um meu minha nosso "
        "nossa quando onde perfeito bem também depois pois "
        "assistant user asistente usuario assistante utilisateur assistent nutzer summary resumen résumé "
        "zusammenfassung"
    )
)
# Where case cannot tell a name from a noun (German), the words before it can: "Herr Okonjo",
# "namens Bruno", "mein Name ist Katharina Vogt"; up to three capitalised words follow.
NAME_CUE = re.compile(
    r"\b(?:Herrn?|Frau|Dr\.?|namens|hei(?:ß|ss)(?:e|t|en)|Name ist|name is|called|named)"
    r"\s+((?:[A-ZÄÖÜ][\w'’-]+\s?){1,3})"
)
HISTORY_WORDS = ("was", "previously", "originally", "from", "antes", "era", "avant", "vorher", "früher")

CORRECTION = re.compile(
    r"\b(actually|make it|change (?:it|that)|instead|rather|correction|scratch that|i meant|not .{1,40} but"
    r"|switch(?:ed)? to|move (?:it|that) to|update"
    r"|en realidad|mejor|cambia|cambiar|en vez de|en lugar de|perdón|quise decir|corrijo|no .{1,40} sino"
    r"|en fait|plutôt|finalement|au lieu de|je voulais dire|pas .{1,40} mais|changez|changer|corrige"
    r"|eigentlich|stattdessen|lieber|doch lieber|ich meinte|nicht .{1,40} sondern|ändern|korrigiere"
    r"|anzi|in realtà|invece|piuttosto|meglio|cambiare|volevo dire|correggo|non .{1,40} ma"
    r"|na verdade|aliás|em vez de|ao invés de|melhor|muda|mudar|quis dizer|não .{1,40} mas"
    r"|^\W*(?:not|pas|nicht) )\b",  # "Not the twelfth, the nineteenth."
    re.IGNORECASE,
)
ASSISTANT_CHANGE = re.compile(  # the assistant says it applied a change or booked: its value wins
    r"\b(moved|changed|rebooked|updated|switched|instead|the earliest|the latest|booked you|put you down"
    r"|lo cambio|he cambiado|cambiado|movido|en su lugar|le he puesto|le he reservado|le he apuntado"
    r"|c'est changé|j'ai changé|changé|déplacé|modifié|au plus tôt|je vous ai inscrit|j'ai réservé"
    r"|geändert|verschoben|umgebucht|stattdessen|frühestens|eingetragen|gebucht"
    r"|ho spostato|ho cambiato|spostato|cambiato|ho prenotato|ho segnato|invece"
    r"|mudei|alterei|remarquei|reservei|anotei|mudado|alterado|em vez disso)\b",
    re.IGNORECASE,
)
CURRENCY_WORDS = {
    "euro", "euros", "pound", "pounds", "quid", "dollar", "dollars", "dólares", "libras", "francs", "franken",
    "sterline", "dollari", "reais", "franchi",
}  # fmt: skip
NEGATION = re.compile(
    r"\b(?:not|no|instead of|en vez de|en lugar de|pas|au lieu de|nicht|statt|non|invece di|anziché|não"
    r"|ao invés de)\s+(\S+(?:\s+\S+)?)",
    re.IGNORECASE,
)
CHIT_CHAT = re.compile(
    r"(as an? (?:\w+ ){0,3}(?:ai|assistant|bot)|i'?m sorry|happy to help|let me know|how can i help|"
    r"glad (?:you|to)|you're welcome|no problem|enjoy your|have a (?:great|nice)|encantad|con gusto|"
    r"avec plaisir|je vous en prie|bonne journée|gern geschehen|schönen tag|con piacere|buona giornata|"
    r"com prazer|tenha um bom dia)",
    re.IGNORECASE,
)
INTERJECTION = re.compile(
    r"^(oof|hmm+|ha+|oh|ah|brilliant|makes sense|lovely|great|okay|ok|right|perfect|sure|yes|yeah|no|"
    r"thanks?(?: you)?|cheers|wow|vale|genial|perfecto|claro|gracias|bueno|vaya|"
    r"parfait|d'accord|merci|oui|super|genau|danke|ja|prima|va bene|perfetto|grazie|certo|ecco|"
    r"obrigad[oa]|perfeito|tudo bem)\W*$",
    re.IGNORECASE,
)
