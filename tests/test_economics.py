"""The cost model and the window figures, against hand-computed cases (prices per 1M tokens)."""

from __future__ import annotations

import pytest

from tests.test_tokens import API_USAGE  # one recorded usage for both suites
from voicenb.economics import (
    TokenRates,
    WindowFigures,
    auto_cost,
    estimated_window_after_summary,
    no_pruning_cost,
    optimal_pair,
    optimal_trigger,
    policy_costs,
    retention_cost,
    simulate_call,
    summarise_cost,
    summary_budget,
    trigger_sweep,
    window_breakdown,
)
from voicenb.state import Item
from voicenb.tokens import ModelSpec, TokenLedger, Usage, model_spec

# Round prices: text 4 / 0.4 / 16, audio 32 / 0.4 / 64; truncation at 8,000.
SPEC = ModelSpec("toy", 10_000, 8_000, 4.0, 0.4, 16.0, 32.0, 0.4, 64.0)
# 100 user + 200 assistant audio tokens a minute, 2 responses a minute (an exchange is 150 tokens).
RATES = TokenRates(
    user_audio_per_min=100, assistant_audio_per_min=200, responses_per_min=2, assistant_text_per_min=50
)
OUTPUT = (200 * 64 + 50 * 16) / 1e6  # 0.0136 $/min under every policy
U = 1e-6


def close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-12


def test_rates_of_a_voice_call_and_of_a_script():
    r = TokenRates.voice_call(user_share=0.4, exchange_s=20, wpm=150)
    assert (r.user_audio_per_min, r.assistant_audio_per_min, r.responses_per_min) == (240, 720, 3)
    assert r.growth_per_min == 960 and r.exchange_tokens == 320
    # 5 words (2 s at 150 wpm) then 10 words (4 s): 0.1 min, 20 user + 80 assistant audio tokens.
    s = TokenRates.from_turns([("user", "a b c d e"), ("assistant", "f g h i j k l m n o")], wpm=150)
    assert s.user_audio_per_min == pytest.approx(200) and s.assistant_audio_per_min == pytest.approx(800)
    assert s.responses_per_min == pytest.approx(10)


def test_summarise_cost_by_hand():
    # Saw 1,150 -> 3,150 with a 100-token summary: mean audio 2,050; a prune every 2,000/300 min.
    c = summarise_cost(SPEC, RATES, trigger=3150, target=1150, summary_tokens=100)
    assert close(c.output, OUTPUT)
    assert close(c.prunes_per_min, 0.15)
    # new turns once at 32, plus each prune re-bills 100 text at 4 and 1,050 audio at 32
    assert close(c.fresh_input, 300 * 32 * U + 0.15 * (100 * 4 + 1050 * 32) * U)
    # 2 responses re-read (2,050 - 150) audio + 100 text cached, less what the prunes billed fresh
    assert close(c.cached_input, 2 * (1900 * 0.4 + 100 * 0.4) * U - 0.15 * (100 * 0.4 + 1050 * 0.4) * U)
    assert close(c.total, (13600 + 14700 + 1531) * U)


def test_auto_reads_the_whole_window_fresh_every_response():
    c = auto_cost(SPEC, RATES)
    assert close(c.fresh_input, 2 * 8000 * 32 * U) and c.cached_input == 0
    assert close(c.total, 0.512 + OUTPUT)


def test_retention_cost_by_hand():
    c = retention_cost(SPEC, RATES, 0.5)  # saw 4,000 -> 8,000, no summary
    assert close(c.prunes_per_min, 0.075)
    assert close(c.fresh_input, (9600 + 0.075 * 4000 * 32) * U)
    assert close(c.cached_input, (2 * 5850 * 0.4 - 0.075 * 4000 * 0.4) * U)
    assert close(c.total, 37360 * U)
    with pytest.raises(ValueError, match="retention ratio"):
        retention_cost(SPEC, RATES, 1.0)


def test_no_pruning_grows_without_bound():
    c = no_pruning_cost(SPEC, RATES, minutes=60)  # mean window 9,000 > the 8,000 limit
    assert close(c.total, (13600 + 9600 + 2 * 8850 * 0.4) * U)
    assert no_pruning_cost(SPEC, RATES, 120).total > c.total


def test_optimal_trigger_closed_form_and_cap():
    # bust = 100 x 3.6 + 1,050 x 31.6 = 33,540 u$; span = sqrt(2 x 0.03354 x 300 / (2 x 0.4e-6)) = 5,015.5
    assert optimal_trigger(SPEC, RATES, target=1150, summary_tokens=100) == 6165
    best = summarise_cost(SPEC, RATES, 6165, 1150, 100).total
    for t in (4000, 5500, 7000, 7700):
        assert summarise_cost(SPEC, RATES, t, 1150, 100).total > best
    # Capped two exchanges below the server's truncation point.
    low_limit = ModelSpec("toy", 10_000, 5_000, 4.0, 0.4, 16.0, 32.0, 0.4, 64.0)
    assert optimal_trigger(low_limit, RATES, target=1150, summary_tokens=100) == 4700


def test_a_lower_target_is_always_cheaper():
    costs = [summarise_cost(SPEC, RATES, 6000, t, 100).total for t in (1150, 2000, 3000)]
    assert costs == sorted(costs)


def test_optimal_pair_beats_the_server_baselines_on_gpt_realtime():
    spec = model_spec("gpt-realtime")
    best = optimal_pair(spec, keep_last=4)
    assert best.target < best.trigger <= spec.truncation_at - 2 * TokenRates.voice_call().exchange_tokens
    assert best.summary_tokens == summary_budget(best.trigger) >= 400
    costs = policy_costs(spec, ratios=(0.1, 0.5))
    assert best.cost.total < 0.5 * costs["auto"].total
    assert best.cost.total < min(costs["retention 0.1"].total, costs["retention 0.5"].total)


def test_the_sweep_bottoms_out_at_the_optimal_pair():
    spec = model_spec("gpt-realtime")
    best = optimal_pair(spec)
    points = trigger_sweep(spec, range(5000, 20001, 100))
    cheapest = min(points, key=lambda p: p.cost.total)
    assert abs(cheapest.trigger - best.trigger) <= 300
    assert cheapest.cost.total == pytest.approx(best.cost.total, rel=0.01)
    with pytest.raises(ValueError, match="below the lowest window"):
        trigger_sweep(spec, [500])


def test_summary_budget_has_a_floor():
    assert summary_budget(1000) == 400 and summary_budget(10_000) == 2500
    assert summary_budget(300) == 150  # not 75 (a quarter), and at most half the trigger


# --- the window ----------------------------------------------------------------------------------


def test_window_parts_add_up_both_ways():
    w = window_breakdown(Usage.from_api(API_USAGE), model_spec("gpt-realtime"))
    assert (w.total, w.text, w.audio) == (1500, 260, 1240)
    assert (w.cached, w.fresh, w.output) == (800, 400, 300)
    assert w.text + w.audio == w.total == w.cached + w.fresh + w.output
    assert close(w.reread_cached_usd, 1500 * 0.4 * U)
    assert close(w.reread_fresh_usd, (260 * 4 + 1240 * 32) * U)
    assert "text 260 + audio 1,240" in w.describe() and not w.estimated


def test_a_usage_without_details_counts_its_totals_as_text():
    w = window_breakdown(Usage(input_tokens=100, output_tokens=20, input_cached=30))
    assert (w.total, w.text, w.audio, w.cached, w.fresh, w.output) == (120, 120, 0, 30, 70, 20)


def test_ledger_window_is_the_last_completed_response():
    ledger = TokenLedger(model_spec("gpt-realtime"))
    ledger.add("r1", "completed", Usage.from_api(API_USAGE))
    ledger.add("r2", "cancelled", Usage(input_tokens=5, input_text=5))
    w = window_breakdown(ledger)
    assert w.total == ledger.window_tokens == 1500
    assert window_breakdown(TokenLedger(model_spec("gpt-realtime"))) == WindowFigures()


def test_estimated_window_after_summary():
    ledger = TokenLedger(model_spec("gpt-realtime"))
    ledger.add("r1", "completed", Usage.from_api(API_USAGE))
    gone = [
        Item("u", "user", 0, "hi", has_audio=True, audio_s=3.0),  # 30 audio tokens
        Item("a", "assistant", 1, "hello", has_audio=True, audio_s=2.0),  # 40
        Item("t", "user", 2, "hello world"),  # 2 text tokens
    ]
    w = estimated_window_after_summary(ledger, summary_tokens=50, deleted_items=gone)
    assert w.estimated and (w.text, w.audio, w.total) == (308, 1170, 1478)
    assert w.fresh == w.total and "estimated" in w.describe()


# --- the model table ---------------------------------------------------------------------------------

LISTED = ("gpt-realtime", "gpt-realtime-1.5", "gpt-realtime-2", "gpt-realtime-2.1", "gpt-realtime-2.1-mini")


@pytest.mark.parametrize("name", LISTED)
def test_every_listed_model_resolves_with_a_computed_truncation_point(name):
    spec = model_spec(name)
    assert spec.max_output > 0 and spec.truncation_at == spec.context_window - spec.max_output
    assert spec.audio_cached < spec.audio_in and spec.text_cached < spec.text_in
    assert spec.price_source == "published" or spec.price_source.split(":")[1] in LISTED


def test_the_table_is_dated_and_knows_the_128k_family():
    from voicenb.tokens import price_table

    assert price_table()["date"] >= "2026-11"
    assert model_spec("gpt-realtime").truncation_at == 32_000 - 4_096
    assert model_spec("gpt-realtime-2").truncation_at == 128_000 - 32_000
    assert model_spec("gpt-realtime-2").text_out == 24.0


def test_an_unknown_model_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown realtime model 'gpt-nope'") as err:
        model_spec("gpt-nope")
    assert all(name in str(err.value) for name in LISTED)


# --- a whole call --------------------------------------------------------------------------------------

RESPONSE_OUT = 100 * 64 + 25 * 16  # 100 audio + 25 text tokens of reply per response: 6,800 u$


def test_simulated_call_without_pruning_by_hand():
    # 2 responses a minute, 150 tokens an exchange: windows of 150, 300, 450, 600 audio tokens.
    call = simulate_call(SPEC, RATES, minutes=2, policy="none")
    assert call.minutes == [0.5, 1.0, 1.5, 2.0]
    assert call.window == [150 + 125, 300 + 125, 450 + 125, 600 + 125]  # input + the reply
    per_response = [150 * 32, 150 * 0.4 + 150 * 32, 300 * 0.4 + 150 * 32, 450 * 0.4 + 150 * 32]
    assert call.cost_usd[-1] == pytest.approx((sum(per_response) + 4 * RESPONSE_OUT) * U)
    assert call.cost_uncached_usd[-1] == pytest.approx(((150 + 300 + 450 + 600) * 32 + 4 * RESPONSE_OUT) * U)


def test_simulated_auto_reads_everything_fresh_once_full():
    call = simulate_call(SPEC, RATES, minutes=2, policy="auto", limit=400)
    fills = 150 * 32 + (150 * 0.4 + 150 * 32)
    assert call.cost_usd[-1] == pytest.approx((fills + 2 * 400 * 32 + 4 * RESPONSE_OUT) * U)
    assert max(call.window) == 400 + 125


def test_simulated_summarise_cuts_after_the_trigger():
    call = simulate_call(SPEC, RATES, 2, "summarise", trigger=400, target=100, summary_tokens=100)
    # r2 (window 425) triggers: the window keeps only the 100-token summary; r3 reads it and the new
    # exchange fresh, r4 finds them cached again.
    assert call.window == [275, 425, 100 + 150 + 125, 100 + 300 + 125]
    first_two = 150 * 32 + 150 * 0.4 + 150 * 32
    r3 = 100 * 4 + 150 * 32
    r4 = 100 * 0.4 + 150 * 0.4 + 150 * 32
    assert call.cost_usd[-1] == pytest.approx((first_two + r3 + r4 + 4 * RESPONSE_OUT) * U)


def test_simulation_meets_the_steady_state():
    # After a long call the per-minute slope matches the closed form.
    call = simulate_call(SPEC, RATES, 600, "retention", ratio=0.5)
    slope = (call.cost_usd[-1] - call.cost_usd[599]) / 300
    assert slope == pytest.approx(retention_cost(SPEC, RATES, 0.5).total, rel=0.03)


def test_an_entry_may_state_its_truncation_point(monkeypatch):
    import voicenb.tokens as tokens

    prices = {"input": 1.0, "cached": 0.1, "output": 2.0}
    table = {
        "realtime": {
            "local": {"context_window": 8000, "truncation_at": 7000, "text": prices, "audio": prices}
        }
    }
    monkeypatch.setattr(tokens, "price_table", lambda: table)
    spec = tokens.model_spec("local")
    assert spec.truncation_at == 7000 and spec.max_output == 0 and spec.price_source == "published"
