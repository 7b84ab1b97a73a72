"""The API key never lands in widget state, logs or recordings (scanned, not assumed)."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import wait_until
from tests.test_session import converse
from voicenb.session import VoiceSession

SECRET = "sk-fake.security.test.SECRET.0123456789"  # dotted: no key scanner mistakes it for one


async def test_key_is_not_in_logs(peer, caplog):
    caplog.set_level(logging.DEBUG)  # the SDK's and websockets' debug logs included
    async with VoiceSession(api_key=SECRET, websocket_base_url=peer.url) as s:
        await peer.connected()
        await converse(peer, 2)
        await wait_until(lambda: len(s.state.turns()) == 4)
        await peer.drop()  # errors and a handoff get logged too
        await wait_until(lambda: s.handoffs == 1)
    assert caplog.records and SECRET not in caplog.text
    assert "SECRET.0123" not in caplog.text


async def test_key_is_not_in_widget_state(peer):
    pytest.importorskip("ipywidgets")
    pytest.importorskip("anywidget")
    pytest.importorskip("bqplot")
    from ipywidgets.widgets.widget import _instances  # every live widget (Widget.widgets is deprecated)

    from voicenb.widgets import ControlPanel

    async with VoiceSession(api_key=SECRET, websocket_base_url=peer.url) as s:
        panel = ControlPanel(s)
        await peer.connected()
        await converse(peer, 1)
        await wait_until(lambda: len(s.state.turns()) == 2)
        await wait_until(lambda: "30518" in panel.transcript.widget.value)
        states = [w.get_state() for w in list(_instances.values())]
        await panel.close()
    dumped = json.dumps(states, default=lambda o: repr(o))
    assert "30518" in dumped  # the scan saw the panel's live state (the transcript holds the first turn)
    assert SECRET not in dumped
