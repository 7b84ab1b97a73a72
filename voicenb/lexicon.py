"""The words the fact reader (`voicenb.facts`) needs, keyed by language: calendar words, the words
said about money, and the function words that start sentences (not names) and tell languages apart.
Pure data. Number words are not here: `text2num` reads them (en, es, fr, de, it, pt, nl, da).

Each language has its own lists, never a union: English "may" and "march" are a verb and a month,
and a French or Spanish word must not turn an English sentence into a date.
"""

from __future__ import annotations

LANGUAGES = ("en", "es", "fr", "de", "it", "pt")


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


MONTHS = {
    "en": _w("january february march april may june july august september october november december"),
    "es": _w("enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"),
    "fr": _w("janvier février mars avril mai juin juillet août septembre octobre novembre décembre"),
    "de": _w("januar februar märz april mai juni juli august september oktober november dezember"),
    "it": _w("gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre"),
    "pt": _w("janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro"),
}
# Month names that are also everyday words: a month only when capitalised or next to a number
# ("I may call you in March" holds one date; "we march on the 10th" none).
COMMON_WORD_MONTHS = {"en": {"may", "march"}}
WEEKDAYS = {  # Monday first
    "en": _w("monday tuesday wednesday thursday friday saturday sunday"),
    "es": _w("lunes martes miércoles jueves viernes sábado domingo"),
    "fr": _w("lundi mardi mercredi jeudi vendredi samedi dimanche"),
    "de": _w("montag dienstag mittwoch donnerstag freitag samstag sonntag"),
    "it": _w("lunedì martedì mercoledì giovedì venerdì sabato domenica"),
    "pt": _w("segunda-feira terça-feira quarta-feira quinta-feira sexta-feira sábado domingo"),
}
# What a thing looks like and is made of: plain facts a summary must keep ("manteles de color crema").
# English leaves out its verbs ("iron out", "pin it"): a word is a material only in its own language.
COLOURS = {
    "en": _w("red orange yellow green blue purple violet pink brown black white grey gray beige navy teal "
             "graphite silver gold cream ivory"),
    "es": _w("rojo roja naranja amarillo amarilla verde azul morado morada rosa marrón negro negra blanco "
             "blanca gris crema plateado dorado"),
    "fr": _w("rouge jaune vert verte bleu bleue rose noir noire blanc blanche gris grise argenté doré crème"),
    "de": _w("rot gelb grün blau lila braun schwarz weiß weiss grau silber golden"),
    "it": _w("rosso rossa arancione giallo gialla blu azzurro azzurra viola marrone nero nera bianco bianca "
             "grigio grigia argento oro"),
    "pt": _w("vermelho vermelha laranja amarelo amarela roxo roxa castanho marrom preto preta branco branca "
             "cinzento cinzenta cinza prateado dourado"),
}  # fmt: skip
MATERIALS = {
    "en": _w("oak pine walnut wood wooden marble granite quartz slate brass chrome copper steel glass "
             "concrete laminate tile tiles leather linen cotton wool silk velvet bamboo ceramic porcelain"),
    "es": _w("madera roble mármol granito acero hierro cristal vidrio cuero lino algodón lana seda cerámica"),
    "fr": _w("chêne noyer bois marbre granit ardoise laiton cuivre acier fer verre béton carrelage cuir "
             "coton laine soie velours bambou céramique porcelaine"),
    "de": _w("eiche kiefer nussbaum holz marmor quarz schiefer messing kupfer stahl eisen glas beton fliesen "
             "leder leinen baumwolle wolle seide samt bambus keramik porzellan"),
    "it": _w("legno rovere noce marmo acciaio ferro vetro cuoio pelle cotone seta velluto ottone rame "
             "ceramica"),
    "pt": _w("madeira carvalho mármore aço vidro couro linho algodão lã latão cobre cerâmica"),
}  # fmt: skip
# Days said relative to the day they are said on: stored as dates against the turn's own day.
RELATIVE_DAYS = {
    "en": {"yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1},
    "es": {"ayer": -1, "hoy": 0, "mañana": 1, "anteayer": -2, "pasado mañana": 2},
    "fr": {"hier": -1, "aujourd'hui": 0, "demain": 1, "avant-hier": -2, "après-demain": 2},
    "de": {"gestern": -1, "heute": 0, "morgen": 1, "vorgestern": -2, "übermorgen": 2},
    "it": {"ieri": -1, "oggi": 0, "domani": 1, "dopodomani": 2},
    "pt": {"ontem": -1, "hoje": 0, "amanhã": 1, "anteontem": -2},
}
# A relative-day word that is also a noun after these words: "por la mañana" is the morning.
RELATIVE_DAY_NOUN_AFTER = {"es": {"la", "las", "esta"}, "de": {"am", "jeden", "den", "der"}}
# "next Friday", "last Tuesday": the weekday after (+1) or before (-1) the turn's day.
WEEKDAY_STEP = {
    "en": {"next": 1, "this": 1, "coming": 1, "last": -1},
    "es": {"próximo": 1, "este": 1, "pasado": -1},
    "fr": {"prochain": 1, "dernier": -1},
    "de": {"nächsten": 1, "nächster": 1, "kommenden": 1, "letzten": -1},
    "it": {"prossimo": 1, "prossima": 1, "scorso": -1, "scorsa": -1},
    "pt": {"próximo": 1, "próxima": 1, "passado": -1, "passada": -1},
}
CURRENCY = {
    "en": {"pound", "pounds", "quid", "dollar", "dollars", "euro", "euros", "p", "pence"},
    "es": {"euro", "euros", "dólar", "dólares", "libra", "libras", "pesos"},
    "fr": {"euro", "euros", "franc", "francs", "dollar", "dollars"},
    "de": {"euro", "euros", "franken", "dollar"},
    "it": {"euro", "dollari", "sterline", "franchi"},
    "pt": {"euro", "euros", "reais", "real", "dólares"},
}
# Words for a thousand that text2num leaves as words ("twenty-five grand" is 25 grand).
MULTIPLIERS = {"en": {"grand": 1000, "k": 1000, "million": 1_000_000}, "es": {"millones": 1_000_000}}
# Words a sentence starts with or that stand for people: never names. They also tell the languages
# apart (`facts.detect_language`), so each list keeps its own language's commonest words.
FUNCTION_WORDS = {
    "en": _w(
        "i i'm i've i'll i'd a an the and but or so of to in on at for with it it's is are was that this "
        "we we're our my you your he she they there what when where which who how why yes no hi hello "
        "oh um uh well okay ok right sure thanks thank please sorry great good fine also then now just "
        "actually maybe perfect lovely cool alright let's can could would will do does did have has not"
    ),
    "es": _w(
        "el la los las un una unos y o pero que qué de del en con por para es está son hay yo tú usted "
        "nosotros mi mis su sus se lo le les no sí hola bueno vale gracias pues entonces también perdón "
        "claro genial muy cuando dónde cómo al como"
    ),
    "fr": _w(
        "le la les un une des et ou mais que qui de du en dans avec pour est sont je j'ai c'est ce cette "
        "il elle nous vous ils elles mon ma mes notre votre oui non bonjour merci alors donc très bien "
        "parfait bon ah euh voilà aussi d'accord pas"
    ),
    "de": _w(
        "der die das den dem ein eine einen und oder aber ist sind ich du er sie es wir ihr mein meine "
        "unser nicht ja nein hallo danke bitte also dann gut genau super auch mit für von zu im am"
    ),
    "it": _w(
        "il lo la gli le un una e o ma che di del della in con per è sono io tu lui lei noi voi mio mia "
        "nostro nostra sì no ciao buongiorno grazie prego allora quindi perfetto bene certo anche poi ecco"
    ),
    "pt": _w(
        "o a os as um uma e ou mas que de do da em com por para é são eu você ele ela nós meu minha "
        "nosso nossa sim não olá obrigado obrigada então também depois pois bem perfeito"
    ),
}
# Where a capital letter does not make a name (German nouns), the words before one can.
NAME_CUES = {"de": {"herr", "herrn", "frau", "dr", "namens", "heiße", "heißt", "heisse"}}
CAPITALISED_NOUNS = {"de"}


LANGUAGE_NAMES = {
    "english": "en", "spanish": "es", "español": "es", "french": "fr", "français": "fr", "german": "de",
    "deutsch": "de", "italian": "it", "italiano": "it", "portuguese": "pt",
}  # fmt: skip


def known(language: str | None) -> str | None:
    """``language`` (a code such as "en-GB" or a name such as "Spanish") as a key of these tables;
    None when it is none of them."""
    name = (language or "").strip().lower()
    code = LANGUAGE_NAMES.get(name, name[:2] if len(name) == 2 or name[2:3] in "-_" else "")
    return code if code in LANGUAGES else None
