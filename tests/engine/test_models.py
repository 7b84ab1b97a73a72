"""Model resolution: explicit path/URL > bundled parts (joined once, sha256-checked) > hub > clear error."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from voicenb.engine import MissingExtraError, models
from voicenb.engine.models import BundledLLM, join_parts, resolve_llm, verified

PARTS = [b"GGUF-part-one|", b"part-two|", b"part-three"]
SHA = hashlib.sha256(b"".join(PARTS)).hexdigest()


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    """A three-part model installed as packages fake_part1..3 under tmp_path, cache in tmp_path/cache."""
    dirs = {}
    for n, data in enumerate(PARTS, 1):
        folder = tmp_path / f"fake_part{n}"
        (folder / "data").mkdir(parents=True)
        (folder / "data" / f"part{n:02d}.bin").write_bytes(data)
        dirs[f"fake_part{n}"] = folder
    model = BundledLLM(
        "fake-1b", "Fake 1B", tuple(dirs), "fake-part1..3", SHA, 0, 1.0, 2048, ("org/fake", "f.gguf")
    )
    small = BundledLLM("fake-tiny", "Fake tiny", ("absent_pkg",), "fake-tiny", SHA, 0, 0.0, 2048, None)
    monkeypatch.setattr(models, "LLMS", {"fake-1b": model, "fake-tiny": small})
    monkeypatch.setattr(models, "package_dir", lambda module: dirs.get(module))
    monkeypatch.setenv("VOICENB_CACHE", str(tmp_path / "cache"))
    return model


def no_hub(repo: str, filename: str) -> None:
    return None


def test_explicit_path_and_url_win(tmp_path, fake_model):
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"x")
    assert resolve_llm(str(gguf), no_hub).location == str(gguf)
    assert resolve_llm("http://127.0.0.1:9/v1", no_hub).how.startswith("OpenAI-compatible")
    with pytest.raises(FileNotFoundError):
        resolve_llm(str(tmp_path / "missing.gguf"), no_hub)
    with pytest.raises(ValueError, match="unknown reply model 'gpt-5'"):
        resolve_llm("gpt-5", no_hub)


def test_bundled_parts_are_joined_once_verified_and_rejoined_when_corrupt(tmp_path, fake_model):
    found = resolve_llm("fake-1b", no_hub)
    joined = Path(found.location)
    assert joined.read_bytes() == b"".join(PARTS) and "bundled" in found.how
    mtime = joined.stat().st_mtime_ns
    assert resolve_llm("fake-1b", no_hub).location == found.location
    assert joined.stat().st_mtime_ns == mtime  # not joined again
    joined.write_bytes(b"truncated")  # a damaged cache is detected and rebuilt
    assert Path(resolve_llm("fake-1b", no_hub).location).read_bytes() == b"".join(PARTS)
    assert not list(joined.parent.glob("*.tmp"))  # written atomically: no leftovers


def test_a_wrong_checksum_is_an_error_and_leaves_no_file(tmp_path):
    part = tmp_path / "p1"
    part.write_bytes(b"abc")
    with pytest.raises(RuntimeError, match="sha256"):
        join_parts([part], tmp_path / "out.gguf", "0" * 64)
    assert not (tmp_path / "out.gguf").exists() and not list(tmp_path.glob("*.tmp"))
    assert not verified(tmp_path / "out.gguf", "0" * 64)


def test_default_is_the_best_model_that_fits_memory(fake_model, monkeypatch):
    monkeypatch.setattr(models, "machine_memory_gib", lambda: 8.0)
    assert resolve_llm(None, no_hub).model is fake_model
    monkeypatch.setattr(models, "machine_memory_gib", lambda: 0.5)  # only fake-tiny fits: not installed
    with pytest.raises(MissingExtraError, match="make install"):
        resolve_llm(None, no_hub)


def test_hub_download_is_the_last_resort_before_the_error(fake_model, monkeypatch):
    monkeypatch.setattr(models, "package_dir", lambda module: None)
    asked = []
    found = resolve_llm("fake-1b", lambda repo, f: asked.append((repo, f)) or "/hub/f.gguf")
    assert found.location == "/hub/f.gguf" and asked == [("org/fake", "f.gguf")] and "downloaded" in found.how
    with pytest.raises(MissingExtraError, match=r"fake-part1\.\.3"):
        resolve_llm("fake-1b", no_hub)


def test_real_table_pins_every_split_model():
    for model in models.LLMS.values():
        split = len(model.parts) > 1  # joined from parts: only a pinned hash can say the join is whole
        assert (model.sha256 is not None) == split, model.name
        assert model.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", model.sha256), model.name
    assert re.fullmatch(r"[0-9a-f]{64}", models.WHISPER_BASE_SHA256)
    assert next(iter(models.LLMS)) == "qwen2.5-1.5b"  # the best first: the default where it fits
    assert models.default_candidates(2.0)[0].name == "qwen2.5-0.5b"  # Binder's ~2 GiB
