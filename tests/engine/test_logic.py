"""The engine's pure logic, tested synchronously: conversation, usage, truncation, VAD, parsing."""

from __future__ import annotations

import numpy as np
import pytest

from voicenb.engine.conversation import Conversation, ConversationError, ServerItem, cut_words, llm_messages
from voicenb.engine.protocol import ProtocolError, merge_session, parse_client_event, server_event
from voicenb.engine.sentences import SentenceSplitter, ends_sentence, reply_budget, reply_chunks, speakable
from voicenb.engine.usage import cached_prefix, items_to_drop, response_usage, window
from voicenb.engine.vad import SpeechPaused, SpeechStarted, SpeechStopped, TurnDetector
from voicenb.tokens import count_text_tokens

SECOND = 48_000  # bytes of PCM16 at 24 kHz


def text_item(item_id: str, role: str, text: str) -> ServerItem:
    kind = {"assistant": "output_text"}.get(role, "input_text")
    return ServerItem(item_id, role, [{"type": kind, "text": text}])


def audio_item(item_id: str, role: str, seconds: float, transcript: str = "") -> ServerItem:
    kind = "output_audio" if role == "assistant" else "input_audio"
    return ServerItem(
        item_id, role, [{"type": kind, "transcript": transcript}], audio=bytes(int(seconds * SECOND))
    )


def test_conversation_insert_positions_and_errors():
    conv = Conversation()
    assert conv.add(text_item("a", "user", "x")) is None
    assert conv.add(text_item("b", "user", "y")) == "a"
    assert conv.add(text_item("s", "system", "z"), "root") is None
    assert conv.add(text_item("c", "user", "w"), "s") == "s"
    assert [i.id for i in conv.items] == ["s", "c", "a", "b"]
    with pytest.raises(ConversationError) as e:
        conv.add(text_item("a", "user", "dup"))
    assert e.value.code == "item_already_exists"
    with pytest.raises(ConversationError):
        conv.delete("missing")


def test_truncate_cuts_audio_and_transcript_at_word_boundary():
    conv = Conversation([audio_item("r", "assistant", 4.0, "one two three four five six seven eight")])
    conv.truncate("r", 0, 2000)
    assert conv.items[0].audio_s == pytest.approx(2.0)
    assert conv.items[0].content[0]["transcript"] == "one two three four"
    with pytest.raises(ConversationError):
        conv.truncate("r", 0, 5000)
    conv.add(text_item("u", "user", "hi"))
    with pytest.raises(ConversationError):
        conv.truncate("u", 0, 10)
    assert cut_words("hello world", 0.3) == "" and cut_words("hello world", 1.0) == "hello world"


def test_window_bills_audio_not_transcripts_and_text_by_o200k():
    items = [
        text_item("s", "system", "Summary: Ada likes tea."),
        audio_item("u", "user", 2.5, "a transcript that is not billed"),
        audio_item("r", "assistant", 1.5, "neither is this one"),
        text_item("t", "assistant", "Typed reply."),
    ]
    w = window("Be brief.", items)
    text = (
        count_text_tokens("Be brief.")
        + count_text_tokens("Summary: Ada likes tea.")
        + count_text_tokens("Typed reply.")
    )
    assert w.audio_tokens == 25 + 30
    assert w.text_tokens == text
    assert w.tokens == text + 55


def test_cached_tokens_are_the_unchanged_prefix_and_a_subset():
    items = [text_item("a", "user", "hello there"), audio_item("b", "user", 1.0)]
    first = window("inst", items)
    second = window("inst", [*items, text_item("c", "user", "more")])
    assert cached_prefix(None, first) == (0, 0)
    assert cached_prefix(first, second) == (first.text_tokens, 10)
    usage = response_usage(second, first, 3, 40)
    details = usage["input_token_details"]
    assert details["cached_tokens"] == first.tokens <= usage["input_tokens"]
    assert details["text_tokens"] + details["audio_tokens"] == usage["input_tokens"]
    assert usage["total_tokens"] == usage["input_tokens"] + 43
    changed = window("other instructions", items)
    assert cached_prefix(first, changed) == (0, 0)


def test_truncation_policies():
    items = [audio_item(f"i{n}", "user", 10.0) for n in range(10)]  # 100 tokens each
    w = window("", items)
    assert items_to_drop(w, "disabled", 500) == []
    assert items_to_drop(w, "auto", 2000) == []
    assert items_to_drop(w, "auto", 500) == [f"i{n}" for n in range(5)]
    ratio = {"type": "retention_ratio", "retention_ratio": 0.5}
    assert items_to_drop(w, ratio, 500) == [f"i{n}" for n in range(8)]
    limits = {**ratio, "token_limits": {"post_instructions": 800}}
    assert items_to_drop(w, limits, 500) == [f"i{n}" for n in range(6)]


def test_llm_messages_follow_server_order_and_skip_empty():
    items = [
        text_item("s", "system", "Summary."),
        audio_item("u", "user", 1.0, "spoken words"),
        audio_item("x", "user", 1.0, ""),  # failed transcription: nothing to read
        audio_item("r", "assistant", 1.0, "reply"),
    ]
    assert llm_messages("Inst.", items) == [
        {"role": "system", "content": "Inst."},
        {"role": "system", "content": "Summary."},
        {"role": "user", "content": "spoken words"},
        {"role": "assistant", "content": "reply"},
    ]


def test_sentence_splitter_streams_sentences_and_cuts_run_ons():
    splitter, out = SentenceSplitter(), []
    for piece in ["Hello", " there", "! It is 3", ".5 degrees", ". Ok"]:
        out += splitter.feed(piece)
    assert out == ["Hello there!", "It is 3.5 degrees."] and splitter.flush() == "Ok"
    run_on = SentenceSplitter(clause_words=4)
    assert run_on.feed("a lemon, a lemon, a lemon, ") == ["a lemon, a lemon, a lemon,"]
    assert speakable("**Bold** _text_") == "Bold text"


def _words(text: str) -> list[str]:
    return [w if n == 0 else " " + w for n, w in enumerate(text.split(" "))]


def test_a_reply_stops_at_whole_sentences_not_at_clause_cuts():
    text = "Well, the first thing to know about this house, which Gran built, is its age. It is old. More."
    spoken = list(reply_chunks(_words(text), tokens=100, sentences=2, spoken=True))
    assert spoken[-1] == "It is old." and "More." not in spoken
    assert any(not ends_sentence(c) for c in spoken)  # clause cuts stream early but do not count
    written = "".join(reply_chunks(_words(text), tokens=100, sentences=2, spoken=False))
    assert written.endswith("It is old.")


def test_past_its_token_count_a_reply_finishes_the_sentence_under_way():
    text = "One two three four, five six seven eight. Nine ten."
    assert list(reply_chunks(_words(text), tokens=3, sentences=5, spoken=True)) == [
        "One two three four,",
        "five six seven eight.",
    ]


def test_a_reply_cut_by_the_models_cap_keeps_its_tail_only_when_nothing_else_was_said():
    tokens = 4
    cap = reply_budget(tokens)
    cut = " ".join(["word"] * cap)  # what a model capped mid-sentence streams: no sentence end at all

    def spoken(text: str, limit: int | None = None) -> list[str]:
        return list(reply_chunks(_words(text)[:limit], tokens=tokens, sentences=5, spoken=True))

    assert spoken("Short first. " + cut, cap) == ["Short first."]
    assert spoken(cut, cap) != []  # never silence
    assert spoken("Short first. and then") == ["Short first.", "and then"]  # the model stopped, not cut


class StepScorer:
    """Speech probability from a script: 1 frame = 32 ms."""

    def __init__(self, probs: list[float]) -> None:
        self.probs = iter(probs)

    def score(self, frame: np.ndarray) -> float:
        return next(self.probs)

    def reset(self) -> None:
        pass


def test_turn_detector_server_vad_semantics():
    settings = {"threshold": 0.5, "prefix_padding_ms": 64, "silence_duration_ms": 160}
    probs = [0.0] * 10 + [0.9] * 20 + [0.1] * 10
    detector = TurnDetector(StepScorer(probs), settings)
    events = detector.feed(bytes(768 * 2 * len(probs)))
    started, paused, stopped = events
    assert started == SpeechStarted(10 * 32 - 64)
    assert isinstance(paused, SpeechPaused) and paused.audio_end_ms == 30 * 32
    assert stopped == SpeechStopped(35 * 32)  # 5 silent frames = 160 ms


def test_parse_client_event_errors():
    with pytest.raises(ProtocolError) as e:
        parse_client_event('{"type": "session.update", "session": {"type": "realtime", "voice": "x"}}')
    assert e.value.code == "unknown_parameter" and e.value.param == "session.voice"
    with pytest.raises(ProtocolError) as e:
        parse_client_event('{"type": "conversation.item.truncate", "item_id": "a", "content_index": 0}')
    assert e.value.code == "missing_required_parameter" and e.value.param == "audio_end_ms"
    event = parse_client_event('{"type": "response.create", "event_id": "e1"}')
    assert event.type == "response.create" and event.event_id == "e1"


def test_merge_session_replaces_unions_and_merges_objects():
    base = {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 0.5}, "format": {}}}}
    merged = merge_session(base, {"audio": {"input": {"turn_detection": {"type": "semantic_vad"}}}})
    assert merged["audio"]["input"] == {"turn_detection": {"type": "semantic_vad"}, "format": {}}


def test_server_events_are_validated_by_the_sdk_models():
    assert '"type":"conversation.item.deleted"' in server_event("conversation.item.deleted", item_id="a")
    with pytest.raises(ValueError):
        server_event("conversation.item.deleted")  # item_id is required by the SDK model
