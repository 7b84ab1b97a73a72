"""The cost model: expected USD per minute of conversation in steady state, for each context policy,
and `simulate_call`, the same bill response by response.

Every response re-reads the whole window; the prefix unchanged since the previous response is billed
at the cached price, the rest at full price (``docs/realtime-protocol.md``, "Prompt caching"). So a
policy costs the same output and the same first billing of each new turn, plus

* re-reading: ``responses/min x (mean window - one exchange)`` cached tokens;
* cache busts: after each prune everything behind the cut is billed fresh once more.

- ``summarise(trigger T, target t)``: the window saws between t and T; a prune every
  ``(T - t) / growth`` minutes re-bills the summary (text) and the kept turns (audio) fresh.
- ``retention(r)`` at the server's limit L: a saw between r*L and L, no summary.
- ``auto`` at L: the window stays at L and the server drops the oldest turn on (almost) every
  response, so the whole window after the instructions is fresh every time.
- ``none``: no pruning, a window that never stops growing (theoretical: no session holds it).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..tokens import ModelSpec
from .rates import TokenRates
from .window import M


@dataclass(frozen=True)
class CostPerMinute:
    """Expected USD per minute of conversation, in parts that add up to ``total``."""

    output: float  # the replies (the same under every policy)
    fresh_input: float  # input billed at full price (new turns, and everything after a cut)
    cached_input: float  # input billed at the cached price (re-reading the unchanged prefix)
    prunes_per_min: float = 0.0
    mean_window: float = 0.0

    @property
    def total(self) -> float:
        return self.output + self.fresh_input + self.cached_input


def _output_per_min(spec: ModelSpec, rates: TokenRates) -> float:
    return (rates.assistant_audio_per_min * spec.audio_out + rates.assistant_text_per_min * spec.text_out) / M


def sawtooth_cost(
    spec: ModelSpec, rates: TokenRates, high: float, low: float, text_tokens: float = 0.0
) -> CostPerMinute:
    """A window that grows from ``low`` to ``high`` and is then cut back to ``low`` in one go.

    ``text_tokens`` of ``low`` are text (instructions, a summary); the rest is audio. Each response
    re-reads the window cached except the newest exchange; each cut re-bills everything behind it
    (all of ``low`` but the instructions) fresh once."""
    if not 0 <= low < high:
        raise ValueError(f"need 0 <= low < high, got low={low}, high={high}")
    g, n, e = rates.growth_per_min, rates.responses_per_min, rates.exchange_tokens
    instr = rates.instructions_tokens
    text = max(text_tokens, instr)
    mean_audio = max((high + low) / 2 - text, 0.0)
    prunes = g / (high - low)
    reread = n * (max(mean_audio - e, 0.0) * spec.audio_cached + text * spec.text_cached) / M
    # At a cut, the kept tokens behind the instructions cost full price instead of cached.
    bust_text, bust_audio = text - instr, max(low - text, 0.0)
    bust_fresh = (bust_text * spec.text_in + bust_audio * spec.audio_in) / M
    bust_cached = (bust_text * spec.text_cached + bust_audio * spec.audio_cached) / M
    return CostPerMinute(
        output=_output_per_min(spec, rates),
        fresh_input=g * spec.audio_in / M + prunes * bust_fresh,
        cached_input=reread - prunes * bust_cached,
        prunes_per_min=prunes,
        mean_window=(high + low) / 2,
    )


def summarise_cost(
    spec: ModelSpec, rates: TokenRates, trigger: float, target: float, summary_tokens: float
) -> CostPerMinute:
    """Summarise-and-prune between ``target`` and ``trigger``: the summary is text at the root."""
    return sawtooth_cost(spec, rates, trigger, target, rates.instructions_tokens + summary_tokens)


def retention_cost(
    spec: ModelSpec, rates: TokenRates, ratio: float, limit: float | None = None
) -> CostPerMinute:
    """The server's ``retention_ratio`` truncation: cut to ``ratio x limit`` once past ``limit``."""
    if not 0 <= ratio < 1:
        raise ValueError(f"retention ratio must be in [0, 1), got {ratio}")
    limit = limit or spec.truncation_at
    return sawtooth_cost(spec, rates, limit, max(ratio * limit, rates.instructions_tokens))


def auto_cost(spec: ModelSpec, rates: TokenRates, limit: float | None = None) -> CostPerMinute:
    """``truncation: "auto"`` once the window is full: it stays at ``limit`` and every response drops
    the oldest turn, so all of it but the instructions is read fresh every time."""
    limit = limit or spec.truncation_at
    n, instr = rates.responses_per_min, rates.instructions_tokens
    return CostPerMinute(
        output=_output_per_min(spec, rates),
        fresh_input=n * (limit - instr) * spec.audio_in / M,
        cached_input=n * instr * spec.text_cached / M,
        prunes_per_min=n,
        mean_window=limit,
    )


def no_pruning_cost(spec: ModelSpec, rates: TokenRates, minutes: float) -> CostPerMinute:
    """Theoretical: nothing is ever dropped, averaged over a call of ``minutes`` (its window grows
    without bound: past the truncation point no real session holds it)."""
    g, n, e, instr = (
        rates.growth_per_min,
        rates.responses_per_min,
        rates.exchange_tokens,
        rates.instructions_tokens,
    )
    mean_audio = g * minutes / 2
    return CostPerMinute(
        output=_output_per_min(spec, rates),
        fresh_input=g * spec.audio_in / M,
        cached_input=n * (max(mean_audio - e, 0.0) * spec.audio_cached + instr * spec.text_cached) / M,
        mean_window=mean_audio + instr,
    )


# --- a whole call, response by response ------------------------------------------------------------


@dataclass(frozen=True)
class CallSeries:
    """One simulated call: per response, the time, the window and the cumulative bill with the prefix
    cache as modelled and with no cache hits (notebook 01's two lines)."""

    minutes: list[float]
    window: list[int]
    cost_usd: list[float]
    cost_uncached_usd: list[float]

    @property
    def total_usd(self) -> float:
        return self.cost_usd[-1] if self.cost_usd else 0.0


def simulate_call(
    spec: ModelSpec,
    rates: TokenRates,
    minutes: float,
    policy: str = "none",
    *,
    trigger: float = 0,
    target: float = 0,
    summary_tokens: float = 0,
    ratio: float = 0.5,
    limit: float | None = None,
) -> CallSeries:
    """A call of ``minutes`` from an empty window, one response per exchange, under ``policy``:
    ``none`` | ``auto`` | ``retention`` (``ratio`` of ``limit``) | ``summarise`` (``trigger``,
    ``target``, ``summary_tokens``) | ``last-n`` (summarise with no summary).

    Each response reads the instructions, the summary (text) and the audio so far; all of it but the
    newest exchange is cached unless something was cut since the last response (then only the
    instructions are). The server's truncation cuts before a response, a summary after one."""
    limit = limit or spec.truncation_at
    instr, e = rates.instructions_tokens, rates.exchange_tokens
    out_audio = rates.assistant_audio_per_min / rates.responses_per_min
    out_text = rates.assistant_text_per_min / rates.responses_per_min
    output_usd = (out_audio * spec.audio_out + out_text * spec.text_out) / M
    series = CallSeries([], [], [], [])
    audio = text = 0.0
    cut, total, uncached = True, 0.0, 0.0
    for k in range(int(minutes * rates.responses_per_min)):
        audio += e
        if policy in ("auto", "retention") and instr + audio > limit:
            audio = (limit if policy == "auto" else ratio * limit) - instr
            cut = True
        fresh_audio = audio if cut else min(e, audio)
        fresh_text = text if cut else 0.0
        cached = ((audio - fresh_audio) * spec.audio_cached + (text - fresh_text) * spec.text_cached) / M
        fresh = (fresh_audio * spec.audio_in + fresh_text * spec.text_in) / M
        total += cached + fresh + instr * spec.text_cached / M + output_usd
        uncached += (audio * spec.audio_in + (text + instr) * spec.text_in) / M + output_usd
        window = instr + text + audio + out_audio + out_text
        series.minutes.append((k + 1) / rates.responses_per_min)
        series.window.append(round(window))
        series.cost_usd.append(total)
        series.cost_uncached_usd.append(uncached)
        cut = False
        if policy in ("summarise", "last-n") and window >= trigger:
            text = summary_tokens if policy == "summarise" else 0.0
            audio = max(target - instr - text, 0.0)
            cut = True
    return series
