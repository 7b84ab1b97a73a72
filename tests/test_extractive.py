"""The offline summariser's extraction: facts kept, fillers dropped, corrections win under a budget."""

from __future__ import annotations

from collections import Counter

from voicenb import extractive
from voicenb.extractive.choosing import _value
from voicenb.summarisers import ExtractiveSummariser
from voicenb.tokens import count_text_tokens

DINNER = [
    ("user", "Um, hi, yeah, we'd like a table for two for our anniversary, it's under Harcourt."),
    ("assistant", "Lovely. We have a table at 8 o'clock on Thursday, out on the terrace. Does that work?"),
    ("user", "Perfect, book that one."),
    ("assistant", "Done. The weather is usually warm here in July, with a sea breeze in the evening."),
    ("user", "Oh, actually, could we move the table a bit earlier? The kids go to bed early."),
    ("assistant", "Of course, the earliest they can do is 7:30, same table on the terrace, I've moved it."),
    ("user", "Great, thanks. Honestly, the dog has been barking all morning, sorry about that."),
]


def summarise(turns, previous=None, budget=2000):
    return ExtractiveSummariser().summarise_sync(turns, previous, budget)


def test_keeps_facts_drops_fillers_thanks_and_questions():
    text = summarise(DINNER)
    for fact in ("Harcourt", "7:30", "terrace"):
        assert fact in text
    assert "Um," not in text and "Does that work?" not in text and "- Assistant: Lovely." not in text
    assert text.index("8 o'clock") < text.index("7:30")  # the change reads last: the latest value wins


def test_under_a_tight_budget_the_superseded_value_goes_before_the_current_one():
    text = summarise(DINNER, budget=70)
    assert count_text_tokens(text) <= 70
    assert "7:30" in text and "Harcourt" in text
    assert "8 o'clock" not in text or text.index("8 o'clock") < text.index("7:30")  # never after the change


def test_general_information_is_worth_less_than_what_was_settled_for_the_caller():
    turns = [
        ("assistant", "The museum opens at 9:30 on Sundays."),
        ("assistant", "I've booked you in at 9:30 on Sunday."),
    ]
    general, settled = extractive.extract(turns, [], extractive.Reader("en"))
    assert general.generic and not settled.generic
    counts = Counter(["9:30", "sundays", "sunday"])
    assert _value(general, counts) < _value(settled, counts)


def test_an_offer_the_user_took_is_marked_and_survives_the_next_fold():
    first = summarise(DINNER[:3])
    assert "Thursday on the terrace" not in first and "on Thursday, out on the terrace. (agreed)" in first
    notes = extractive.parse_summary(first, extractive.Reader("en"))
    assert any(n.agreed and n.role == "assistant" for n in notes)
    second = summarise([("user", "And my mobile is 07700 900123.")], first)
    assert "Thursday" in second and "07700 900123" in second and second.count(extractive.AGREED.strip()) == 1


def test_rolling_summaries_stay_within_budget_and_keep_early_codes():
    summary = None
    for k in range(30):
        turns = [("user", f"Chapter {k}: the locker code is {1000 + k} and my friend Zed{k} has the key."),
                 ("assistant", "Noted.")]  # fmt: skip
        summary = summarise(turns, summary, budget=150)
        assert count_text_tokens(summary) <= 150
    assert "1029" in summary  # the latest values are kept


def test_capitalised_sentence_starts_are_names_only_when_written_so_elsewhere():
    how = extractive.reader(["we were thinking", "we could meet in Bristol"], "en")
    assert extractive.hard_facts("Brilliant.", how) == {}
    assert extractive.hard_facts("Thinking about it, Gwen has the dog.", how) == {"gwen": "name"}
    assert "bristol" in extractive.hard_facts("Bristol's easiest for us.", how)


def test_spanish_dietary_need_and_numbers_are_kept():
    turns = [("user", "Vale. Mi marido es celíaco, ¿el desayuno tiene opciones sin gluten?"),
             ("assistant", "Sí, su localizador es SVQ-3390.")]  # fmt: skip
    text = summarise(turns)
    assert "celíaco" in text and "SVQ-3390" in text
