"""The shared fact reader (voicenb.facts): number words via text2num, word lists keyed by language,
and the senses a flat word list got wrong."""

from __future__ import annotations

from datetime import date

import pytest

from voicenb import lexicon
from voicenb.facts import anchor_dates, detect_language, language_of, session_date, spans


def read(text: str, language: str = "en") -> list[tuple[str, str]]:
    return [(s.value, s.kind) for s in spans(text, language)]


@pytest.mark.parametrize(("text", "language", "value"), [
    ("we said twenty-five grand", "en", ("25000", "amount")),
    ("ciento veinte invitados", "es", ("120", "number")),
    ("à dix-neuf heures", "fr", ("19", "number")),
    ("einundzwanzig Gäste", "de", ("21", "number")),
    ("siamo ventidue persone", "it", ("22", "number")),
    ("vinte e cinco euros", "pt", ("25", "amount")),
    ("it's only two point three five metres", "en", ("2.35", "number")),
    ("our budget is £12,000", "en", ("12000", "amount")),
    ("at 7:30pm", "en", ("7:30pm", "time")),
    ("the reference is HH-30518", "en", ("hh-30518", "code")),
])  # fmt: skip
def test_numbers_in_six_languages_through_text2num(text, language, value):
    assert value in read(text, language)


# Adversarial: each sentence holds exactly these values, no more (a flat six-language word list read
# "may", "march", "pin", "iron" and "no one" as facts).
@pytest.mark.parametrize(("text", "values"), [
    ("I may call you in March.", [("march", "date")]),
    ("Pin it on the board.", []),
    ("Can you iron out the details?", []),
    ("We march in the parade on the 10th.", [("10", "number")]),
    ("No one knows, and one of us will go.", []),
    ("Sure, that's fine by me, thanks.", []),
    ("Oh, um, yeah, I'd rather not.", []),
    ("May is usually drier here.", [("may", "date")]),
    ("Fine, we'll see. Thanks a lot, Will.", [("will", "name")]),
    ("Mañana le confirmo si el portero puede abrir por la mañana.", [("mañana", "date")]),
])  # fmt: skip
def test_homonyms_and_chit_chat_hold_only_what_they_say(text, values):
    assert read(text, "es" if "ñ" in text else "en") == values


def test_a_word_of_another_language_is_not_a_fact():
    assert read("He ate a mars bar on the mar.") == []  # French and Spanish words, English text
    assert read("Llegó el lunes", "es") == [("lunes", "date")] and read("the lunes", "en") == []


def test_colours_and_materials_are_facts_in_their_own_language_only():
    assert read("Manteles crema, con flores rosa.", "es") == [("crema", "colour"), ("rosa", "colour")]
    assert read("Wir wollen Fliesen aus Marmor.", "de") == [("fliesen", "material"), ("marmor", "material")]
    assert read("A walnut worktop and brass handles.") == [("walnut", "material"), ("brass", "material")]
    assert read("Then Rosa brings the pin for the crema.") == [("rosa", "name")]  # es/fr words: none


def test_the_word_lists_are_keyed_by_language_with_no_union():
    for table in (lexicon.MONTHS, lexicon.WEEKDAYS, lexicon.FUNCTION_WORDS, lexicon.RELATIVE_DAYS,
                  lexicon.COLOURS, lexicon.MATERIALS):  # fmt: skip
        assert set(table) == set(lexicon.LANGUAGES)
    assert "may" in lexicon.MONTHS["en"] and "may" not in lexicon.MONTHS["es"]


def test_german_nouns_are_not_names_but_names_after_a_cue_are():
    assert read("Die Heizung im Keller ist kaputt, Herr Okonjo kommt am Dienstag.", "de") == [
        ("okonjo", "name"), ("dienstag", "date"),
    ]  # fmt: skip


def test_the_language_comes_from_the_session_or_the_text():
    assert language_of("Spanish", "hello") == "es" and language_of("fr-FR", "hola") == "fr"
    assert language_of(None, "Buenas tardes, llamo para la mudanza de la oficina") == "es"
    assert detect_language("Hello, I'd like to book a table for two") == "en"


def test_relative_days_get_the_date_of_the_day_they_were_said_on():
    said = date(2023, 5, 8)  # a Monday
    assert anchor_dates("I lost it yesterday.", said, "en") == "I lost it yesterday (7 May 2023)."
    assert anchor_dates("Last Friday and next Friday", said, "en") == (
        "Last Friday (5 May 2023) and next Friday (12 May 2023)"
    )
    assert anchor_dates("Mañana, por la mañana", said, "es") == "Mañana (9 mayo 2023), por la mañana"
    assert anchor_dates("yesterday (7 May 2023)", said, "en") == "yesterday (7 May 2023)"  # once only
    assert session_date("[1:56 pm on 8 May, 2023] Hey") == said and session_date("Hey") is None
