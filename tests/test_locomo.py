"""LoCoMo read directly (voicenb.tools.eval.locomo): the mapping, the probes, and its token F1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicenb.tools.eval import ConversationError, load_conversation, locomo, token_f1

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "locomo"

SAMPLE = {  # the published shape: one sample with its conversation and QA (written for this test)
    "sample_id": "conv-x",
    "conversation": {
        "speaker_a": "Ana", "speaker_b": "Ben",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ben", "dia_id": "D1:1", "text": "Hi Ana!"},
            {"speaker": "Ana", "dia_id": "D1:2", "text": "Hi! I adopted a cat yesterday."},
            {"speaker": "Ana", "dia_id": "D1:3", "text": "Her name is Miso.", "blip_caption": "a grey cat"},
            {"speaker": "Ben", "dia_id": "D1:4", "text": "Lovely."},
        ],
        "session_2_date_time": "9:00 am on 20 May, 2023",
        "session_2": [
            {"speaker": "Ben", "dia_id": "D2:1", "text": "How is Miso?"},
            {"speaker": "Ana", "dia_id": "D2:2", "text": "Great, she sleeps all day."},
        ],
    },
    "qa": [
        {"question": "When did Ana adopt it?", "answer": "7 May 2023", "evidence": ["D1:2"], "category": 2},
        {"question": "What is it called?", "answer": "Miso.", "evidence": ["D1:3", "D2:1"], "category": 4},
        {"question": "Does Ana like cats?", "answer": "Yes", "evidence": ["D1:2"], "category": 1},
        {"question": "What pets?", "answer": "a cat, a dog", "evidence": ["D1:2"], "category": 1},
        {"question": "Why a cat?", "answer": "company", "evidence": ["D1:2"], "category": 3},
        {"question": "What does Miso do all day?", "answer": "sleeps", "evidence": ["D2:2"], "category": 1},
    ],
}  # fmt: skip


@pytest.fixture
def sample_path(tmp_path):
    path = tmp_path / "locomo_sample.json"
    path.write_text(json.dumps(SAMPLE))
    return path


def test_speaker_a_is_the_user_and_sessions_open_with_their_date(sample_path):
    conv = load_conversation(sample_path)
    assert conv.name == "locomo_ana_ben"
    assert conv.turns == [
        ("user", locomo.PLACEHOLDER),
        ("assistant", "[1:56 pm on 8 May, 2023] Hi Ana!"),
        ("user", "Hi! I adopted a cat yesterday. Her name is Miso. (shares a photo: a grey cat)"),
        ("assistant", "Lovely. [9:00 am on 20 May, 2023] How is Miso?"),  # one speaker's turns join
        ("user", "Great, she sleeps all day."),
    ]


def test_probes_are_one_item_answers_of_categories_1_2_4_with_date_variants(sample_path):
    facts = load_conversation(sample_path).facts
    assert [(f.id, f.turn) for f in facts] == [("q0_c2", 2), ("q1_c4", 3), ("q5_c1", 4)]
    assert facts[0].answers == ("7 May 2023", "May 7", "May 7 2023", "May 7, 2023")
    assert facts[1].answers == ("Miso",)


def test_the_first_turns_keep_the_facts_whose_evidence_lies_there(sample_path):
    conv = load_conversation(sample_path, first_turns=3)
    assert len(conv.turns) == 3 and [(f.id, f.turn) for f in conv.facts] == [("q0_c2", 2), ("q1_c4", 2)]


def test_at_most_max_facts_spread_evenly(sample_path, monkeypatch):
    monkeypatch.setattr(locomo, "MAX_FACTS", 2)
    assert [f.id for f in load_conversation(sample_path).facts] == ["q0_c2", "q1_c4"]


def test_a_file_of_many_samples_or_a_broken_sample_is_one_line_error(tmp_path):
    many = tmp_path / "locomo10.json"
    many.write_text(json.dumps([SAMPLE, SAMPLE]))
    with pytest.raises(ConversationError, match="2 LoCoMo samples"):
        load_conversation(many)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"speaker_a": "Ana", "speaker_b": "Ben", "session_1": [{"text": "hi"}]}))
    with pytest.raises(ConversationError, match="not a LoCoMo sample"):
        load_conversation(broken)


@pytest.mark.parametrize("name", ["locomo_conv30", "locomo_conv42"])
def test_the_published_json_reads_as_the_shared_converted_files(name):
    for first, suffix in ((None, ""), (160, "_160")):
        conv = load_conversation(SHARED / f"{name}.original.json", first)
        ref = json.loads((SHARED / f"{name}{suffix}.json").read_text())
        assert conv.turns == [(t["role"], t["text"]) for t in ref["turns"]]
        expected = [(f["id"], f["turn"], f["question"], tuple(f["answers"])) for f in ref["facts"]]
        assert [(f.id, f.turn, f.question, f.answers) for f in conv.facts] == expected


def test_token_f1_gives_partial_credit_and_ignores_articles_and_case():
    assert token_f1("Contemporary!", "contemporary") == 1.0
    assert token_f1("It was on 7 May 2023, I think", "7 May 2023") == pytest.approx(2 * (3 / 8) / (3 / 8 + 1))
    assert token_f1("The Lean Startup", "the lean startup") == 1.0
    assert token_f1("no idea", "Rome") == 0.0
