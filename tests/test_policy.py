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


def _tokens(s, *ids):
    from voicenb.economics import item_tokens

    return sum(sum(item_tokens(s.log[i])) for i in ids)


def test_a_window_past_the_trigger_and_its_latest_exchange_drops_what_a_fold_would_take():
    s = conversation("cccccccc")
    policy = SummaryPolicy(trigger_tokens=100, keep_last=2)
    exchange = _tokens(s, "i6", "i7")
    assert policy.overdue(s, 100 + exchange) == []  # one exchange may overshoot: that is a fold's job
    assert [i.id for i in policy.overdue(s, 101 + exchange)] == ["i0", "i1", "i2", "i3", "i4", "i5"]
    policy.hold_window = False
    assert policy.overdue(s, 100_000) == []


def test_turns_owed_by_a_hold_fold_first_about_a_trigger_at_a_time():
    s = conversation("cccccccccc")
    owed = [s.log[f"i{n}"] for n in range(6)]
    for item in owed:
        s.on_item_deleted(item.id, by="client")
    each = _tokens(s, "i0", "i1")
    plan = SummaryPolicy(trigger_tokens=each, keep_last=2).plan(s, owed=owed)
    assert plan.item_ids == ["i0", "i1"]  # the oldest owed, a trigger's worth; the window waits
    plan = SummaryPolicy(trigger_tokens=100 * each, keep_last=2).plan(s, owed=owed)
    assert plan.item_ids == ["i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7"]  # all owed, then the window
