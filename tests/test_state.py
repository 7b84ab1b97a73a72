import json

from voicenb.state import ConversationState, TranscriptStatus


def msg(item_id, role, text=None, audio=False):
    part = {"type": "input_audio", "transcript": text} if audio else {"type": "input_text", "text": text}
    if role == "assistant":
        part = {"type": "output_audio", "transcript": text}
    return {"id": item_id, "type": "message", "role": role, "content": [part]}


def test_items_follow_server_order_and_root_inserts():
    s = ConversationState()
    s.on_item_added(msg("a", "user", "hi"), None)
    s.on_item_added(msg("b", "assistant", "hello"), "a")
    s.on_item_added(msg("sum_1", "system", "summary"), None)  # created at root
    assert s.window == ["sum_1", "a", "b"]
    assert [i.id for i in s.log.values()] == ["a", "b", "sum_1"]  # the log keeps appearance order
    assert s.log["sum_1"].is_summary and not s.log["sum_1"].is_turn


def test_deleted_items_leave_the_window_not_the_log():
    s = ConversationState()
    s.on_item_added(msg("a", "user", "hi"), None)
    s.on_item_deleted("a", by="summary")
    assert s.window == [] and s.log["a"].text == "hi" and s.log["a"].deleted_by == "summary"
    exported = json.loads(s.to_json())
    assert exported["items"][0]["id"] == "a" and exported["window"] == []


def test_user_audio_transcript_lifecycle():
    s = ConversationState()
    s.on_item_added(msg("u", "user", None, audio=True), None)
    assert s.log["u"].status is TranscriptStatus.PENDING
    s.on_transcript_delta("u", "my ord")
    s.on_transcript_done("u", "my order is 42")
    assert s.log["u"].status is TranscriptStatus.COMPLETE and s.log["u"].text == "my order is 42"
    s.on_item_added(msg("v", "user", None, audio=True), "u")
    s.on_transcript_failed("v", "bad audio")
    assert s.log["v"].status is TranscriptStatus.FAILED and "v" in s.window


def test_events_for_unknown_items_are_recorded_as_divergence():
    s = ConversationState()
    s.on_transcript_done("ghost", "boo")
    s.on_item_deleted("ghost")
    s.on_item_added(msg("x", "user", "x"), "missing")
    assert len(s.divergences) == 3 and s.window == ["x"]


def test_assistant_item_completes_on_done():
    s = ConversationState()
    s.on_item_added({"id": "r", "type": "message", "role": "assistant", "content": []}, None)
    assert s.log["r"].status is TranscriptStatus.PENDING
    s.on_item_done(msg("r", "assistant", "Done."))
    assert s.log["r"].status is TranscriptStatus.COMPLETE and s.log["r"].text == "Done."
