"""The fact reader in the four languages the offline engine speaks: spelled numbers, corrections and
names read the same way in English, Spanish, French and German."""

import pytest

from voicenb.facts import superseded_values, tokens, user_facts
from voicenb.summary_guard import guard, mentions


@pytest.mark.parametrize(
    ("spoken", "value"),
    [
        ("a hundred and eighty-five", "185"),
        ("two thousand five hundred", "2500"),
        ("ochocientos setenta y cinco", "875"),
        ("mil cuatrocientos", "1400"),
        ("veintidós", "22"),
        ("mille quatre cents", "1400"),
        ("quatre-vingt-dix", "90"),
        ("soixante-quinze", "75"),
        ("vingt et un", "21"),
        ("dix-neuf", "19"),
        ("zweihundertfünfzig", "250"),
        ("einundzwanzig", "21"),
        ("eintausendvierhundert", "1400"),
        ("ventidue", "22"),
        ("trentotto", "38"),
        ("centoventi", "120"),
        ("milleduecento", "1200"),
        ("duemilacinquecento", "2500"),
        ("oitocentos e cinquenta", "850"),
        ("mil e duzentos", "1200"),
        ("dezanove", "19"),
    ],
)
def test_spelled_numbers_read_as_one_value(spoken, value):
    assert [t for t, _ in tokens(f"it is {spoken} now") if t[:1].isdigit()] == [value]


def test_english_cents_are_not_french_hundreds():
    assert [t for t, _ in tokens("fifty cents")] == ["50", "cents"]
    assert [t for t, _ in tokens("deux cents euros")] == ["200", "euros"]


def test_words_that_only_look_like_numbers_stay_words():
    assert [t for t, _ in tokens("der Hund und der Grund")] == ["der", "hund", "und", "der", "grund"]
    assert [t for t, _ in tokens("settembre centro trentino")] == ["settembre", "centro", "trentino"]
    assert [t for t, _ in tokens("Um, two hundred")] == ["um", "200"]  # English "um" is not Portuguese "um"


@pytest.mark.parametrize(
    ("before", "correction", "old", "new"),
    [
        ("Le budget est de mille euros.", "En fait, plutôt mille deux cents euros.", "1000", "1200"),
        ("Le samedi douze avril.", "Pas le douze, le samedi dix-neuf avril.", "12", "19"),
        ("Das Budget ist tausend Euro.", "Eigentlich lieber zwölfhundert Euro.", "1000", "1200"),
        ("Wir sind vier Personen.", "Nicht vier, sondern fünf Personen.", "4", "5"),
        ("Siamo in otto persone, venerdì dodici settembre.", "Anzi, facciamo dieci persone.", "8", "10"),
        ("O orçamento é de oitocentos euros.", "Na verdade, mil euros.", "800", "1000"),
        ("A reunião é na terça-feira.", "Não terça-feira, mas quinta-feira.", "terça-feira", "quinta-feira"),
    ],
)
def test_french_german_italian_and_portuguese_corrections_supersede(before, correction, old, new):
    assert superseded_values([("user", before), ("user", correction)]).get(old) == new


@pytest.mark.parametrize(
    ("earlier", "correction", "old", "new"),
    [
        ("A floor in a light grey tile.", "We hate chrome, we'd rather have brass.", "chrome", "brass"),
        ("Las paredes en blanco.", "El rojo no me gusta, mejor el azul.", "rojo", "azul"),
        ("Le parquet en chêne.", "Le cuivre, je n'aime pas, plutôt le laiton.", "cuivre", "laiton"),
        ("Las paredes en blanco.", "Perdone, el lunes no puedo, mejor el miércoles.", "lunes", "miércoles"),
        ("The walls in white.", "Not Tuesday, Thursday.", "tuesday", "thursday"),
    ],
)
def test_a_value_the_correction_itself_gives_up_is_the_one_replaced(earlier, correction, old, new):
    replaced = superseded_values([("user", earlier), ("assistant", "Noted."), ("user", correction)])
    assert replaced == {old: new}  # the earlier floor, walls or parquet stay as they are


def test_german_nouns_are_not_names_but_its_numbers_and_days_are_facts():
    turns = [
        ("user", "Ich möchte einen Tisch für vier Personen am Freitag reservieren, bitte am Fenster."),
        ("assistant", "Gern, für welche Uhrzeit soll ich den Tisch am Freitag eintragen?"),
        ("user", "Um sieben Uhr, und meine Mutter braucht einen Platz mit Blick auf den Garten."),
        ("assistant", "Alles klar, ich trage den Tisch für vier Personen um sieben Uhr ein."),
    ]
    facts = user_facts(turns)
    assert {f.value for f in facts if f.kind == "name"} == set()  # Tisch, Fenster, Garten are nouns
    named = [*turns, ("user", "Mein Name ist Katharina Vogt, und unser Hund namens Bruno kommt mit.")]
    assert {f.value for f in user_facts(named) if f.kind == "name"} == {"katharina", "vogt", "bruno"}
    assert {"4", "freitag", "7"} <= {f.value for f in facts}


def test_guard_keeps_french_facts_a_summary_left_out():
    turns = [
        ("user", "Le budget maximum, c'est mille quatre cents euros, pour le samedi dix-neuf avril."),
        ("assistant", "C'est noté."),
    ]
    result = guard("- Déménagement prévu.", turns, None, budget_tokens=200)
    assert mentions(result.text, "1400") and mentions(result.text, "19") and mentions(result.text, "avril")


def test_the_day_the_assistant_books_replaces_the_one_it_offered_and_its_quoted_price_is_kept():
    turns = [
        ("assistant", "Puedo mandar al fontanero, Anselmo, el martes por la mañana. ¿Le viene bien?"),
        ("user", "El martes trabajo. ¿Podría ser el miércoles a las cinco?"),
        ("assistant", "Sí, le he puesto el miércoles a las cinco con Anselmo."),
        ("user", "¿Y el alquiler sube con la renovación?"),
        ("assistant", "Quedaría en ochocientos setenta y cinco euros al mes."),
    ]
    result = guard("- Fontanero: Anselmo.", turns, None, budget_tokens=200)
    assert result.superseded.get("martes") == "miércoles"
    assert mentions(result.text, "875") and mentions(result.text, "miércoles")
