"""The GA protocol surface of the offline engine, through the official SDK client (no speech models)."""

from __future__ import annotations

import asyncio
import base64
import logging

import pytest
from websockets.exceptions import InvalidStatus

from tests.engine.fakes import ScriptedLLM, ToneTTS, collect_until, connect, next_event
from voicenb.engine import EngineConfig, OfflineEngine
from voicenb.engine.config import MAX_FRAME_BYTES
from voicenb.tokens import count_text_tokens

TEXT_ONLY = {"type": "realtime", "output_modalities": ["text"], "instructions": "Be brief."}


def user_text(text: str, item_id: str | None = None) -> dict:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return {**item, "id": item_id} if item_id else item


def system_text(text: str, item_id: str | None = None) -> dict:
    item = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": text}]}
    return {**item, "id": item_id} if item_id else item


async def add(conn, item: dict, previous_item_id: str | None = None):
    kwargs = {"previous_item_id": previous_item_id} if previous_item_id else {}
    await conn.conversation.item.create(item=item, **kwargs)
    added = await next_event(conn, "conversation.item.added")
    await next_event(conn, "conversation.item.done")
    return added


async def test_session_update_validates_and_connection_survives_unknown_field(engine):
    async with connect(engine.url) as conn:
        await conn.session.update(session={"type": "realtime", "instructions": "Hi", "bogus_field": 1})
        error = await next_event(conn, "error")
        assert error.error.type == "invalid_request_error"
        assert error.error.code == "unknown_parameter"
        assert error.error.param == "session.bogus_field"

        await conn.session.update(
            session={
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "x": 1}}},
            }
        )
        nested = await next_event(conn, "error")
        assert nested.error.param == "session.audio.input.turn_detection.x"

        await conn.session.update(session={"type": "realtime", "instructions": "Be brief."})
        updated = await next_event(conn, "session.updated")
        assert updated.session.instructions == "Be brief."
        assert updated.session.audio.input.turn_detection.type == "server_vad"  # untouched fields kept


async def test_beta_session_shape_is_rejected(engine):
    async with connect(engine.url) as conn:
        await conn.send_raw(
            '{"type": "session.update", "session": {"type": "realtime", "modalities": ["text"]}}'
        )
        error = await next_event(conn, "error")
        assert error.error.code == "unknown_parameter" and error.error.param == "session.modalities"


async def test_items_insert_at_root_append_retrieve_delete(engine):
    async with connect(engine.url) as conn:
        a = await add(conn, user_text("first", "item_a"))
        b = await add(conn, user_text("second"))
        root = await add(conn, system_text("summary so far", "item_s"), previous_item_id="root")
        assert a.previous_item_id is None and a.item.id == "item_a"
        assert b.previous_item_id == "item_a" and b.item.id  # id generated
        assert root.previous_item_id is None
        conversation = engine.connections[0].conversation
        assert [i.id for i in conversation.items] == ["item_s", "item_a", b.item.id]

        await conn.conversation.item.retrieve(item_id="item_s")
        got = await next_event(conn, "conversation.item.retrieved")
        assert got.item.role == "system" and got.item.content[0].text == "summary so far"

        await conn.conversation.item.delete(item_id="item_a")
        deleted = await next_event(conn, "conversation.item.deleted")
        assert deleted.item_id == "item_a"
        assert [i.id for i in conversation.items] == ["item_s", b.item.id]


async def test_unknown_item_errors_keep_connection_open(engine):
    async with connect(engine.url) as conn:
        for send in (
            conn.conversation.item.delete(item_id="nope"),
            conn.conversation.item.retrieve(item_id="nope"),
            conn.conversation.item.truncate(item_id="nope", content_index=0, audio_end_ms=10),
            conn.conversation.item.create(item=user_text("x"), previous_item_id="nope"),
        ):
            await send
            error = await next_event(conn, "error")
            assert error.error.code in ("item_not_found", "previous_item_not_found")
        await add(conn, user_text("still alive"))


async def test_malformed_json_unknown_type_and_bad_audio_are_errors(engine):
    async with connect(engine.url) as conn:
        await conn.send_raw("{not json")
        assert (await next_event(conn, "error")).error.code == "invalid_json"
        await conn.send_raw('{"type": "no.such.event"}')
        unknown = await next_event(conn, "error")
        assert unknown.error.code == "invalid_value" and unknown.error.param == "type"
        await conn.send_raw('{"type": "conversation.item.delete"}')
        assert (await next_event(conn, "error")).error.code == "missing_required_parameter"
        await conn.input_audio_buffer.append(audio="***not base64***")
        assert (await next_event(conn, "error")).error.code == "invalid_value"
        await conn.input_audio_buffer.commit()
        assert (await next_event(conn, "error")).error.code == "input_audio_buffer_commit_empty"
        await add(conn, user_text("still alive"))


async def test_oversized_frame_is_an_error_and_a_large_one_is_accepted(engine):
    async with connect(engine.url) as conn:
        big = base64.b64encode(bytes(MAX_FRAME_BYTES // 2)).decode()  # ~10 MiB frame: allowed
        await conn.input_audio_buffer.append(audio=big)
        await conn.input_audio_buffer.commit()
        committed = await next_event(conn, "input_audio_buffer.committed", timeout=30)
        assert engine.connections[0].conversation.get(committed.item_id).audio_s > 150

        too_big = base64.b64encode(bytes(MAX_FRAME_BYTES * 3 // 4 + 1024)).decode()  # > 15 MiB frame
        await conn.input_audio_buffer.append(audio=too_big)
        assert (await next_event(conn, "error", timeout=30)).error.code == "message_too_large"
        await add(conn, user_text("still alive"))


async def test_text_response_events_and_usage(engine):
    async with connect(engine.url) as conn:
        await conn.session.update(session=TEXT_ONLY)
        await next_event(conn, "session.updated")
        await add(conn, user_text("What is up?"))
        await conn.response.create()
        events = await collect_until(conn, "response.done")
        types = [e.type for e in events]
        assert types[0] == "response.created"
        expected_order = [
            "conversation.item.added", "response.output_item.added", "response.content_part.added",
            "response.output_text.delta", "response.output_text.done", "response.content_part.done",
            "response.output_item.done", "conversation.item.done", "response.done",
        ]  # fmt: skip
        assert [t for t in types if t in expected_order and t != "response.output_text.delta"] == [
            t for t in expected_order if t != "response.output_text.delta"
        ]
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert text == "Hello there. How can I help?"
        done = events[-1].response
        assert done.status == "completed"
        window = count_text_tokens("Be brief.") + count_text_tokens("What is up?")
        usage = done.usage
        assert usage.input_tokens == window
        assert usage.input_token_details.text_tokens == window and usage.input_token_details.audio_tokens == 0
        assert usage.input_token_details.cached_tokens == 0
        assert usage.output_tokens == usage.output_token_details.text_tokens == count_text_tokens(text)
        assert usage.total_tokens == usage.input_tokens + usage.output_tokens

        # Second response: the whole first window (plus the reply) is the unchanged prefix → cached.
        await add(conn, user_text("And then?"))
        await conn.response.create()
        second = (await next_event(conn, "response.done")).response.usage
        expected = window + count_text_tokens(text) + count_text_tokens("And then?")
        assert second.input_tokens == expected
        assert second.input_token_details.cached_tokens == window
        assert second.input_token_details.cached_tokens_details.text_tokens == window


async def test_audio_usage_counts_user_audio_10_and_assistant_audio_20_per_second(engine):
    async with connect(engine.url) as conn:
        await conn.session.update(session={"type": "realtime", "instructions": ""})
        await next_event(conn, "session.updated")
        await conn.input_audio_buffer.append(audio=base64.b64encode(bytes(2 * 24000 * 3)).decode())  # 3 s
        await conn.input_audio_buffer.commit()
        await next_event(conn, "input_audio_buffer.committed")
        await conn.response.create()
        events = await collect_until(conn, "response.done")
        deltas = [base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta"]
        reply_s = sum(map(len, deltas)) / 48000
        assert reply_s == pytest.approx(6 * 0.5)  # six words of tone
        assert max(map(len, deltas)) <= 48000 * 0.2  # small chunks
        transcript = next(e for e in events if e.type == "response.output_audio_transcript.done").transcript
        first = events[-1].response.usage
        assert first.input_tokens == first.input_token_details.audio_tokens == 30
        assert first.output_token_details.audio_tokens == 60
        assert first.output_token_details.text_tokens == count_text_tokens(transcript)

        await conn.response.create()
        second = (await next_event(conn, "response.done")).response.usage
        assert second.input_tokens == 30 + 60  # the assistant's retained audio is billed, not its transcript
        assert second.input_token_details.audio_tokens == 90
        assert second.input_token_details.cached_tokens == 30


async def test_truncate_trims_assistant_audio_and_transcript(engine):
    async with connect(engine.url) as conn:
        await add(conn, user_text("hi"))
        await conn.response.create()
        done = (await next_event(conn, "response.done")).response
        item_id = done.output[0].id
        await conn.conversation.item.truncate(item_id=item_id, content_index=0, audio_end_ms=1500)
        truncated = await next_event(conn, "conversation.item.truncated")
        assert truncated.audio_end_ms == 1500
        item = engine.connections[0].conversation.get(item_id)
        assert item.audio_s == pytest.approx(1.5)
        assert item.content[0]["transcript"] == "Hello there."  # half the words were heard

        await conn.conversation.item.retrieve(item_id=item_id)
        got = await next_event(conn, "conversation.item.retrieved")
        assert len(base64.b64decode(got.item.content[0].audio)) == 1.5 * 48000

        await conn.conversation.item.truncate(item_id=item_id, content_index=0, audio_end_ms=99_000)
        assert (await next_event(conn, "error")).error.param == "audio_end_ms"


async def test_retention_ratio_truncation_drops_oldest_items():
    config = EngineConfig(load_models=False, llm=ScriptedLLM("Ok."), tts=ToneTTS(), truncation_at=40)
    async with OfflineEngine(config) as eng, connect(eng.url) as conn:
        truncation = {"type": "retention_ratio", "retention_ratio": 0.5}
        await conn.session.update(session={**TEXT_ONLY, "instructions": "", "truncation": truncation})
        await next_event(conn, "session.updated")
        sentence = "one two three four five six seven eight nine"  # 9 tokens
        ids = [(await add(conn, user_text(f"{sentence} {n}"))).item.id for n in range(5)]
        await conn.response.create()
        events = await collect_until(conn, "response.done")
        dropped = [e.item_id for e in events if e.type == "conversation.item.deleted"]
        per_item = count_text_tokens(f"{sentence} 0")
        kept = 20 // per_item  # retention 0.5 x 40 tokens
        assert dropped == ids[: 5 - kept]
        usage = events[-1].response.usage
        assert usage.input_tokens == kept * per_item <= 20
        assert [m["content"] for m in eng.llm_calls[-1]] == [f"{sentence} {n}" for n in range(5 - kept, 5)]


async def test_llm_sees_exactly_the_server_side_conversation(engine):
    async with connect(engine.url) as conn:
        await conn.session.update(session={**TEXT_ONLY, "instructions": "You are terse."})
        await next_event(conn, "session.updated")
        await add(conn, user_text("My name is Ada.", "u1"))
        await add(
            conn,
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi Ada."}]},
        )
        await add(conn, user_text("I like tea.", "u2"))
        await add(conn, system_text("Summary: the user is Ada and likes tea."), previous_item_id="root")
        for item_id in ("u1", "u2"):
            await conn.conversation.item.delete(item_id=item_id)
            await next_event(conn, "conversation.item.deleted")
        await add(conn, user_text("What do I like?"))
        await conn.response.create()
        await next_event(conn, "response.done")
        assert engine.llm_calls[-1] == [
            {"role": "system", "content": "You are terse."},
            {"role": "system", "content": "Summary: the user is Ada and likes tea."},
            {"role": "assistant", "content": "Hi Ada."},
            {"role": "user", "content": "What do I like?"},
        ]


async def test_response_cancel_and_second_response_rules():
    slow = ScriptedLLM("One. Two. Three. Four. Five. Six.", delay_s=0.3)
    config = EngineConfig(load_models=False, llm=slow, tts=ToneTTS(), max_reply_sentences=10)
    async with OfflineEngine(config) as eng, connect(eng.url) as conn:
        await conn.response.cancel()
        assert (await next_event(conn, "error")).error.code == "response_cancel_not_active"
        await add(conn, user_text("talk"))
        await conn.response.create()
        await next_event(conn, "response.output_audio.delta")
        await conn.response.create()
        assert (await next_event(conn, "error")).error.code == "conversation_already_has_active_response"
        await conn.response.cancel()
        done = (await next_event(conn, "response.done")).response
        assert done.status == "cancelled" and done.status_details.reason == "client_cancelled"
        assert done.usage.output_token_details.audio_tokens > 0  # it produced something before the cancel


class CappedLLM(ScriptedLLM):
    """Like a real model: stops after ``max_tokens`` pieces (one word each)."""

    def stream(self, messages, max_tokens, stop):
        for n, piece in enumerate(super().stream(messages, max_tokens, stop)):
            if n == max_tokens:
                return
            yield piece


LONG_REPLY = (
    "The bicycle dates back to the nineteenth century, when inventors in France and Germany built the "
    "first machines with pedals on the front wheel, and riders fell off them all the time. Within "
    "twenty years the chain drive, the safety frame and air-filled tyres had made it the fastest way "
    "for ordinary people to travel, which changed towns, jobs and courtship across Europe. Today there "
    "are more bicycles than cars."
)


@pytest.mark.parametrize("modality", ["audio", "text"])
async def test_a_long_reply_ends_at_a_sentence_end_not_at_a_clause_or_the_token_count(modality):
    """A workshop heard "...dates back to the 19th century," and silence: the reply stopped after two
    clause chunks or 60 tokens, whichever came first."""
    config = EngineConfig(load_models=False, llm=CappedLLM(LONG_REPLY), tts=ToneTTS(), max_reply_tokens=30)
    async with OfflineEngine(config) as eng, connect(eng.url) as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": [modality]})
        await add(conn, user_text("Tell me about the bicycle."))
        await conn.response.create()
        done = (await next_event(conn, "response.done")).response
        part = done.output[0].content[0]
        said = part.transcript if modality == "audio" else part.text
        # the sentence under way at 30 tokens is finished (33 words), and the next is not begun
        assert said.rstrip().endswith("riders fell off them all the time."), said
        assert "Within" not in said


async def test_cancel_before_output_reports_zero_usage():
    config = EngineConfig(load_models=False, llm=ScriptedLLM("slow", delay_s=1.0), tts=ToneTTS())
    async with OfflineEngine(config) as eng, connect(eng.url) as conn:
        await add(conn, user_text("talk"))
        await conn.response.create()
        await next_event(conn, "response.created")
        await conn.response.cancel()
        done = (await next_event(conn, "response.done")).response
        assert done.status == "cancelled"
        assert done.usage.input_tokens == done.usage.output_tokens == done.usage.total_tokens == 0


async def test_bearer_token_required_and_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    config = EngineConfig(load_models=False, llm=ScriptedLLM(), token="s3cret-token")
    async with OfflineEngine(config) as eng:
        with pytest.raises(InvalidStatus) as rejected:
            async with connect(eng.url, api_key="wrong"):
                pass
        assert rejected.value.response.status_code == 401
        async with connect(eng.url, api_key="s3cret-token") as conn:
            await add(conn, user_text("authorised"))
    engine_logs = [r.getMessage() for r in caplog.records if r.name.startswith("voicenb")]
    assert any("rejected" in m or "401" in m for m in engine_logs)  # the handshake was logged...
    assert not any("s3cret-token" in m or "Bearer" in m for m in engine_logs)  # ...but never the key


async def test_start_stop_and_url():
    eng = OfflineEngine(EngineConfig(load_models=False))
    await eng.start()
    assert eng.url == f"ws://127.0.0.1:{eng.port}/v1" and eng.port > 0
    assert eng.models_used["llm"].startswith("not loaded")
    await eng.stop()
    await asyncio.sleep(0)


class FailingSTT:
    def transcribe(self, pcm: bytes) -> str:
        raise RuntimeError("decoder exploded")


async def test_failed_transcription_is_reported_and_the_item_kept():
    config = EngineConfig(load_models=False, stt=FailingSTT(), llm=ScriptedLLM(), tts=ToneTTS())
    async with OfflineEngine(config) as eng, connect(eng.url) as conn:
        session = {"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}}
        await conn.session.update(session=session)
        await next_event(conn, "session.updated")
        await conn.input_audio_buffer.append(audio=base64.b64encode(bytes(48000)).decode())
        await conn.input_audio_buffer.commit()
        committed = await next_event(conn, "input_audio_buffer.committed")
        failed = await next_event(conn, "conversation.item.input_audio_transcription.failed")
        assert failed.item_id == committed.item_id and "decoder exploded" in failed.error.message
        assert committed.item_id in eng.connections[0].conversation


def test_missing_model_package_names_the_extra(monkeypatch):
    from voicenb.engine import MissingExtraError, components, models

    monkeypatch.setattr(models, "package_dir", lambda module: None)  # no model package installed
    monkeypatch.setattr(models, "hub_download", lambda repo, filename: None)  # and no internet
    with pytest.raises(MissingExtraError, match=r"pip install 'voicenb\[offline\]'"):
        components.load_components(EngineConfig(vad=lambda: None, stt=FailingSTT(), tts=ToneTTS()))


async def test_out_of_band_response_leaves_the_conversation_alone(engine):
    async with connect(engine.url) as conn:
        await add(conn, user_text("in the conversation", "u1"))
        await conn.response.create(
            response={
                "conversation": "none",
                "output_modalities": ["text"],
                "instructions": "Summarise.",
                "input": [{"type": "item_reference", "id": "u1"}, user_text("extra context")],
            }
        )
        events = await collect_until(conn, "response.done")
        assert "conversation.item.added" not in [e.type for e in events]
        assert events[-1].response.conversation_id is None
        assert [i.id for i in engine.connections[0].conversation.items] == ["u1"]
        assert [m["content"] for m in engine.llm_calls[-1]] == [
            "Summarise.",
            "in the conversation",
            "extra context",
        ]
