"""The model-independent summary guarantees (voicenb.summary_guard)."""

import json
from pathlib import Path

import pytest

from voicenb.summary_guard import guard, mentions, superseded_values, tokens, user_facts
from voicenb.tools.eval import load_conversation, score_facts

DATA = Path(__file__).parent / "data" / "conversations"

BOOKING = [
    ("user", "Hi, I'd like a table for four on Friday at 7:30, under the name Priya."),
    ("assistant", "A table for four on Friday at 7:30 for Priya. Anything else?"),
    ("user", "One of us is vegetarian, and we'd love a table by the window."),
    ("assistant", "Noted, vegetarian and a window table."),
    ("user", "Actually, make it five people."),
    ("assistant", "Five people, no problem."),
]


def test_spelled_numbers_become_values():
    assert [t for t, _ in tokens("twelve thousand pounds")] == ["12000", "pounds"]
    assert [t for t, _ in tokens("unos ciento veinte invitados")] == ["unos", "120", "invitados"]
    assert [t for t, _ in tokens("nueve mil euros")] == ["9000", "euros"]
    assert mentions("Budget: £15,000", "15000") and not mentions("Budget: 150", "15")


def test_user_facts_finds_numbers_times_days_and_names_but_not_sentence_starters():
    facts = {f.value: f.kind for f in user_facts(BOOKING)}
    assert facts["4"] == "number" and facts["7:30"] == "time" and facts["friday"] == "weekday"
    assert facts["priya"] == "name"
    assert "hi" not in facts and "actually" not in facts and "one" not in facts


def test_a_correction_supersedes_the_closest_earlier_value_of_its_kind():
    assert superseded_values(BOOKING) == {"4": "5"}
    spanish = [
        ("user", "Unos ciento veinte invitados, más o menos."),
        ("assistant", "Perfecto."),
        ("user", "Hay cinco invitados veganos."),
        ("assistant", "Apuntado."),
        ("user", "Perdón, en realidad serán ciento cuarenta invitados."),
    ]
    assert superseded_values(spanish) == {"120": "140"}


def test_a_value_restated_after_the_correction_is_current_again():
    turns = [*BOOKING, ("user", "Sorry, four after all, one cancelled. Four people.")]
    assert "4" not in superseded_values(turns)


def test_latest_value_wins_and_chit_chat_goes():
    model_summary = "\n".join([
        "- Table for four on Friday at 7:30, name Priya.",
        "- Party size: 5 (previously 4)",
        "Assistant: But as a table booking AI.",
        "- I'm sorry for your loss.",
    ])  # fmt: skip
    result = guard(model_summary, BOOKING, None, budget_tokens=200)
    assert "AI" not in result.text and "sorry" not in result.text.lower()
    assert result.superseded == {"4": "5"}
    for line in result.text.splitlines():  # the old value is gone, or explicitly marked replaced
        assert not mentions(line, "4") or "replaced: now 5" in line or "4 → 5" in line, line
    assert "previously" not in result.text  # "5 (previously 4)": the history clause is cut
    assert mentions(result.text, "5") and "7:30" in result.text and "Priya" in result.text
    assert result.removed_lines == ["Assistant: But as a table booking AI.", "- I'm sorry for your loss."]


def test_missing_user_facts_are_appended_in_the_users_words():
    result = guard("- A table on Friday for Priya.", BOOKING, None, budget_tokens=200)
    assert "7:30" in result.text and mentions(result.text, "5")
    assert "7:30" in result.added and "5" in result.added
    assert result.dropped == []


def test_a_note_from_a_long_sentence_keeps_what_was_said_about_the_value():
    turn = (
        "user",
        "Honestly the one thing my husband keeps repeating, over and over again, is that he does not want "
        "a hotel anywhere near Montmartre because of the crowds and the noise late at night in summer.",
    )
    result = guard("- A hotel in Paris.", [turn], None, budget_tokens=200)
    assert "montmartre" in result.added
    assert "does not want a hotel anywhere near Montmartre" in result.text


def test_facts_of_the_previous_summary_are_kept():
    previous = "- The user's dog is called Biscuit and weighs 19 kilos."
    result = guard("- Appointment on Wednesday.", [("user", "Wednesday works.")], previous, 200)
    assert "Biscuit" in result.text and "19" in result.text


def test_the_floor_lifts_the_budget_and_reports_what_it_could_not_hold():
    many = [("user", f"Reference number {n} belongs to order {n + 1000}.") for n in range(40)]
    lifted = guard("- orders", many[:3], None, budget_tokens=5)
    assert all(mentions(lifted.text, str(n)) for n in range(3)) and lifted.dropped == []
    squeezed = guard("- orders", many, None, budget_tokens=20, max_floor_tokens=60)
    assert squeezed.dropped, "over the ceiling some facts must go, and be reported"
    assert mentions(squeezed.text, "39")  # the oldest go first


@pytest.mark.parametrize("path", sorted(DATA.glob("*.json")), ids=lambda p: p.stem)
def test_guard_alone_lifts_fact_survival_of_an_empty_summary(path):
    """With a useless summary the guard's notes still carry the hard facts (numbers, dates, names);
    plain content words are the model's job."""
    conv = load_conversation(path)
    raw = json.loads(path.read_text())
    turns = [(t["role"], t["text"]) for t in raw["turns"]]
    folded, kept = turns[:-4], [t for _, t in turns[-4:]]
    result = guard("- (nothing)", folded, None, budget_tokens=300)
    scored = score_facts([result.text, *kept], conv.facts)
    said_by_user = {
        f.id for f in conv.facts if raw["turns"][f.turn]["role"] == "user"
    }  # what the guard covers
    hard = [
        r
        for r in scored
        if r.kind in ("number", "date", "time", "name", "correction") and r.id in said_by_user
    ]
    assert sum(r.survived for r in hard) / len(hard) >= 0.8, result.text
    assert not any(r.superseded_flag for r in scored), result.text


def test_previous_summary_bullets_and_interjections_do_not_pile_up():
    previous = "- Dinner on Thursday at 8 o'clock on the terrace.\n- Oof.\n- Hmm."
    turns = [("user", "Actually, can we move the dinner to 7:30 instead?"), ("assistant", "Done.")]
    result = guard("- Dinner moved.\n- Brilliant.", turns, previous, budget_tokens=200)
    assert "Brilliant" not in result.text and "Oof" not in result.text
    assert all(not line.startswith("- -") for line in result.text.splitlines()), result.text
    assert result.superseded == {"8": "7:30"} and "7:30" in result.text


def test_replacements_are_carried_into_the_next_fold():
    first = guard("- Table for 5 on Friday.", BOOKING, None, budget_tokens=200)
    assert "4 → 5" in first.text
    later = [("user", "Could we also have a high chair?"), ("assistant", "Of course.")]
    second = guard("- Table for four on Friday.\n- High chair.", later, first.text, budget_tokens=200)
    assert second.superseded == {"4": "5"} and "4 → 5" in second.text
    assert all(not mentions(ln, "4") or "now 5" in ln or "→ 5" in ln for ln in second.text.splitlines())


def test_sentence_initial_words_are_names_only_when_written_capitalised_elsewhere():
    turns = [
        ("user", "Queremos mesas redondas."),
        ("assistant", "Claro, Carmen."),
        ("user", "Carmen Ruiz, sí."),
    ]
    names = {f.value for f in user_facts(turns) if f.kind == "name"}
    assert "carmen" in names and "queremos" not in names


def test_fact_lines_the_model_dropped_from_the_previous_summary_come_back():
    # (a capitalised first word of a summary line counts as a name, so the factless line is lower case)
    previous = (
        "- Lucía es celíaca: todo sin gluten, con arroz negro de plato principal.\n- el jardín es bonito."
    )
    result = guard("- Mesas redondas.", [("user", "Vale, mesas redondas.")], previous, budget_tokens=200)
    assert "arroz negro" in result.text and "Lucía" in result.text
    assert "jardín" not in result.text  # no fact in it: the model may drop it


def test_references_and_amounts_the_assistant_gave_are_kept():
    turns = [
        ("user", "The machine leaks."),
        ("assistant", "Your case reference is CS-77104, and I've added a £40 credit."),
    ]
    result = guard("- Machine leaks.", turns, None, budget_tokens=200)
    assert "CS-77104" in result.text and "£40" in result.text


def test_a_time_and_a_name_the_assistant_booked_are_kept_and_its_own_change_wins():
    turns = [
        ("user", "Can you book us somewhere nice for dinner on Thursday?"),
        ("assistant", "There's a seafood place on the marina called O Cantinho do Mar."),
        ("user", "Yes please."),
        ("assistant", "They have a table for two at 8 o'clock on the Thursday, out on the terrace."),
        ("user", "Could we move that dinner a bit earlier?"),
        ("assistant", "The earliest they can do is 7:30, same table, so I've moved the booking."),
    ]
    result = guard("- Dinner on Thursday.", turns, None, budget_tokens=200)
    assert "Cantinho" in result.text and "7:30" in result.text
    assert result.superseded == {"8": "7:30"}  # the booking moved: 8 o'clock is no longer true
    assert all("8 o'clock" not in line for line in result.text.splitlines() if "Replaced" not in line)


def test_a_line_that_still_states_the_old_value_states_the_new_one():
    """A 1.5B reading "on Tuesday (replaced: now Thursday)" answered Tuesday: the line is rewritten."""
    turns = [("user", "Can he come on Tuesday?"), ("assistant", "I've moved the visit to Thursday.")]
    result = guard("- The technician comes on Tuesday at 8:30.", turns, None, budget_tokens=200)
    assert "- The technician comes on Thursday at 8:30." in result.text.splitlines()
    assert "tuesday → thursday" in result.text  # the change itself stays on record
