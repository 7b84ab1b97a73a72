"""The control panel's widgets driven as traitlets objects, against the scripted peer (no browser)."""

from __future__ import annotations

import asyncio
import sys
import threading
import types

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")
pytest.importorskip("bqplot")

from tests.conftest import drain_loop, wait_until
from tests.peer import ScriptedPeer
from voicenb import audio
from voicenb import events as ev
from voicenb.audio import SAMPLE_RATE, silence, write_wav
from voicenb.policy import SummaryPolicy
from voicenb.tokens import TokenLedger, Usage, count_text_tokens, model_spec
from voicenb.widgets import registry
from voicenb.widgets.bridge import AudioBridge
from voicenb.widgets.browser_audio import BrowserAudio
from voicenb.widgets.chart import ChartData, window_split
from voicenb.widgets.loop import LoopHop, Throttle
from voicenb.widgets.panel import ControlPanel
from voicenb.widgets.transcript import transcript_html


def from_browser(widget: BrowserAudio, content: dict, buffers: list | None = None) -> None:
    """Deliver a custom message exactly as ipywidgets does for one arriving from the frontend."""
    data = {"method": "custom", "content": content}
    widget._handle_msg({"content": {"data": data}, "buffers": buffers or []})


def record_sent(widget: BrowserAudio) -> list[tuple[dict, list]]:
    """Capture what the widget sends to the frontend (its comm is a dummy outside a kernel)."""
    sent: list[tuple[dict, list]] = []
    widget.comm.send = lambda data=None, buffers=None, **_: sent.append((data, list(buffers or [])))
    return sent


def in_thread(fn, name: str = "subshell-1") -> None:
    """Run ``fn`` on another thread, like ipykernel 7 delivering a widget message on a subshell."""
    thread = threading.Thread(target=fn, name=name)
    thread.start()
    thread.join(5)


async def converse(peer: ScriptedPeer, n: int) -> None:
    for k in range(n):
        await peer.user_turn(f"My order number is 3051{k}.", audio_s=4.0)
        await peer.assistant_turn(f"Thanks, noted order 3051{k}.", audio_s=2.0)


# --- threading and throttling ----------------------------------------------------------------------


async def test_callbacks_from_a_subshell_thread_run_on_the_loop(make_session):
    panel = ControlPanel(make_session())
    ran_on: list[int] = []
    panel.summarise_now = lambda: ran_on.append(threading.get_ident())  # type: ignore[method-assign]
    in_thread(panel.summarise_button.click)
    await wait_until(lambda: ran_on)
    assert ran_on == [threading.get_ident()]  # the test's loop thread, not the subshell
    hop = panel.hop.hops[-1]
    assert hop.from_thread == "subshell-1" and hop.ran_on_loop_thread


async def test_hop_reports_failures_instead_of_losing_them():
    errors = []
    hop = LoopHop(on_error=lambda name, exc: errors.append((name, str(exc))))

    async def boom() -> None:
        raise ValueError("nope")

    hop("sync", lambda: 1 / 0)
    hop("async", boom)
    await wait_until(lambda: len(errors) == 2)
    assert {name for name, _ in errors} == {"sync", "async"}


class ManualLoop:
    """The two loop methods `Throttle` uses, on a clock the test moves."""

    def __init__(self) -> None:
        self.now, self.timers = 0.0, []

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, fn):
        timer = types.SimpleNamespace(at=self.now + delay, fn=fn, cancelled=False)
        timer.cancel = lambda: setattr(timer, "cancelled", True)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for timer in [t for t in self.timers if t.at <= self.now and not t.cancelled]:
            self.timers.remove(timer)
            timer.fn()


def test_throttle_merges_bursts_and_keeps_the_last_state():
    seen: list[int] = []
    state = {"n": 0}
    loop = ManualLoop()
    throttle = Throttle(lambda: seen.append(state["n"]), 0.1, loop)  # type: ignore[arg-type]
    for n in range(1, 51):  # 50 requests at one instant
        state["n"] = n
        throttle.request()
    assert seen == [1]  # the first at once
    loop.advance(0.05)
    assert seen == [1]
    loop.advance(0.05)
    assert seen == [1, 50]  # one trailing call, with the newest state
    loop.advance(1.0)
    throttle.request()  # a quiet interval later: at once again
    assert seen == [1, 50, 50] and not [t for t in loop.timers if not t.cancelled]


# --- BrowserAudio: binary messages in and out --------------------------------------------------------


async def test_mic_buffers_from_any_thread_come_out_of_source():
    widget = BrowserAudio()
    source = widget.source()
    first = asyncio.ensure_future(anext(source))
    await drain_loop()
    assert widget.capturing  # the browser is asked to capture while source() is iterated
    pcm = np.arange(1920, dtype="<i2").tobytes()  # 80 ms at 24 kHz
    in_thread(lambda: from_browser(widget, {"type": "mic", "level": 0.2}, [memoryview(pcm)]))
    assert await asyncio.wait_for(first, 2) == pcm
    assert widget.mic_chunks == 1 and widget.delivery_threads["subshell-1"] == 1 and widget.level == 0.2
    await source.aclose()
    assert not widget.capturing


async def test_mic_audio_without_a_listener_is_dropped():
    widget = BrowserAudio()
    from_browser(widget, {"type": "mic"}, [memoryview(bytes(1920))])
    assert widget.mic_chunks == 0


async def test_assistant_audio_goes_out_as_binary_buffers():
    widget = BrowserAudio()
    sent = record_sent(widget)
    widget.play("item_1", bytes(4800))
    (data, buffers), = sent  # fmt: skip
    assert data["method"] == "custom" and data["content"] == {"type": "audio", "item_id": "item_1"}
    assert bytes(buffers[0]) == bytes(4800) and widget.sent_chunks == 1


async def test_barge_in_uses_the_browsers_played_position():
    widget = BrowserAudio()
    sent = record_sent(widget)
    widget.play("item_1", bytes(48_000))  # 1 s
    cut = asyncio.ensure_future(widget.interrupt())
    await wait_until(lambda: any(d["content"]["type"] == "stop" for d, _ in sent))
    seq = sent[-1][0]["content"]["seq"]
    in_thread(lambda: from_browser(widget, {"type": "stopped", "seq": seq, "item_id": "item_1",
                                            "played_ms": 420, "cut": True}))  # fmt: skip
    assert await asyncio.wait_for(cut, 2) == audio.Cut("item_1", 420)


async def test_barge_in_without_a_browser_falls_back_to_the_kernel_clock():
    widget = BrowserAudio(stop_timeout_s=0.05)
    now = [100.0]
    widget.clock = audio.PlayClock(lambda: now[0])
    record_sent(widget)
    widget.play("item_1", bytes(48_000 * 2))  # 2 s, "playing" since now
    now[0] += 0.25
    assert await widget.interrupt() == audio.Cut("item_1", 250)


# --- sources and sinks -------------------------------------------------------------------------------


def test_play_clock_tracks_the_item_being_played():
    now = [0.0]
    clock = audio.PlayClock(lambda: now[0])
    clock.add("a", 1.0)
    clock.add("b", 1.0)
    now[0] = 1.25
    assert clock.position() == audio.Cut("b", 250)
    assert clock.stop() == audio.Cut("b", 250) and clock.position() is None


def test_pcm_queue_counts_what_the_device_played():
    queue = audio.PcmQueue()
    queue.push("a", bytes(4800))  # 100 ms
    assert len(queue.pull(2400)) == 2400  # 50 ms played
    assert queue.clear() == audio.Cut("a", 50)
    assert queue.pull(100) == bytes(100) and queue.clear() is None  # underrun is silence


async def test_file_source_adds_tail_silence(tmp_path):
    path = tmp_path / "hello.wav"
    write_wav(path, bytes(48_000), rate=SAMPLE_RATE)
    chunks = [c async for c in audio.FileSource(path, realtime=False, tail_silence_s=0.5).source()]
    assert sum(len(c) for c in chunks) == 48_000 + 24_000


async def test_wav_source_is_the_same_stream_as_the_file_source(tmp_path):
    """The README's `wav_source` and the panel's FileSource stream a file one way: with the trailing
    silence a server VAD needs to hear the last utterance end."""
    from voicenb import wav_source

    path = tmp_path / "hello.wav"
    write_wav(path, bytes(48_000), rate=SAMPLE_RATE)
    plain = b"".join([c async for c in wav_source(path, realtime=False)])
    panel = b"".join([c async for c in audio.FileSource(path, realtime=False).source()])
    assert plain == panel and len(plain) == 48_000 + int(1.5 * SAMPLE_RATE) * 2


def test_local_audio_says_what_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails like a missing package
    with pytest.raises(audio.AudioUnavailable, match=r"pip install sounddevice.*browser mic"):
        audio.LocalAudio().check()


async def test_local_audio_streams_through_sounddevice(monkeypatch):
    class Stream:
        def __init__(self, samplerate, blocksize, callback, **_):
            self.samplerate, self.blocksize, self.callback = samplerate, blocksize, callback

        def __enter__(self):
            block = np.full(self.blocksize, 100, dtype="<i2").tobytes()
            threading.Thread(target=self.callback, args=(block, self.blocksize, None, None)).start()
            return self

        def __exit__(self, *exc):
            return None

    fake = types.SimpleNamespace(
        RawInputStream=Stream, query_devices=lambda *a, **k: {"default_samplerate": 48000}
    )
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    source = audio.LocalAudio(chunk_ms=40).source()
    chunk = await asyncio.wait_for(anext(source), 2)
    await source.aclose()
    assert len(chunk) == 960 * 2  # 40 ms of PCM16 at 24 kHz


# --- barge-in against the scripted peer --------------------------------------------------------------


async def test_barge_in_stops_playback_and_truncates_what_was_not_heard(peer, make_session):
    now = [100.0]
    sink = audio.RecordingSink(clock=audio.PlayClock(lambda: now[0]))
    async with make_session() as s:
        AudioBridge(s, sink)
        await peer.connected()
        await peer.user_turn("Tell me a story.")
        reply = await peer.assistant_turn("Once upon a time there was a long story.", audio_s=3.0)
        await wait_until(lambda: len(sink.audio.get(reply.id, b"")) == 3 * SAMPLE_RATE * 2)  # all 3 s
        now[0] += 0.25  # the user hears 250 ms, then speaks
        await peer.send(
            {"type": "input_audio_buffer.speech_started", "item_id": "item_9", "audio_start_ms": 0}
        )
        await wait_until(lambda: "conversation.item.truncate" in peer.received_types())
    truncate = next(e for e in peer.received if e["type"] == "conversation.item.truncate")
    assert truncate["item_id"] == reply.id and truncate["content_index"] == 0
    assert truncate["audio_end_ms"] == 250
    assert sink.cuts == [audio.Cut(reply.id, 250)]


async def test_a_script_can_wait_until_the_reply_was_heard(make_session):
    now = [100.0]
    sink = audio.RecordingSink(clock=audio.PlayClock(lambda: now[0]))
    bridge = AudioBridge(make_session(), sink)
    sink.play("item_1", bytes(2400))  # 50 ms
    heard = asyncio.ensure_future(bridge.until_played())
    await drain_loop()
    assert not heard.done()  # still playing by the sink's clock
    now[0] += 0.05
    await asyncio.wait_for(heard, 2)
    await asyncio.wait_for(bridge.until_played(), 2)  # idle: at once
    bridge.close()


# --- transcript and chart --------------------------------------------------------------------------


async def test_transcript_follows_events_with_partials_summaries_and_folded_items(peer, make_session):
    policy = SummaryPolicy(trigger_tokens=10**6, keep_last=2)
    async with make_session(policy=policy) as s:
        panel = ControlPanel(s, transcript_interval_s=0.01)
        html = panel.transcript.widget
        await peer.connected()
        user = await peer.user_turn("My postcode is LS6 2AB.", transcript="later")
        await wait_until(lambda: "listening…" in html.value)
        await peer.complete_transcript(user, "My postcode is LS6 2AB.")
        await wait_until(lambda: "LS6 2AB" in html.value and "vnb-user vnb-partial" not in html.value)
        await peer.assistant_turn("Thanks, noted.")
        await converse(peer, 2)
        await wait_until(lambda: "noted order 30511" in html.value)
        s.summarise_now()
        await wait_until(lambda: s.summaries == 1)
        await wait_until(lambda: html.value.count("folded into the summary") == 4)  # two exchanges, greyed
    assert "folds 4 items" in html.value
    assert 'class="vnb-item vnb-system vnb-summary"' in html.value


def test_transcript_escapes_text():
    from voicenb.state import ConversationState

    state = ConversationState()
    state.on_item_added(
        {"id": "u1", "role": "user", "content": [{"type": "input_text", "text": "<b>x</b>"}]}, None
    )
    assert "&lt;b&gt;x&lt;/b&gt;" in transcript_html(state) and "<b>x</b>" not in transcript_html(state)


def test_window_split_is_disjoint_and_complete():
    u = Usage(input_tokens=1000, output_tokens=200, input_text=300, input_audio=700, input_cached=500,
              input_cached_audio=400, output_text=50, output_audio=150)  # fmt: skip
    text, audio, cached = window_split(u)
    assert (text, audio, cached) == (300 - 100 + 50, 700 - 400 + 150, 500)
    assert text + audio + cached == u.input_tokens + u.output_tokens


async def test_chart_shows_each_response_trigger_truncation_and_summaries(peer, make_session):
    async with make_session(policy=SummaryPolicy(trigger_tokens=10**6, keep_last=2)) as s:
        panel = ControlPanel(s, chart_interval_s=0.05)
        chart = panel.chart
        await peer.connected()
        await converse(peer, 3)
        await peer.cancelled_response()  # 0 tokens: not a window
        await wait_until(lambda: len(s.ledger.records) == 4)
        await wait_until(lambda: len(chart.bars.x) == 3)
        data = ChartData.from_ledger(s.ledger)
        assert list(chart.bars.x) == [1, 2, 3] and [list(r) for r in chart.bars.y] == [
            data.text, data.audio, data.cached,
        ]  # fmt: skip
        assert data.windows[-1] == s.window_tokens and data.audio[-1] > 0
        assert list(chart.truncation.y) == [s.ledger.spec.truncation_at] * 2
        assert list(chart.cost.y) == pytest.approx(data.cost) and data.cost[-1] > 0
        s.summarise_now()
        await wait_until(lambda: len(chart.summaries.x) == 1)
        assert chart.summaries.x[0] == 3 and chart.summaries.y[0] == s.window_tokens


async def test_chart_updates_at_most_twice_a_second(peer, make_session):
    async with make_session() as s:
        panel = ControlPanel(s)  # default interval: 0.5 s
        await peer.connected()
        before = panel.chart.throttle.calls
        for _ in range(30):
            s.core.publish(ev.UsageUpdated(s.ledger.add("r", "completed", Usage(input_tokens=10)), 10))
        throttle = panel.chart.throttle
        await wait_until(lambda: throttle.calls - before == 2)
        assert throttle._pending is None  # 30 events: one update now, one trailing, and no more due
        assert len(panel.chart.bars.x) == 30  # and it shows all of them


# --- the panel -------------------------------------------------------------------------------------------


async def test_sliders_change_the_live_policy(make_session):
    s = make_session()
    panel = ControlPanel(s)
    in_thread(lambda: setattr(panel.trigger_slider, "value", 5000))
    in_thread(lambda: setattr(panel.keep_slider, "value", 7))
    await wait_until(lambda: s.policy.trigger_tokens == 5000 and s.policy.keep_last == 7)
    await wait_until(lambda: list(panel.chart.trigger.y) == [5000, 5000])
    assert all(h.ran_on_loop_thread for h in panel.hop.hops)


async def test_trigger_slider_below_the_window_summarises_at_once(peer, make_session):
    async with make_session(policy=SummaryPolicy(trigger_tokens=10**6, keep_last=2)) as s:
        panel = ControlPanel(s)
        await peer.connected()
        await converse(peer, 3)
        await wait_until(lambda: len(s.ledger.records) == 3)
        assert s.summaries == 0
        panel.trigger_slider.value = 100  # below the current window
        await wait_until(lambda: s.summaries == 1)
        assert s.state.current_summary() is not None


async def test_start_with_a_file_pumps_it_and_stop_keeps_the_conversation(peer, make_session, tmp_path):
    path = tmp_path / "speech.wav"
    write_wav(path, silence(0.5))
    s = make_session()
    panel = ControlPanel(s, file=path)
    in_thread(lambda: setattr(panel.source_select, "value", "file"))
    await wait_until(lambda: panel.file_path.layout.display == "")
    in_thread(panel.start_button.click)
    await wait_until(lambda: panel.running and panel.stop_button.disabled is False)
    await wait_until(lambda: peer.audio_bytes >= 24_000)  # the file (0.5 s) was pumped in real time
    assert panel.connected and "connected" in panel.status.value and "offline" not in panel.status.value
    in_thread(panel.stop_button.click)
    await wait_until(lambda: not panel.running and not panel.start_button.disabled)
    assert panel.connected  # Stop pauses listening; the session stays
    await panel.close()
    assert s.connected and "panel closed" in panel.status.value  # the test made the session, not the panel
    assert panel.start_button.disabled and panel.trigger_slider.disabled
    await s.close()


async def test_unusable_source_is_reported_not_raised(make_session, monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    panel = ControlPanel(make_session())
    panel.source_select.value = "local"
    panel.start()
    assert not panel.running and "sounddevice" in panel.error
    assert "sounddevice" in panel.status.value


async def test_status_line_shows_session_age_against_the_cap(peer, make_session):
    async with make_session() as s:
        panel = ControlPanel(s)
        panel._on_event(ev.Connected(s.url, s.config.model, False))
        panel.connected_at -= 61
        panel._render_status()
        assert "01:01 / 60:00 cap" in panel.status.value and "gpt-realtime" in panel.status.value


async def test_stop_mid_reply_truncates_what_was_not_heard(peer, make_session, tmp_path):
    path = tmp_path / "speech.wav"
    write_wav(path, silence(5.0))
    browser = BrowserAudio(stop_timeout_s=0.05)  # no frontend answers here: the kernel clock decides
    now = [100.0]
    browser.clock = audio.PlayClock(lambda: now[0])
    panel = ControlPanel(make_session(), file=path, browser=browser)
    panel.source_select.value = "file"
    panel.start()
    await peer.connected()
    reply = await peer.assistant_turn("A long answer that the user will not hear to the end.", audio_s=3.0)
    heard = panel.session.state.log.get
    await wait_until(lambda: heard(reply.id) is not None and heard(reply.id).audio_s >= 3.0)  # all of it
    await wait_until(lambda: panel.session.connected)  # a truncate goes only to a confirmed session
    now[0] += 0.25  # 250 ms heard, then Stop
    in_thread(panel.stop_button.click)
    await wait_until(lambda: "conversation.item.truncate" in peer.received_types())
    truncate = next(e for e in peer.received if e["type"] == "conversation.item.truncate")
    assert truncate["item_id"] == reply.id and truncate["audio_end_ms"] == 250
    assert panel.truncated and panel.truncated[0].item_id == reply.id
    await panel.close()


# --- lifecycle: who closes what, one live panel, Start after a close --------------------------------------


async def test_close_leaves_a_session_the_panel_did_not_create_open(peer, make_session):
    async with make_session() as s:
        panel = ControlPanel(s)
        await panel.close()
        assert s.connected and peer.connections == 1
        assert panel.start_button.disabled and "panel closed" in panel.status.value


async def test_close_closes_the_session_the_panel_made(monkeypatch, peer):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setattr("voicenb.widgets.panel.VoiceSession", _session_at(peer.url))
    panel = ControlPanel(policy=SummaryPolicy(trigger_tokens=700))
    assert panel.owns_session and panel.session.policy.trigger_tokens == 700
    await panel.session.connect()
    await panel.close()
    assert not panel.session.connected


def _session_at(url: str):
    from voicenb.session import VoiceSession

    return lambda **kw: VoiceSession(api_key="test-key", websocket_base_url=url, **kw)


async def test_start_after_the_session_was_closed_reconnects(peer, make_session, tmp_path):
    path = tmp_path / "speech.wav"
    write_wav(path, silence(0.3))
    s = make_session()
    await s.connect()
    panel = ControlPanel(s, file=path)
    panel.source_select.value = "file"
    await s.close()  # e.g. a notebook's last cell
    await wait_until(lambda: not panel.connected)
    panel.start()
    await wait_until(lambda: peer.connections == 2 and peer.audio_bytes >= 14_000)
    assert panel.connected and s.connected
    panel.stop()
    await s.close()


async def test_a_second_panel_for_a_session_retires_the_first(peer, make_session):
    async with make_session() as s:
        first = ControlPanel(s)
        second = ControlPanel(s)
        assert first.closed and first.start_button.disabled and "replaced" in first.status.value
        assert not second.closed and s.connected  # the session is reused, not closed
        s.policy.trigger_tokens = 900
        await wait_until(lambda: second.trigger_box.value == 900)
        assert first.trigger_box.value != 900  # the retired panel no longer follows anything
        await second.close()


async def test_rerunning_the_panel_cell_closes_the_session_only_the_old_panel_reached(
    peer, make_session, monkeypatch
):
    monkeypatch.setattr(registry, "cell_id", lambda: "cell-42")
    old_session = make_session()
    await old_session.connect()
    old = ControlPanel(old_session)
    new_session = make_session()
    new = ControlPanel(new_session)  # the same cell run again: a new session and a new panel
    await wait_until(lambda: not old_session.connected)
    assert old.closed and not new.closed
    await new.close()


# --- the trigger control ----------------------------------------------------------------------------


async def test_sliders_follow_a_policy_changed_from_code(make_session):
    s = make_session()
    panel = ControlPanel(s)
    s.policy.trigger_tokens, s.policy.keep_last = 1234, 9
    await wait_until(lambda: panel.trigger_box.value == 1234 and panel.keep_slider.value == 9)
    assert round(panel.trigger_slider.value) == 1234
    s.policy = SummaryPolicy(trigger_tokens=640, keep_last=1)  # a new policy object too
    await wait_until(lambda: panel.trigger_box.value == 640 and panel.keep_slider.value == 1)
    assert s.policy.trigger_tokens == 640  # following the policy never writes back a different value
    await panel.close()


async def test_widget_echoes_never_overwrite_a_policy_changed_meanwhile(make_session):
    s = make_session()
    panel = ControlPanel(s)
    s.policy.trigger_tokens, s.policy.keep_last = 1234, 9
    panel.binding.follow()  # shows them now; the widgets' change events are queued on the loop
    s.policy = SummaryPolicy(trigger_tokens=640, keep_last=1)  # code changes it again before they run
    await wait_until(lambda: panel.trigger_box.value == 640 and panel.keep_slider.value == 1)
    await drain_loop()  # the queued echoes run now
    assert (s.policy.trigger_tokens, s.policy.keep_last) == (640, 1)
    await panel.close()


async def test_trigger_is_log_scale_with_an_exact_box_and_the_truncation_point(make_session):
    s = make_session(policy=SummaryPolicy(trigger_tokens=300))
    panel = ControlPanel(s)
    slider = panel.trigger_slider
    assert round(10**slider.min) == 100 and round(10**slider.max) == s.ledger.spec.truncation_at
    # a demo's 300 sits a fifth of the way along (on a linear 50 … 32,000 slider: in its first 1%)
    assert 0.15 < (np.log10(300) - slider.min) / (slider.max - slider.min) < 0.3
    assert f"{s.ledger.spec.truncation_at:,}" in panel.controls.limits.value
    in_thread(lambda: setattr(panel.trigger_box, "value", 1234))
    await wait_until(lambda: s.policy.trigger_tokens == 1234)
    await drain_loop()  # the slider mirroring the box must not round the typed value
    assert s.policy.trigger_tokens == 1234 and round(slider.value) == 1234
    in_thread(lambda: setattr(slider, "value", 4321.7))
    await wait_until(lambda: s.policy.trigger_tokens == 4300)  # a drag snaps to a round number
    assert panel.trigger_box.value == 4300
    await panel.close()


# --- plain words ----------------------------------------------------------------------------------------


async def test_a_file_that_is_not_wav_gets_one_clear_line(make_session, tmp_path):
    path = tmp_path / "talk.mp3"
    path.write_bytes(b"ID3\x04\x00" + bytes(200))
    panel = ControlPanel(make_session(), file=path)
    panel.source_select.value = "file"
    panel.start()
    assert not panel.running
    assert "talk.mp3 is not a PCM WAV file" in panel.error and "ffmpeg" in panel.error
    assert "\n" not in panel.error and "talk.mp3 is not a PCM WAV file" in panel.status.value


async def test_status_line_says_one_summary(make_session):
    s = make_session()
    panel = ControlPanel(s)
    s.pruner.summaries = 1
    panel._render_status()
    assert "1 summary ·" in panel.status.value and "summaries" not in panel.status.value
    s.pruner.summaries = 2
    panel._render_status()
    assert "2 summaries" in panel.status.value


async def test_folded_turns_collapse_under_one_line(peer, make_session):
    async with make_session(policy=SummaryPolicy(trigger_tokens=10**6, keep_last=2)) as s:
        panel = ControlPanel(s, transcript_interval_s=0.01)
        await peer.connected()
        await converse(peer, 3)
        await wait_until(lambda: len(s.ledger.records) == 3)
        s.summarise_now()
        await wait_until(lambda: s.summaries == 1)
        await wait_until(lambda: "<details" in panel.transcript.widget.value)
        html = panel.transcript.widget.value
        assert html.count("<details") == 1 and "4 earlier items no longer in the window" in html
        folded = html.split("<details", 1)[1].split("</details>", 1)[0]
        assert folded.count("folded into the summary") == 4 and "vnb-summary" not in folded


# --- the window after a summary: estimated until the next response -----------------------------------------


async def test_status_and_chart_show_the_estimated_window_after_a_summary(peer, make_session):
    async with make_session(policy=SummaryPolicy(trigger_tokens=10**6, keep_last=2)) as s:
        panel = ControlPanel(s, chart_interval_s=0.05)
        await peer.connected()
        await converse(peer, 3)
        await wait_until(lambda: len(s.ledger.records) == 3)
        panel._render_status()
        assert f"window {s.window_tokens:,} / trigger" in panel.status.value and "≈" not in panel.status.value
        peer_tokens = {i.id: i.tokens() for i in peer.items}  # the server's own count, before deletion
        before = s.window_tokens
        finished: list[ev.SummaryFinished] = []
        s.subscribe(lambda e: finished.append(e) if isinstance(e, ev.SummaryFinished) else None)
        s.summarise_now()
        await wait_until(lambda: finished)
        deleted = finished[0].deleted_ids
        assert deleted and all(i in peer_tokens for i in deleted)
        # The deleted items out (as the server counts them), the summary in as text.
        expected = before - sum(peer_tokens[i] for i in deleted) + count_text_tokens(finished[0].text)
        figures = panel.window.figures
        assert figures.estimated and figures.total == expected
        assert figures.text + figures.audio == figures.total
        panel._render_status()
        assert f"window ≈{expected:,} / trigger" in panel.status.value
        assert "estimated until the next response" in panel.status.value
        await wait_until(lambda: f"≈{expected:,} tok (estimated)" in panel.chart.figure.title)
        assert panel.chart.summaries.y[0] == before  # the marker sits on the window that was summarised

        # The next response.done replaces the estimate with the server's figure.
        await converse(peer, 1)
        await wait_until(lambda: len(s.ledger.records) == 4)
        assert not panel.window.figures.estimated and panel.window.figures.total == s.window_tokens
        panel._render_status()
        assert f"window {s.window_tokens:,} / trigger" in panel.status.value and "≈" not in panel.status.value
        await wait_until(lambda: "estimated" not in panel.chart.figure.title)


def test_a_second_summary_before_the_next_response_starts_from_the_first_estimate():
    from voicenb.economics import WindowFigures
    from voicenb.state import ConversationState
    from voicenb.widgets.window import WindowTracker

    state = ConversationState()
    state.on_item_added({"id": "t1", "role": "user", "content": [{"type": "input_text", "text": "x " * 50}]},
                        None)  # fmt: skip
    session = types.SimpleNamespace(
        ledger=TokenLedger(model_spec("gpt-realtime")),
        state=state,
        subscribe=lambda fn: lambda: None,
    )
    tracker = WindowTracker(session)  # type: ignore[arg-type]
    tracker.figures = WindowFigures(total=1000, text=200, audio=800, estimated=True)
    deleted_text = count_text_tokens("x " * 50)
    tracker._on_event(ev.SummaryFinished("sum_2", "short", ("t1", "gone-unknown")))
    figures = tracker.figures
    assert figures.estimated and figures.audio == 800
    assert figures.text == 200 - deleted_text + count_text_tokens("short")


def test_the_status_line_says_when_turns_left_the_window_before_a_summary_held_them():
    from voicenb.widgets.status import event_words

    note, error = event_words(ev.TurnsDropped(("i1", "i2", "i3"), 5_400))
    assert error is None and "3 items left the window at 5,400 tokens" in note and "next summary" in note
