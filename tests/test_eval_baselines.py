"""The eval's server baselines: auto and retention at the model's limit, no pruning as a theoretical line."""

from __future__ import annotations

import json

import pytest

from tests.test_eval import CALL
from voicenb import cli
from voicenb.model_table import DEFAULT_REALTIME_MODEL
from voicenb.tokens import model_spec
from voicenb.tools.eval import EvalSettings, compare_settings, evaluate, load_conversation, retention_sweep
from voicenb.tools.eval.replay import session_parts
from voicenb.tools.eval.report import compare_table


@pytest.fixture
def call(tmp_path):
    path = tmp_path / "tiny_call.json"
    path.write_text(json.dumps(CALL))
    return path


def test_baselines_cut_where_the_model_does():
    spec = model_spec("gpt-realtime-2")
    auto, _, _ = session_parts(EvalSettings(policy="auto", model="gpt-realtime-2"))
    assert (
        auto.truncation == "auto"
        and EvalSettings(model="gpt-realtime-2").limit == spec.truncation_at == 96_000
    )
    ret, _, _ = session_parts(EvalSettings(policy="retention", retention_ratio=0.3))
    default_limit = model_spec(DEFAULT_REALTIME_MODEL).truncation_at  # retention cuts at the model's limit
    assert ret.truncation["token_limits"]["post_instructions"] == default_limit == 96_000
    assert ret.truncation["retention_ratio"] == 0.3
    # summarise defaults to the model's cost-optimal pair
    _, policy, _ = session_parts(EvalSettings(policy="summarise"))
    assert policy.target_tokens is not None and policy.target_tokens < policy.trigger_tokens < 32_000
    with pytest.raises(ValueError, match="unknown realtime model"):
        EvalSettings(model="gpt-nope")


def test_compare_runs_every_ratio_and_labels_none_theoretical():
    labels = [s.label for s in compare_settings(EvalSettings(), ratios=(0.1, 0.5))]
    assert labels == ["summarise", "last-n", "retention 0.1", "retention 0.5", "auto", "none (theoretical)"]


async def test_auto_trims_oldest_turns_at_the_limit_and_busts_the_cache(call):
    conv = load_conversation(call)
    auto = await evaluate(conv, EvalSettings(policy="auto", truncation_at=300), progress=False)
    none = await evaluate(conv, EvalSettings(policy="none"), progress=False)
    assert none["policy"] == "none (theoretical)" and none["theoretical"]
    assert auto["max_window_tokens"] < none["max_window_tokens"]
    assert auto["fact_survival"] < 1.0  # the oldest turns, and their facts, were dropped
    # once full, every response re-reads the window fresh: a smaller share is cached than without pruning
    assert (
        auto["input_cached_tokens"] / auto["input_tokens"]
        < none["input_cached_tokens"] / none["input_tokens"]
    )


async def test_retention_sweep_keeps_more_with_a_higher_ratio(call):
    conv = load_conversation(call)
    reports = await retention_sweep(conv, EvalSettings(truncation_at=300), ratios=(0.2, 0.8), progress=False)
    assert [r["policy"] for r in reports] == ["retention 0.2", "retention 0.8"]
    assert reports[0]["mean_window_tokens"] < reports[1]["mean_window_tokens"]


def test_compare_json_keeps_its_shape_and_the_table_is_relative_to_auto(call, tmp_path, capsys):
    args = ["eval", "--compare", str(call), "--trigger", "250", "--summariser", "offline", "--json"]
    args += ["--plot", str(tmp_path / "c.png")]
    assert cli.main(args) == 0
    reports = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["reports"]
    assert [r["policy"] for r in reports][-2:] == ["auto", "none (theoretical)"]
    for r in reports:
        for key in ("policy", "cost_usd", "cost_uncached_usd", "fact_survival", "max_window_tokens"):
            assert key in r
    table = compare_table(reports)
    assert "vs auto" in table and "vs none" not in table
    assert [line.split()[-3] for line in table.splitlines() if line.startswith("auto")] == ["100%"]


def test_chatter_padding_restates_no_fact(call):
    from voicenb.tools.eval import extend_with_chatter
    from voicenb.tools.eval.conversations import chatter_pairs

    conv = load_conversation(call)
    # Pairs 0-1 and 4-5 state facts and 2-3 names a colour: only the two small-talk exchanges remain.
    assert [u[1][:10] for u, _ in chatter_pairs(conv)] == ["Lovely, th", "Okay, I th"]
    long = extend_with_chatter(conv, 3)
    assert long.minutes >= 3 and long.turns[: len(conv.turns)] == conv.turns and long.facts == conv.facts
    padding = " ".join(t for _, t in long.turns[len(conv.turns) :]).lower()
    assert not any(a.lower() in padding for f in conv.facts for a in (*f.answers, *f.superseded))
