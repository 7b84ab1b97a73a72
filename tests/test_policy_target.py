"""The cache-aware summary policy: a low-water target, a budget floor, defaults from the cost model."""

from __future__ import annotations

from voicenb.economics import optimal_pair
from voicenb.policy import SummaryPolicy
from voicenb.session.config import SessionConfig
from voicenb.session.core import SessionCore
from voicenb.state import ConversationState, Item
from voicenb.tokens import model_spec


def audio_call(n_turns: int) -> ConversationState:
    """Turns of 100 audio tokens each: users speak 10 s (10 tok/s), the assistant 5 s (20 tok/s)."""
    s = ConversationState()
    for n in range(n_turns):
        role = "user" if n % 2 == 0 else "assistant"
        s.log[f"i{n}"] = Item(
            f"i{n}", role, n, f"turn {n}", has_audio=True, audio_s=10.0 if role == "user" else 5.0
        )
        s.window.append(f"i{n}")
    return s


def test_target_folds_just_enough_oldest_turns():
    policy = SummaryPolicy(trigger_tokens=800, keep_last=2, target_tokens=700, summary_floor_tokens=100)
    assert policy.summary_budget_tokens == 200  # 25 % of 800
    # 800 now + a 200-token summary: folding 3 turns of 100 brings it to 700.
    assert policy.plan(audio_call(8), window_tokens=800).item_ids == ["i0", "i1", "i2"]
    # Without the window figure (or without a target) everything but keep_last is folded, as before.
    assert policy.plan(audio_call(8)).item_ids == [f"i{n}" for n in range(6)]
    assert SummaryPolicy(trigger_tokens=800, keep_last=2).plan(audio_call(8), 800).item_ids[-1] == "i5"


def test_target_still_keeps_last_and_min_turns():
    policy = SummaryPolicy(trigger_tokens=20_000, keep_last=4, min_turns=3, target_tokens=10_000)
    assert policy.plan(audio_call(8), window_tokens=800).item_ids == ["i0", "i1", "i2"]
    low = SummaryPolicy(trigger_tokens=800, keep_last=4, target_tokens=0)
    assert low.plan(audio_call(8), window_tokens=800).item_ids == ["i0", "i1", "i2", "i3"]


def test_a_target_above_a_lowered_trigger_folds_everything():
    policy = SummaryPolicy.for_model("gpt-realtime", keep_last=2)
    policy.trigger_tokens = 300  # e.g. the panel's slider, below the model's target
    assert policy.plan(audio_call(8), window_tokens=800).item_ids == [f"i{n}" for n in range(6)]


def test_the_old_summary_counts_as_folded():
    s = audio_call(8)
    s.log["sum_a"] = Item("sum_a", "system", 99, "x " * 300, is_summary=True)  # 300 text tokens
    s.window.insert(0, "sum_a")
    policy = SummaryPolicy(trigger_tokens=800, keep_last=2, target_tokens=700, summary_floor_tokens=100)
    # 1,100 - 300 old + 200 new = 1,000: three turns to reach 700.
    assert policy.plan(s, window_tokens=1100).item_ids == ["sum_a", "i0", "i1", "i2"]


def test_summary_budget_never_below_the_floor():
    assert SummaryPolicy(trigger_tokens=1000).summary_budget_tokens == 400
    assert SummaryPolicy(trigger_tokens=300).summary_budget_tokens == 150
    assert SummaryPolicy(trigger_tokens=300).plan_now(audio_call(6)) is not None


def test_defaults_come_from_the_cost_model():
    for name in ("gpt-realtime", "gpt-realtime-2.1-mini"):
        best = optimal_pair(model_spec(name), keep_last=4)
        policy = SummaryPolicy.for_model(name)
        assert (policy.trigger_tokens, policy.target_tokens) == (best.trigger, best.target)
        assert policy.trigger_tokens < model_spec(name).truncation_at
    assert SummaryPolicy.for_model("gpt-realtime", keep_last=6, language="es").language == "es"
    core = SessionCore(SessionConfig(model="gpt-realtime"))
    assert core.policy.trigger_tokens == SummaryPolicy.for_model("gpt-realtime").trigger_tokens


def test_the_offline_default_fires_within_the_local_models_context_and_gives_it_time():
    from voicenb.session import Backend
    from voicenb.session.defaults import OFFLINE_MODEL, default_policy

    offline = default_policy("gpt-realtime", Backend.offline())
    assert offline.trigger_tokens == model_spec(OFFLINE_MODEL).default_trigger
    assert offline.trigger_tokens < SummaryPolicy.for_model("gpt-realtime").trigger_tokens
    assert offline.timeout_s >= 180  # a 1.5B on 2 cores: a fold takes 30-50 s, more beside replies
    online = default_policy("gpt-realtime", Backend.openai(api_key="sk-test"))
    assert online.timeout_s == SummaryPolicy().timeout_s
