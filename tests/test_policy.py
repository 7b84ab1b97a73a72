from voicenb.policy import Backoff, SummaryPolicy
from voicenb.state import ConversationState


def conversation(statuses):
    """A window of user/assistant turns; statuses: 'c' complete, 'p' pending, 'f' failed."""
    s = ConversationState()
    prev = None
    for n, st in enumerate(statuses):
        role = "user" if n % 2 == 0 else "assistant"
        part = {"type": "input_audio", "transcript": None} if role == "user" else {"type": "output_text"}
        item = {"id": f"i{n}", "type": "message", "role": role, "content": [part]}
        s.on_item_added(item, prev)
        if st == "c":
            s.on_transcript_done(f"i{n}", f"turn {n}")
        elif st == "f":
            s.on_transcript_failed(f"i{n}", "x")
        prev = f"i{n}"
    return s


def test_keeps_last_n_turns_verbatim():
    plan = SummaryPolicy(trigger_tokens=1, keep_last=4).plan(conversation("cccccccc"))
    assert plan.item_ids == ["i0", "i1", "i2", "i3"]


def test_never_summarises_a_pending_transcript():
    plan = SummaryPolicy(trigger_tokens=1, keep_last=2, min_turns=1).plan(conversation("ccpccccc"))
    assert plan.item_ids == ["i0", "i1"]
    assert SummaryPolicy(trigger_tokens=1, keep_last=2).plan(conversation("pccccc")) is None


def test_failed_transcripts_stay_verbatim_but_do_not_block():
    plan = SummaryPolicy(trigger_tokens=1, keep_last=2).plan(conversation("cfcccc"))
    assert plan.item_ids == ["i0", "i2", "i3"]


def test_trigger_and_min_turns():
    s = conversation("cccccc")
    policy = SummaryPolicy(trigger_tokens=1000, keep_last=4, min_turns=3)
    assert not policy.should_summarise(999, s)
    assert not policy.should_summarise(1000, s)  # only 2 turns beyond keep_last
    policy.min_turns = 2
    assert policy.should_summarise(1000, s)


def test_backoff_doubles_and_resets():
    b = Backoff()
    assert b.failed(10, base_s=1, max_s=5) == 1 and not b.ready(10.5) and b.ready(11)
    assert b.failed(11, base_s=1, max_s=5) == 2
    assert b.failed(13, base_s=1, max_s=5) == 4 and b.failed(17, base_s=1, max_s=5) == 5
    b.succeeded()
    assert b.ready(0)


def test_rolling_summary_folds_previous_summary():
    s = conversation("cccccc")
    s.on_item_added({"id": "sum_a", "type": "message", "role": "system",
                     "content": [{"type": "input_text", "text": "old"}]}, "root")  # fmt: skip
    plan = SummaryPolicy(trigger_tokens=1, keep_last=4).plan(s)
    assert plan.previous_summary.id == "sum_a" and plan.item_ids == ["sum_a", "i0", "i1"]
