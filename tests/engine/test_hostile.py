"""Hostile clients against the engine (issue 13): bad input gets an `error` event and the connection lives;
every resource a client can grow is bounded; one client's flood cannot starve another's reply."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from tests.engine.fakes import LoudnessVAD, ScriptedLLM, ScriptedSTT, ToneTTS, connect, next_event, tone
from tests.engine.test_protocol import TEXT_ONLY, add, user_text
from voicenb.engine import EngineConfig, OfflineEngine
from voicenb.tools.load import run_flood, run_load

RETENTION = "session.truncation.retention_ratio"
VAD_ON = {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad"}}}}


def b64(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode()


def vad_config(**overrides: object) -> EngineConfig:
    parts = {"vad": LoudnessVAD, "stt": ScriptedSTT(), "llm": ScriptedLLM(), "tts": ToneTTS()}
    return EngineConfig(load_models=False, **{**parts, **overrides})  # type: ignore[arg-type]


async def still_alive(conn) -> None:
    await add(conn, user_text("still alive"))


# --- validation: an error event, and the connection stays -----------------------------------------


async def test_odd_length_pcm_with_vad_on_is_an_error_not_a_close():
    async with OfflineEngine(vad_config()) as eng, connect(eng.url) as conn:
        await conn.input_audio_buffer.append(audio=b64(bytes(4801)))
        error = (await next_event(conn, "error")).error
        assert (error.type, error.code, error.param) == ("invalid_request_error", "invalid_value", "audio")
        await still_alive(conn)
        assert len(eng.connections[0].buffer) == 0  # nothing of the bad append was kept


@pytest.mark.parametrize("depth", [65, 1_000, 100_000])
async def test_deeply_nested_json_is_an_error_not_a_close(engine, depth):
    async with connect(engine.url) as conn:
        nested = "[" * depth + "]" * depth
        session = f'{{"type": "realtime", "tools": {nested}}}'
        await conn.send_raw(f'{{"type": "session.update", "session": {session}}}')
        error = (await next_event(conn, "error")).error
        assert error.type == "invalid_request_error" and error.code == "invalid_json"
        await still_alive(conn)


async def test_moderate_nesting_is_still_accepted(engine):
    async with connect(engine.url) as conn:
        session = {"type": "realtime", "instructions": "x", "tools": [{"type": "function", "name": "f"}]}
        await conn.send_raw(json.dumps({"type": "session.update", "session": session}))
        assert (await next_event(conn, "session.updated")).session.instructions == "x"


@pytest.mark.parametrize("path", ["audio", "audio.input", "audio.output"])
async def test_null_audio_config_is_rejected_and_later_turns_still_complete(engine, path):
    session: dict = {"type": "realtime"}
    node = session
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = None
    async with connect(engine.url) as conn:
        await conn.send_raw(json.dumps({"type": "session.update", "session": session}))
        error = (await next_event(conn, "error")).error
        assert (error.type, error.param) == ("invalid_request_error", f"session.{path}")
        await add(conn, user_text("hi"))
        await conn.response.create()
        done = (await next_event(conn, "response.done")).response
        assert done.status == "completed"


@pytest.mark.parametrize(
    ("turn_detection", "param", "code"),
    [
        ({"threshold": 5}, "threshold", "decimal_above_max_value"),
        ({"threshold": -0.1}, "threshold", "decimal_below_min_value"),
        ({"silence_duration_ms": -1}, "silence_duration_ms", "decimal_below_min_value"),
        ({"prefix_padding_ms": -300}, "prefix_padding_ms", "decimal_below_min_value"),
        ({"idle_timeout_ms": 10}, "idle_timeout_ms", "decimal_below_min_value"),
    ],
)
async def test_out_of_range_vad_settings_are_rejected_and_the_session_unchanged(
    engine, turn_detection, param, code
):
    async with connect(engine.url) as conn:
        td = {"type": "server_vad", **turn_detection}
        await conn.session.update(session={"type": "realtime", "audio": {"input": {"turn_detection": td}}})
        error = (await next_event(conn, "error")).error
        assert error.type == "invalid_request_error"
        assert (error.code, error.param) == (code, f"session.audio.input.turn_detection.{param}")
        session = engine.connections[0].session
        assert session["audio"]["input"]["turn_detection"]["threshold"] == 0.5  # the old settings stand


@pytest.mark.parametrize(
    ("session", "param"),
    [
        ({"truncation": {"type": "retention_ratio", "retention_ratio": 1.5}}, RETENTION),
        ({"truncation": {"type": "retention_ratio", "retention_ratio": -0.5}}, RETENTION),
        ({"audio": {"output": {"speed": 9}}}, "session.audio.output.speed"),
        ({"max_output_tokens": 0}, "session.max_output_tokens"),
        ({"max_output_tokens": 5000}, "session.max_output_tokens"),
    ],
)
async def test_out_of_range_session_values_are_rejected(engine, session, param):
    async with connect(engine.url) as conn:
        await conn.session.update(session={"type": "realtime", **session})
        error = (await next_event(conn, "error")).error
        assert (error.type, error.param) == ("invalid_request_error", param)
        await conn.session.update(session={"type": "realtime", "max_output_tokens": "inf"})
        await next_event(conn, "session.updated")


async def test_negative_silence_no_longer_makes_a_turn_per_frame():
    async with OfflineEngine(vad_config()) as eng, connect(eng.url) as conn:
        td = {"type": "server_vad", "silence_duration_ms": -1, "create_response": False}
        await conn.session.update(session={"type": "realtime", "audio": {"input": {"turn_detection": td}}})
        assert (await next_event(conn, "error")).error.param.endswith("silence_duration_ms")
        for _ in range(10):  # speech with short gaps: the default 200 ms silence keeps it one turn
            await conn.input_audio_buffer.append(audio=b64(tone(0.3) + bytes(2 * 2400)))
        await conn.input_audio_buffer.append(audio=b64(bytes(48000)))
        await next_event(conn, "input_audio_buffer.speech_stopped")
        assert len(eng.connections[0].conversation.items) == 1


async def test_unexpected_failure_in_a_handler_is_an_error_event(engine, monkeypatch):
    from voicenb.engine import dispatch

    async def explode(conn, event):
        raise KeyError("boom")

    monkeypatch.setitem(dispatch.HANDLERS, "input_audio_buffer.clear", explode)
    async with connect(engine.url) as conn:
        await conn.input_audio_buffer.clear(event_id="evt_1")
        error = (await next_event(conn, "error")).error
        assert (error.type, error.code, error.event_id) == ("server_error", "server_error", "evt_1")
        await still_alive(conn)


async def raw_handshake(port: int, headers: bytes, path: str = "/v1/realtime?model=gpt-realtime") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n".encode()
        + headers
        + b"\r\n"
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return status


async def test_non_ascii_authorization_is_401_not_500(caplog):
    caplog.set_level(logging.ERROR)
    config = EngineConfig(load_models=False, token="s3cret-token")
    async with OfflineEngine(config) as eng:
        status = await raw_handshake(eng.port, "Authorization: Bearer sécret\r\n".encode())
        assert status.startswith(b"HTTP/1.1 401")
        status = await raw_handshake(eng.port, b"Authorization: Bearer \xff\xfe\r\n")
        assert status.startswith(b"HTTP/1.1 401")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no traceback logged


async def test_credentials_in_query_strings_and_headers_are_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    token = "engine-tok-8f3a91"
    config = EngineConfig(load_models=False, llm=ScriptedLLM(), tts=ToneTTS(), token=token)
    secrets = [token, "query-secret-77c1", "apikey-secret-42d9", "header-secret-a0b2"]
    async with OfflineEngine(config) as eng:
        url = f"ws://127.0.0.1:{eng.port}/v1/realtime?model=gpt-realtime&token={secrets[1]}&api_key={secrets[2]}"
        headers = {"Authorization": f"Bearer {token}", "X-Api-Key": secrets[3]}
        async with ws_connect(url, additional_headers=headers) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
            await ws.recv()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("voicenb"))
    assert "GET /v1/realtime?model=gpt-realtime&token=[redacted]" in logged  # logged at DEBUG...
    for secret in secrets:
        assert secret not in logged  # ...but no credential


async def test_max_connections_gives_503():
    async with OfflineEngine(EngineConfig(load_models=False, max_connections=1)) as eng, connect(eng.url):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(eng.url):
                pass
        assert refused.value.response.status_code == 503


# --- bounds --------------------------------------------------------------------------------------


async def test_input_buffer_is_capped_with_an_error_and_the_audio_so_far_kept():
    config = EngineConfig(load_models=False, llm=ScriptedLLM(), tts=ToneTTS(), max_input_buffer_s=1.0)
    async with OfflineEngine(config) as eng, connect(eng.url) as conn:
        await conn.input_audio_buffer.append(audio=b64(bytes(2 * 19_200)))  # 0.8 s
        await conn.input_audio_buffer.append(audio=b64(bytes(2 * 9_600)))  # +0.4 s: over the cap
        error = (await next_event(conn, "error")).error
        assert (error.type, error.code, error.param) == (
            "invalid_request_error",
            "input_audio_buffer_too_large",
            "audio",
        )
        await conn.input_audio_buffer.commit()
        committed = await next_event(conn, "input_audio_buffer.committed")
        assert eng.connections[0].conversation.get(committed.item_id).audio_s == pytest.approx(0.8)
        await conn.input_audio_buffer.append(audio=b64(bytes(2 * 19_200)))  # room again after the commit
        await still_alive(conn)


async def test_long_silence_with_vad_never_fills_the_capped_buffer():
    async with OfflineEngine(vad_config(max_input_buffer_s=5.0)) as eng, connect(eng.url) as conn:
        await conn.session.update(session=VAD_ON)
        await next_event(conn, "session.updated")
        for _ in range(30):  # 30 s of silence, 1 s at a time
            await conn.input_audio_buffer.append(audio=b64(bytes(48_000)))
        await still_alive(conn)  # no buffer-full error came before this
        assert len(eng.connections[0].buffer) <= 2 * 48_000 * 1.3 * 2
        await conn.input_audio_buffer.append(audio=b64(bytes(4800) + tone(0.5) + bytes(24_000)))
        stopped = await next_event(conn, "input_audio_buffer.speech_stopped")
        item = eng.connections[0].conversation.get(stopped.item_id)
        assert 0.5 < item.audio_s < 1.5  # the turn: prefix padding, the tone, the silence that ended it


async def test_prompt_history_and_transcription_map_are_bounded():
    stt = ScriptedSTT()
    config = EngineConfig(load_models=False, stt=stt, llm=ScriptedLLM("Ok."), tts=ToneTTS(), prompt_history=3)
    async with OfflineEngine(config) as eng, connect(eng.url) as conn:
        await conn.session.update(session={**TEXT_ONLY, "audio": {"input": {"turn_detection": None}}})
        await next_event(conn, "session.updated")
        for n in range(5):
            await conn.input_audio_buffer.append(audio=b64(bytes(4800 + 2 * n)))
            await conn.input_audio_buffer.commit()
            await conn.response.create()
            await next_event(conn, "response.done")
        assert len(eng.llm_calls) == 3
        assert len(eng.llm_calls[-1]) == 1 + 2 * 5 - 1  # the latest prompt: instructions and 9 items
        assert len(stt.calls) == 5
        assert eng.connections[0].transcriber.pending == {}  # finished transcriptions are not kept


# --- fairness --------------------------------------------------------------------------------------


async def test_one_clients_commit_flood_does_not_delay_anothers_transcription():
    stt = ScriptedSTT(delay_s=0.02)
    parts = {"stt": stt, "llm": ScriptedLLM("Ok."), "tts": ToneTTS()}
    config = EngineConfig(load_models=False, max_pending_jobs=64, **parts)
    victim_clip = bytes(2 * 7_777)
    flooding = lambda url: connect(url, close_timeout=0.5)  # noqa: E731 (it never reads its events)
    async with OfflineEngine(config) as eng, flooding(eng.url) as flooder, connect(eng.url) as victim:
        await victim.session.update(session={**TEXT_ONLY, "audio": {"input": {"turn_detection": None}}})
        await next_event(victim, "session.updated")
        for _ in range(40):  # 40 commits of 100 ms: 0.8 s of transcription work queued
            await flooder.input_audio_buffer.append(audio=b64(bytes(4800)))
            await flooder.input_audio_buffer.commit()
        await next_event(flooder, "input_audio_buffer.committed")
        await victim.input_audio_buffer.append(audio=b64(victim_clip))
        await victim.input_audio_buffer.commit()
        await victim.response.create()
        await next_event(victim, "response.done")
        position = stt.calls.index(len(victim_clip))
        flood_done_before = position
        assert flood_done_before < 40 - 10  # served long before the flood's queue drained...
        later = stt.calls[position + 1 :]
        assert later and set(later) == {4800}  # ...while flood work was still waiting


async def test_too_many_waiting_transcriptions_reject_the_commit_and_keep_the_buffer():
    stt = ScriptedSTT(delay_s=1.0)
    config = EngineConfig(load_models=False, stt=stt, llm=ScriptedLLM(), tts=ToneTTS(), max_pending_jobs=2)
    async with OfflineEngine(config) as eng, connect(eng.url) as conn:
        for _ in range(6):
            await conn.input_audio_buffer.append(audio=b64(bytes(4800)))
            await conn.input_audio_buffer.commit()
        seen: list = []
        error = (await next_event(conn, "error", seen=seen)).error
        assert (error.type, error.code) == ("invalid_request_error", "rate_limit_exceeded")
        # one transcription running and two waiting were accepted; the fourth commit was refused
        assert [e.type for e in seen].count("input_audio_buffer.committed") == 3
        for _ in range(2):
            assert (await next_event(conn, "error")).error.code == "rate_limit_exceeded"
        assert len(eng.connections[0].buffer) == 3 * 4800  # the refused commits' audio is still buffered
        await still_alive(conn)


# --- load benchmark (figures, not timing assertions) -------------------------------------------------


async def test_run_load_reports_latency_percentiles_and_rss():
    config = EngineConfig(load_models=False, stt=ScriptedSTT(), llm=ScriptedLLM("Ok."), tts=ToneTTS())
    result = await run_load(3, 2, config=config, clip=bytes(48_000), settle_s=0.1)
    assert result["errors"] == [] and len(result["samples_s"]) == 3 * 2
    assert 0 < result["p50_s"] <= result["p95_s"] <= result["max_s"]
    assert 0 < result["rss_before_mb"] <= result["rss_peak_mb"]
    assert result["rss_after_mb"] > 0


async def test_run_flood_measures_the_victim_alone_and_under_a_flood():
    config = EngineConfig(load_models=False, stt=ScriptedSTT(), llm=ScriptedLLM("Ok."), tts=ToneTTS())
    result = await run_flood(config=config, clip=bytes(48_000), turns=2, flood_commits=20, tiny_appends=50)
    assert len(result["alone_samples_s"]) == len(result["flooded_samples_s"]) == 2
    assert result["flood_answers"]["input_audio_buffer.committed"] == 20
    assert result["ratio_p50"] > 0


async def test_conversation_items_and_retained_audio_are_bounded():
    config = EngineConfig(
        load_models=False,
        llm=ScriptedLLM(),
        tts=ToneTTS(),
        max_conversation_items=3,
        max_conversation_audio_s=1.0,
    )
    async with OfflineEngine(config) as eng, connect(eng.url) as conn:
        await conn.input_audio_buffer.append(audio=b64(bytes(2 * 19_200)))  # 0.8 s
        await conn.input_audio_buffer.commit()
        await next_event(conn, "input_audio_buffer.committed")
        await conn.input_audio_buffer.append(audio=b64(bytes(2 * 9_600)))  # +0.4 s: over the audio bound
        await conn.input_audio_buffer.commit()
        error = (await next_event(conn, "error")).error
        assert (error.type, error.code) == ("invalid_request_error", "conversation_too_large")
        assert len(eng.connections[0].buffer) == 2 * 9_600  # refused, not lost
        await add(conn, user_text("two"))
        await add(conn, user_text("three"))
        await conn.conversation.item.create(item=user_text("four"))
        assert (await next_event(conn, "error")).error.code == "conversation_too_large"
        await conn.conversation.item.delete(item_id=eng.connections[0].conversation.items[0].id)
        await next_event(conn, "conversation.item.deleted")
        await still_alive(conn)  # room again


NULLABLE_PATHS = [
    "instructions", "output_modalities", "tools", "tool_choice", "max_output_tokens", "truncation",
    "audio.input.format", "audio.input.transcription", "audio.input.noise_reduction",
    "audio.input.turn_detection", "audio.output.format", "audio.output.voice", "audio.output.speed",
]  # fmt: skip


@pytest.mark.parametrize("path", NULLABLE_PATHS)
async def test_any_null_session_field_leaves_the_session_able_to_reply(engine, path):
    session: dict = {"type": "realtime"}
    node = session
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = None
    async with connect(engine.url) as conn:
        await conn.send_raw(json.dumps({"type": "session.update", "session": session}))
        answer = await asyncio.wait_for(conn.recv(), 10)
        assert answer.type in ("session.updated", "error")
        await add(conn, user_text("hi"))
        await conn.response.create()
        done = (await next_event(conn, "response.done")).response
        assert done.status == "completed"
