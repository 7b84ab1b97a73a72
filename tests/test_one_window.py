"""One window figure everywhere: the panel (status line, chart) and the notebooks' plot take it from the
same function, `voicenb.economics.window_breakdown` (issue 12: "one cost story from one pure function")."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")
pytest.importorskip("matplotlib")

from voicenb import economics
from voicenb import events as ev
from voicenb.tokens import Usage
from voicenb.widgets.panel import ControlPanel


async def test_panel_and_notebook_windows_come_from_window_breakdown(make_session, monkeypatch):
    calls: list[str] = []
    real = economics.window_breakdown

    def marked(source, spec=None):  # the real figures, with a total no other code path would produce
        calls.append(type(source).__name__)
        figures = real(source, spec)
        return economics.WindowFigures(424_242, figures.text, figures.audio, estimated=False)

    async with make_session() as s:
        usage = Usage(input_tokens=900, output_tokens=100, input_text=300, input_audio=600, output_audio=100)
        s.core.publish(ev.UsageUpdated(s.ledger.add("r1", "completed", usage), 1000))
        before = [w.total for w in economics.window_series(s.ledger)]
        panel = ControlPanel(s, chart_interval_s=0.01)
        assert "window 1,000 / trigger" in panel.status_text() and before == [1000]

        monkeypatch.setattr(economics, "window_breakdown", marked)  # what the panel calls
        monkeypatch.setattr(economics.window, "window_breakdown", marked)  # what window_series calls
        s.core.publish(ev.UsageUpdated(s.ledger.add("r2", "completed", usage), 1000))
        panel.chart.update()
        assert "window 424,242 / trigger" in panel.status_text()  # the panel's status line
        assert panel.chart.figure.title.startswith("window 424,242 tok")  # the panel's chart
        assert [w.total for w in economics.window_series(s.ledger)] == [424_242] * 2  # the notebooks' plots
        assert calls.count("TokenLedger") >= 1 and calls.count("Usage") >= 2
        await panel.close()
