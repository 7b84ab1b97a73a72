"""The token chart after 1,000 responses, as a real JupyterLab draws it: a bounded number of bars and few
enough x labels to read (the walkthrough saw them smear into one dark bar after ~75 responses)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from tests.browser.lab import Lab, launch_chromium, open_notebook, run_all, wait_for

pytestmark = pytest.mark.browser

# No server: the panel is made on a session that never connects, and its ledger gets 1,000 responses
# (a summary every 25) the way the session's reader adds them.
CELL = """
from voicenb import events as ev
from voicenb.policy import SummaryPolicy
from voicenb.session import VoiceSession
from voicenb.tokens import Usage
from voicenb.widgets import ControlPanel

session = VoiceSession.connect_to("ws://127.0.0.1:9/v1", policy=SummaryPolicy(trigger_tokens=2000))
panel = ControlPanel(session, chart_interval_s=30)
for k in range(1000):
    w = 600 + (k % 25) * 70
    usage = Usage(input_tokens=w, output_tokens=60, input_text=w // 3, input_audio=w - w // 3,
                  output_text=10, output_audio=50, input_cached=w // 2, input_cached_audio=w // 3)
    session.core.publish(ev.UsageUpdated(session.ledger.add(f"r{k}", "completed", usage), w + 60))
    if k % 25 == 24:
        session.core.publish(ev.SummaryFinished(f"sum_{k}", "gist", ()))
panel.chart.update()
panel
"""


@pytest.mark.timeout(300)
def test_chart_at_1000_responses_is_bounded_and_its_labels_readable(lab: Lab, playwright: Any) -> None:
    notebook = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "source": CELL, "outputs": [], "execution_count": None}
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (lab.root / "chart_1000.ipynb").write_text(json.dumps(notebook))
    browser = launch_chromium(playwright)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        open_notebook(page, lab, "chart_1000.ipynb")
        run_all(page, 240)
        chart = page.locator(".voicenb-chart").first
        x_axis = chart.locator(".axis").first  # bqplot draws the x axis first
        wait_for(lambda: x_axis.locator(".tick").count() > 0, 60, "the chart's x axis")
        labels = x_axis.locator(".tick text").all_text_contents()
        assert 0 < len(labels) <= 12, labels  # it drew one label per response, on top of each other
        boxes = [x_axis.locator(".tick text").nth(i).bounding_box() for i in range(len(labels))]
        assert all(a["x"] + a["width"] <= b["x"] for a, b in itertools.pairwise(boxes)), boxes
        assert chart.locator("rect.bar").count() <= 3 * 60  # three shapes per shown response, bounded
        title = chart.locator(".mainheading").first.text_content() or ""
        assert "of 1,000 responses" in title
        assert chart.bounding_box()["width"] >= page.locator(".mainheading").first.bounding_box()["width"]
    finally:
        browser.close()
