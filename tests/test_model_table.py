"""Current models by default; deprecated names still work with one dated warning; one table for both."""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import re
import typing

import pytest
from openai.types.realtime import RealtimeSessionCreateRequest
from pydantic import TypeAdapter

from voicenb import cli, model_table
from voicenb.model_table import DEFAULT_REALTIME_MODEL, DEFAULT_TEXT_MODEL, shutdown, unknown_on_purpose
from voicenb.policy import SummaryPolicy
from voicenb.session import VoiceSession
from voicenb.session.config import SessionConfig
from voicenb.summarisers import ChatSummariser
from voicenb.tokens import model_spec, price_table


def sdk_realtime_models() -> list[str]:
    """Every literal the installed SDK lists for a realtime session's ``model``."""
    hint = RealtimeSessionCreateRequest.model_fields["model"].annotation
    literals = [arg for arg in typing.get_args(hint) if typing.get_origin(arg) is typing.Literal]
    return [name for lit in literals for name in typing.get_args(lit)]


def sdk_deprecations(module: object) -> dict[str, str]:
    """name -> announced shutdown date, read from the SDK's own 'Deprecated values' docstrings."""
    source = inspect.getsource(module)  # type: ignore[arg-type]
    found: dict[str, str] = {}
    for block in re.findall(r"- ((?:\"[^\"]+\",?\s*)+):\s*Announced shutdown\s+date:\s*([\d-]+)", source):
        names, date = block
        for name in re.findall(r"\"([^\"]+)\"", names):
            found[name] = date
    return found


@pytest.fixture
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(model_table, "_WARNED", set())


def test_every_sdk_realtime_model_is_in_the_table_or_unknown_on_purpose():
    names = sdk_realtime_models()
    assert "gpt-realtime-2.1" in names and len(names) > 10  # the parse found the SDK's list
    table = price_table()["realtime"]
    missing = [n for n in names if n not in table and unknown_on_purpose(n) is None]
    assert missing == []


def test_the_tables_shutdown_dates_are_the_sdks():
    from openai.types.realtime import realtime_session_create_request
    from openai.types.shared import chat_model

    announced = {**sdk_deprecations(chat_model), **sdk_deprecations(realtime_session_create_request)}
    assert announced["gpt-realtime"] == "2027-01-20" and announced["gpt-4o-mini"] == "2027-01-14"
    ours = {n: shutdown(n) for n in announced}
    # every deprecated name we carry (as a row or in the deprecated list) has the SDK's date ...
    carried = {n: s.date.isoformat() for n, s in ours.items() if s}
    assert carried == {n: d for n, d in announced.items() if n in carried}
    # ... and every deprecated realtime literal, and the text models we ever defaulted to, are carried
    for name in [*[n for n in sdk_realtime_models() if n in announced], "gpt-4o-mini", "gpt-4.1-mini"]:
        assert ours[name] is not None, name


def test_the_defaults_are_current_and_priced():
    assert shutdown(DEFAULT_REALTIME_MODEL) is None and shutdown(DEFAULT_TEXT_MODEL) is None
    assert model_spec(DEFAULT_REALTIME_MODEL).price_source == "published"
    assert DEFAULT_TEXT_MODEL in price_table()["text"]
    for row in (*price_table()["realtime"].values(), *price_table()["text"].values()):
        if "use_instead" in row:  # a replacement is itself current
            assert shutdown(row["use_instead"]) is None


def test_openai_session_payload_for_the_default_validates_against_the_sdk(fresh_warnings, caplog):
    session = VoiceSession.openai(api_key="sk-test")
    # the model travels in the connection's URL (connect(model=...)); with it, the payload is a whole
    # session create request
    request = {**session.config.to_api(), "model": session.config.model}
    parsed = TypeAdapter(RealtimeSessionCreateRequest).validate_python(request)
    assert parsed.model == DEFAULT_REALTIME_MODEL == "gpt-realtime-2.1"
    assert DEFAULT_REALTIME_MODEL in sdk_realtime_models()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_deprecated_name_works_and_warns_exactly_once_with_its_date(fresh_warnings, caplog):
    with caplog.at_level(logging.WARNING, logger="voicenb"):
        config = SessionConfig(model="gpt-realtime")
        VoiceSession.offline(config)  # a local engine ignores the name: nothing to warn about
        VoiceSession.connect_to("ws://127.0.0.1:8765/v1", config)
        assert not caplog.records
        VoiceSession.connect_to("wss://proxy.example.com/v1", config, api_key="sk-test").config.to_api()
        VoiceSession.openai(config, api_key="sk-test").config.to_api()
        VoiceSession.openai(config, api_key="sk-test")
    warned = [r.getMessage() for r in caplog.records if "gpt-realtime" in r.getMessage()]
    assert len(warned) == 1
    assert "2027-01-20" in warned[0] and "'gpt-realtime-2.1'" in warned[0]
    assert VoiceSession.openai(config, api_key="sk-test").config.model == "gpt-realtime"  # still works


def test_the_summariser_defaults_to_a_current_model_and_warns_on_a_deprecated_one(fresh_warnings, caplog):
    assert ChatSummariser(client=object()).model == DEFAULT_TEXT_MODEL
    with caplog.at_level(logging.WARNING, logger="voicenb"):
        ChatSummariser(client=object(), model="gpt-4o-mini")
        ChatSummariser(client=object(), model="gpt-4o-mini")
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and "2027-01-14" in warned[0] and "gpt-5.4-mini" in warned[0]


def test_a_shutdown_date_in_the_past_says_so():
    gone = shutdown("gpt-realtime")
    assert gone is not None
    assert "is deprecated" in gone.message(dt.date(2026, 12, 1))
    assert "was shut down on 2027-01-20" in gone.message(dt.date(2027, 2, 1))


def test_eval_help_shows_the_new_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["eval", "--help"])
    assert "(default gpt-realtime-2.1)" in " ".join(capsys.readouterr().out.split())  # however it wraps


def test_an_unknown_on_purpose_model_says_why():
    with pytest.raises(ValueError, match="beta-era preview"):
        model_spec("gpt-4o-realtime-preview")


def test_the_trigger_is_capped_by_the_quality_ceiling_and_says_which_bound_applied():
    policy = SummaryPolicy.for_model(DEFAULT_REALTIME_MODEL)
    assert policy.bounds is not None and policy.trigger_tokens <= 32_000
    assert policy.bounds.binding == "the cost-optimal trigger"
    assert "the cost-optimal trigger for gpt-realtime-2.1" in policy.describe()
    # a lower ceiling binds, and the target is recomputed for the capped trigger
    capped = SummaryPolicy.for_model(DEFAULT_REALTIME_MODEL, ceiling=4_000)
    assert capped.trigger_tokens == 4_000 and capped.target_tokens is not None
    assert capped.target_tokens < 4_000 and "the quality ceiling for gpt-realtime-2.1" in capped.describe()
    capped.trigger_tokens = 3_000  # e.g. the panel's slider
    assert "trigger set by hand" in capped.describe()
    assert "set by hand" in SummaryPolicy(trigger_tokens=900).describe()


def test_the_offline_engines_context_is_named_when_it_binds():
    from voicenb.session import Backend
    from voicenb.session.defaults import default_policy

    policy = default_policy(DEFAULT_REALTIME_MODEL, Backend.offline())
    assert policy.trigger_tokens == 5_120 and "the offline engine's 8k context" in policy.describe()
