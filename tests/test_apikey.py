import logging

import pytest

from voicenb.apikey import (
    REDACTED,
    forget_secret,
    get_api_key,
    install_log_redaction,
    protect_logs,
    redact_credentials,
    redact_text,
    redact_value,
    register_secret,
)


def test_key_from_environment_or_prompt(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert get_api_key() == "sk-env"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert get_api_key() is None
    monkeypatch.setattr("getpass.getpass", lambda prompt: " sk-typed ")
    assert get_api_key(prompt=True) == "sk-typed"
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")
    assert get_api_key(prompt=True) is None


@pytest.fixture
def secret():
    value = "sk-test-" + "Zq9" * 6  # not a real key's shape: no scanner flags it
    register_secret(value)
    yield value
    forget_secret(value)


def test_redact_text_masks_every_registered_secret_wherever_it_appears(secret):
    register_secret("tok")  # too short to be a secret: would mask ordinary words
    text = f"echo: {secret}; url ws://h/?k={secret}&x=1 {secret[:-1]}"
    assert redact_text(text) == f"echo: {REDACTED}; url ws://h/?k={REDACTED}&x=1 {secret[:-1]}"
    assert redact_text("tokens") == "tokens"
    recording = {"events": [{"type": "error", "message": f"bad key {secret}"}], secret: 1}
    assert secret not in repr(redact_value(recording))
    assert redact_value(recording)["events"][0]["message"] == f"bad key {REDACTED}"


def test_registered_secret_is_masked_in_any_logger_args_and_tracebacks(secret, caplog):
    install_log_redaction()
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("some.library")
    log.debug("server said %s", {"echo": secret})
    try:
        raise RuntimeError(f"handshake with {secret} failed")
    except RuntimeError:
        log.exception("failed")
    assert secret not in caplog.text
    assert REDACTED in caplog.text and "handshake with" in caplog.text
    factory = logging.getLogRecordFactory()  # a malformed record is the handler's to report, not a raise
    assert factory("x", logging.INFO, __file__, 1, "bad %s %s", ("one",), None).args == ("one",)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("> GET /v1/realtime?model=gpt-realtime&token=abc123 HTTP/1.1",
         "> GET /v1/realtime?model=gpt-realtime&token=[redacted] HTTP/1.1"),
        ("< GET /v1/realtime?api_key=abc123&model=m HTTP/1.1",
         "< GET /v1/realtime?api_key=[redacted]&model=m HTTP/1.1"),
        ("< Authorization: Bearer abc123", "< Authorization: [redacted]"),
        ("> X-Api-Key: abc123", "> X-Api-Key: [redacted]"),
        ("< api-key: abc123", "< api-key: [redacted]"),
        ("< Host: 127.0.0.1:8765", "< Host: 127.0.0.1:8765"),
        ("rejected Bearer abc123 here", "rejected Bearer [redacted] here"),
    ],
)  # fmt: skip
def test_handshake_credentials_are_masked(line, expected):
    assert redact_credentials(line) == expected


def test_protect_logs_masks_handshake_lines_on_the_given_logger(caplog):
    caplog.set_level(logging.DEBUG)
    protect_logs("test.handshake")
    log = logging.getLogger("test.handshake")
    log.debug("> %s: %s", "Authorization", "Bearer abc123xyz")
    log.debug("> GET %s HTTP/1.1", "/v1/realtime?model=gpt-realtime&token=abc123xyz")
    assert "abc123xyz" not in caplog.text and "model=gpt-realtime" in caplog.text
