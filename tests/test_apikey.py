from voicenb.apikey import get_api_key, redact


def test_key_from_environment_or_prompt(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert get_api_key() == "sk-env"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert get_api_key() is None
    monkeypatch.setattr("getpass.getpass", lambda prompt: " sk-typed ")
    assert get_api_key(prompt=True) == "sk-typed"
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")
    assert get_api_key(prompt=True) is None


def test_redact():
    assert redact("Bearer sk-secret", "sk-secret") == "Bearer sk-…redacted"
    assert redact("nothing", None) == "nothing"
