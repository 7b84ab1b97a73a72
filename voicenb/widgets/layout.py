"""The panel's widgets in their places: the action buttons, and one view of every part (no behaviour;
`ControlPanel` binds the buttons)."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w


def action_buttons() -> tuple[w.Button, w.Button, w.Button]:
    """Start, Stop and "Summarise now", as a panel first shows them (nothing running yet)."""
    start = w.Button(description="Start", icon="play", button_style="success")
    stop = w.Button(description="Stop", icon="stop", disabled=True)
    summarise = w.Button(description="Summarise now", icon="compress", tooltip="fold old turns now")
    return start, stop, summarise


def panel_view(
    actions: Sequence[w.Widget], controls: w.Widget, status: w.Widget, browser: w.Widget,
    transcript: w.Widget, chart: w.Widget,
) -> w.VBox:  # fmt: skip
    """The actions in a row, the policy controls, the status line, the browser audio widget, then the
    transcript and the chart side by side (one under the other where the notebook is narrow)."""
    side = {"flex": "1 1 420px", "min_width": "320px"}
    view = w.VBox(
        [
            w.HBox(list(actions), layout=w.Layout(flex_flow="row wrap")),
            controls,
            status,
            browser,
            w.HBox([w.Box([transcript], layout=w.Layout(**side)),
                    w.Box([chart], layout=w.Layout(**side))],
                   layout=w.Layout(flex_flow="row wrap", width="100%")),
        ],
        layout=w.Layout(width="100%"),
    )  # fmt: skip
    view.add_class("voicenb-panel")
    return view
