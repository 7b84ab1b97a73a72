"""What each workshop notebook promises, checked by `tests/test_notebooks.py` in the notebook's own kernel
after its last cell (a cell it appends there), so the notebooks teach and the tests check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from voicenb.tools.eval import EvalReport as Report


def check_tokens_per_second(audio_per_s: float, ratio: float) -> None:
    assert 8.5 <= audio_per_s <= 10.5, f"user audio is billed by duration (10/s), got {audio_per_s:.1f}/s"
    assert ratio > 1, "speech costs more tokens than its text"


def check_live_bot(session: Any, script: Sequence[str]) -> None:
    """What notebook 02 promises."""
    users = [t for t in session.state.turns() if t.role == "user"]
    replies = [t for t in session.state.turns() if t.role == "assistant" and t.text]
    assert len(users) >= len(script), "every spoken turn is in the log"
    assert len(replies) >= len(script), "every spoken turn was answered"
    summary = session.state.current_summary()
    assert session.summaries >= 1 and summary is not None, "the demo trigger summarised"
    assert session.state.window[0] == summary.id, "the summary sits at the root of the window"


def check_app(session: Any, panel: Any) -> None:
    """What the app page promises: a panel, and no engine or connection before a visitor presses Start."""
    assert not session.connected, "the app connects only on Start"
    assert session.backend.kind == "offline" and session.backend._engine is None, "no engine before Start"
    assert panel.start_button.description == "Start" and not panel.start_button.disabled, "Start is offered"


def check_policies(reports: Sequence[Report]) -> None:
    """What notebook 03's long call shows."""
    by_policy = {r["policy"]: r for r in reports}
    summarise, auto = by_policy["summarise"], by_policy["auto"]
    assert summarise["fact_survival"] >= 0.9 > by_policy["last-n"]["fact_survival"]
    assert summarise["fact_survival"] > auto["fact_survival"], "auto forgets the early facts"
    assert summarise["cost_usd"] <= 0.5 * auto["cost_usd"], "once full, auto busts the cache every response"
    assert summarise["max_window_tokens"] < auto["max_window_tokens"]


def check_sweep(triggers: Sequence[int], sweep: dict[str, list[Report]], at_best: Report) -> None:
    """The trade-off the sweep shows is there."""
    summarise, auto = sweep["summarise"], sweep["auto"]
    assert min(r["fact_survival"] for r in summarise) >= 0.9, "summarise keeps the facts at every trigger"
    uncut = auto[-1]["max_window_tokens"]  # the highest trigger is above anything the call reaches
    cutting = [i for i, r in enumerate(auto) if r["max_window_tokens"] < uncut]
    assert cutting and all(auto[i]["fact_survival"] < summarise[i]["fact_survival"] for i in cutting)
    # A window of a few hundred tokens is cheap to re-read fresh; from 1,000 up, auto's cache busts cost.
    assert all(auto[i]["cost_usd"] > summarise[i]["cost_usd"] for i in cutting if triggers[i] >= 1000)
    assert summarise[0]["cost_usd"] > at_best["cost_usd"], "pruning often busts the cache often"
    assert at_best["fact_survival"] >= 0.9


def check_tools(session: Any, bookings: Sequence[dict[str, Any]]) -> None:
    """What notebook 04 promises."""
    assert bookings and bookings[0]["people"] == 4, f"the model booked the table: {bookings}"
    calls = [i for i in session.state.log.values() if i.kind == "function_call"]
    outputs = [i for i in session.state.log.values() if i.kind == "function_call_output"]
    assert len(calls) >= 2 and len(outputs) >= 2, "the booking and the recall are in the full log"
    found = session.state.tool_output(calls[-1].call_id)
    assert found is not None and "Maya" in found.text, "recall returned the folded turn"
    assert session.summaries >= 1, "the booking was folded into the summary"
