"""User mistakes on the command line: one clear line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import json

import pytest

from voicenb import cli


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: tmp / "missing.json", "no such file"),
        (lambda tmp: tmp, "is a folder"),
        (lambda tmp: _write(tmp / "bad.json", "{not json"), "not a JSON conversation"),
        (lambda tmp: _write(tmp / "noturns.json", json.dumps({"facts": []})), "missing field 'turns'"),
        (lambda tmp: _write(tmp / "int.json", json.dumps({"turns": 5})), "not in the eval schema"),
        (lambda tmp: _write(tmp / "roles.json", json.dumps({"turns": [{"role": "x", "text": "hi"}]})),
         "user/assistant"),
    ],
)  # fmt: skip
def test_bad_conversation_files_get_one_line_and_exit_2(tmp_path, capsys, make, says):
    path = make(tmp_path)
    assert cli.main(["eval", str(path)]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_values_are_usage_errors(tmp_path, capsys):
    good = _write(tmp_path / "c.json", json.dumps({"turns": [{"role": "user", "text": "hi"}]}))
    assert cli.main(["eval", str(good), "--model", "gpt-nope"]) == 2
    assert "known: gpt-realtime" in capsys.readouterr().err
    for flags in (["--trigger", "-5"], ["--retention-ratio", "2"], ["--wpm", "0"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["eval", str(good), *flags])
        assert exit_.value.code == 2  # argparse's usage error, one line


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="no such file"):
        cli.main(["--debug", "eval", str(tmp_path / "missing.json")])


def _write(path, text):
    path.write_text(text)
    return path
