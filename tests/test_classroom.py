"""What a learner meets in the workshop walkthrough (issue 24): the status line names the URL the session
will use, the trigger cannot pass the server's truncation point and says why it does not fold, the event
API times out in one line, commands before Start and an unreachable OpenAI say what to do, the chart
stays bounded at 1,000 responses, and a summary that works clears an earlier failure."""

from __future__ import annotations

import inspect
import socket

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from tests.conftest import wait_until
from tests.test_widgets import converse, in_thread
from voicenb import events as ev
from voicenb.policy import SummaryPolicy
from voicenb.session import VoiceSession
from voicenb.session.backends import Backend
from voicenb.tokens import Usage
from voicenb.widgets.panel import ControlPanel


def closed_port() -> int:
    """A loopback port nobody listens on (connecting is refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- (a) the status line names the URL the session will use ------------------------------------------


async def test_status_before_connecting_names_where_the_session_will_talk(make_session, peer):
    offline = ControlPanel(VoiceSession.offline())
    # it read "offline engine · gpt-realtime wss://api.openai.com/v1"
    assert "api.openai.com" not in offline.status.value
    assert "offline engine" in offline.status.value and "on this machine" in offline.status.value
    remote = ControlPanel(make_session())
    assert peer.url in remote.status.value and "OpenAI" not in remote.status.value


# --- (b) the trigger stops at the truncation point, and says why it does not fold ------------------------


async def test_trigger_box_cannot_pass_the_servers_truncation_point(make_session):
    s = make_session(policy=SummaryPolicy(trigger_tokens=300))
    panel = ControlPanel(s)
    top = s.ledger.spec.truncation_at
    assert panel.trigger_box.max == top and round(10**panel.trigger_slider.max) == top
    in_thread(lambda: setattr(panel.trigger_box, "value", s.ledger.spec.context_window))
    await wait_until(lambda: s.policy.trigger_tokens == top)
    assert panel.trigger_box.value == top
    panel.set_trigger(10 * top)  # from code too
    assert s.policy.trigger_tokens == top
    await panel.close()


async def test_an_offline_session_stops_at_the_engines_own_truncation_point():
    """The offline engine truncates where its config says (a 32k model's point), not where the default
    model's 128k window would: the panel's limit and chart line say the engine's figure."""
    from voicenb.engine.config import EngineConfig

    s = VoiceSession.offline()
    engine_limit = EngineConfig().truncation_at
    assert s.truncation_at == engine_limit < s.ledger.spec.truncation_at  # 28,224 < 96,000
    panel = ControlPanel(s)
    assert panel.trigger_box.max == engine_limit and f"{engine_limit:,}" in panel.controls.limits.value
    assert "the offline engine truncates" in panel.controls.limits.value
    panel.chart.update()
    assert list(panel.chart.truncation.y) == [engine_limit] * 2
    await panel.close()


async def test_trigger_below_the_window_that_cannot_fold_says_why(peer, make_session):
    async with make_session(policy=SummaryPolicy(trigger_tokens=10**6, keep_last=20)) as s:
        panel = ControlPanel(s)
        await peer.connected()
        await converse(peer, 2)
        await wait_until(lambda: len(s.ledger.records) == 2)
        panel.trigger_slider.value = 100  # below the window, but every turn is kept
        await wait_until(lambda: "no summary yet" in panel.note)
        assert s.summaries == 0 and not s.summarising
        assert "keep last turns" in panel.note and "\n" not in panel.note
        await wait_until(lambda: "too few turns to fold" in panel.status.value)
        panel.keep_slider.value = 1  # now there is something to fold: it folds at once
        await wait_until(lambda: s.summaries == 1)


# --- (c) the event API times out; commands before Start say what to do ----------------------------------


async def test_next_has_a_default_timeout_with_a_one_line_message(make_session, peer):
    assert inspect.signature(VoiceSession.next).parameters["timeout"].default is not None
    async with make_session() as s:
        await peer.connected()
        with pytest.raises(TimeoutError) as caught:
            await s.next(ev.UsageUpdated, timeout=0.05)
    message = str(caught.value)
    assert "no UsageUpdated event within 0.05 s" in message and "timeout=None" in message
    assert "\n" not in message


async def test_send_text_before_start_says_press_start(make_session):
    s = make_session()
    with pytest.raises(ConnectionError, match=r"press Start .*connect\(\)"):
        await s.send_text("hello?")


# --- (d) OpenAI unreachable: one line naming the network and the offline engine --------------------------


async def test_unreachable_openai_says_network_and_offline_engine_in_one_line():
    # OpenAI's own kind of backend, pointed at a loopback port nobody serves (no test reaches the internet)
    backend = Backend("openai", "sk-test-not-a-key", f"ws://127.0.0.1:{closed_port()}/v1")
    s = VoiceSession(backend=backend, policy=SummaryPolicy(trigger_tokens=10_000))
    with pytest.raises(ConnectionError) as caught:
        await s.connect()
    message = str(caught.value)
    assert message.startswith("cannot reach OpenAI") and "network" in message
    assert "VoiceSession.offline()" in message and "Errno" not in message and "\n" not in message
    assert caught.value.__suppress_context__  # no 70-line chain of the SDK's internals under it

    panel = ControlPanel(s)  # Start in the panel shows the same line
    panel.start()
    await wait_until(lambda: "cannot reach OpenAI" in panel.status.value and not panel.running)
    assert "VoiceSession.offline()" in panel.status.value and "\n" not in panel.error


# --- (e) the chart stays bounded and readable ------------------------------------------------------------


SHOWN_AT_MOST = 60  # bars (3 shapes each) however long the call
LABELS_AT_MOST = 12  # x labels in half the panel's width


async def test_chart_at_1000_responses_is_bounded_and_readable(peer, make_session):
    async with make_session(policy=SummaryPolicy(trigger_tokens=10**6)) as s:
        panel = ControlPanel(s, chart_interval_s=60)  # updated by hand below
        chart = panel.chart
        await peer.connected()
        for k in range(1000):
            s.ledger.add(f"r{k}", "completed", Usage(input_tokens=1000 + k, output_tokens=50))
            if k % 10 == 0:
                chart._on_event(ev.SummaryFinished(f"sum_{k}", "gist", ()))
        chart.update()
        shown = len(chart.bars.x)
        assert shown <= SHOWN_AT_MOST and chart.bars.x[-1] == 1000  # the latest responses
        assert all(len(series) == shown for series in chart.bars.y) and len(chart.cost.x) == shown
        assert len(chart.summary_marks) <= SHOWN_AT_MOST and len(chart.summaries.x) <= shown // 10 + 1
        assert chart.x_axis.num_ticks <= LABELS_AT_MOST  # the browser test counts the labels drawn
        title = chart.figure.title
        assert f"last {shown} of 1,000 responses" in title and len(title) <= 70  # fits the panel's half
        assert f"{s.ledger.spec.truncation_at:,}" in chart.legend.value  # the limits' figures moved here


# --- (f) a summary that works clears an earlier failure --------------------------------------------------


async def test_a_later_summary_clears_the_failed_summarys_message(make_session):
    s = make_session()
    panel = ControlPanel(s)
    s.core.publish(ev.SummaryFailed("TimeoutError: the summariser took too long", 30.0))
    assert panel.error.startswith("summary failed")
    panel._render_status()
    assert '<span class="vnb-err">' in panel.status.value
    s.core.publish(ev.SummaryFinished("sum_1", "the gist", ()))
    assert panel.error == ""
    panel._render_status()
    assert '<span class="vnb-err">' not in panel.status.value
    s.core.publish(ev.Error("the server said no"))  # other errors stay until something replaces them
    s.core.publish(ev.SummaryFinished("sum_2", "the gist", ()))
    assert panel.error == "the server said no"


# --- a trigger the summary itself cannot get under ----------------------------------------------------


async def test_a_trigger_below_the_window_after_a_summary_is_named(peer, make_session):
    async with make_session(policy=SummaryPolicy(trigger_tokens=10**6, keep_last=2)) as s:
        panel = ControlPanel(s)
        await peer.connected()
        await converse(peer, 3)
        await wait_until(lambda: len(s.ledger.records) == 3)
        s.summarise_now()
        await wait_until(lambda: s.summaries == 1)
        assert "summarise again" not in panel.note  # under a high trigger nothing to say
        await converse(peer, 2)
        await wait_until(lambda: len(s.ledger.records) == 5)
        panel.set_trigger(100)  # a demo trigger below what a summary plus the kept turns weigh
        await wait_until(lambda: s.summaries == 2)
        after = panel.window.figures.total
        assert after >= 100 and f"window is still ≈{after:,}" in panel.note
        assert "every reply will summarise again" in panel.note and "\n" not in panel.note


async def test_notebook_says_where_the_summary_appears_as_the_panel_draws_it(peer, make_session):
    import json
    from pathlib import Path

    async with make_session(policy=SummaryPolicy(trigger_tokens=10**6, keep_last=2)) as s:
        panel = ControlPanel(s, transcript_interval_s=0.01)
        await peer.connected()
        await converse(peer, 3)
        await wait_until(lambda: len(s.ledger.records) == 3)
        s.summarise_now()
        await wait_until(lambda: s.summaries == 1)
        await wait_until(lambda: "<details" in panel.transcript.widget.value)
        html = panel.transcript.widget.value.split("</style>", 1)[1]
    kept = html.index(s.state.turns()[-1].text)
    assert html.index("<details") < kept < html.index('vnb-summary"')  # folded, kept turns, then summary
    notebook = Path(__file__).parents[1] / "notebooks" / "02_live_summarising_bot.ipynb"
    text = " ".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"])
    text = " ".join(text.split())
    assert "top of the transcript" not in text and "appears below the turns it keeps" in text
