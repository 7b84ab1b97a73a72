"""What a voice call's context costs: one window definition for every view, and a steady-state cost
model of the context policies. Pure: no I/O, no asyncio.

The window
    "The window" is what the next response re-reads: the last completed response's input plus its
    output (the reply joins the conversation). `window_breakdown` is the one function every view
    calls for it -- the panel's chart and status, notebook 02's chart, the demo's printed line -- so
    the parts always add up: ``text + audio == total`` and ``cached + fresh + output == total``.
    Right after a summary, `estimated_window_after_summary` gives the figure until the next
    ``response.done`` (deleted items out, summary in), marked ``estimated``.

The cost model (per minute of conversation, in steady state)
    Every response re-reads the whole window; the prefix unchanged since the previous response is
    billed at the cached price, the rest at full price (``docs/realtime-protocol.md``, "Prompt
    caching"). So a policy costs the same output and the same first billing of each new turn, plus

    * re-reading: ``responses/min x (mean window - one exchange)`` cached tokens;
    * cache busts: after each prune everything behind the cut is billed fresh once more.

    - ``summarise(trigger T, target t)``: the window saws between t and T; a prune every
      ``(T - t) / growth`` minutes re-bills the summary (text) and the kept turns (audio) fresh.
    - ``retention(r)`` at the server's limit L: a saw between r*L and L, no summary.
    - ``auto`` at L: the window stays at L and the server drops the oldest turn on (almost) every
      response, so the whole window after the instructions is fresh every time.
    - ``none``: no pruning, a window that never stops growing (theoretical: no session holds it).

    Minimising the summarise cost: it rises with the target t (bigger window, dearer bust, no gain), so
    t is the floor (summary + ``keep_last`` turns); over T it is ``a*T + b/(T - t)``, whose minimum is
    ``T = t + sqrt(2 * bust_usd * growth / (responses * cached_audio_price))``, capped below the
    server's truncation point. See `optimal_pair`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .audio import WPM, spoken_seconds
from .tokens import (
    ASSISTANT_AUDIO_TOKENS_PER_S,
    USER_AUDIO_TOKENS_PER_S,
    ModelSpec,
    TokenLedger,
    Usage,
    count_text_tokens,
)

M = 1_000_000  # prices are per 1M tokens
TEXT_TOKENS_PER_WORD = 1.3  # o200k on conversational English, for rate estimates only
SUMMARY_FLOOR_TOKENS = 400  # a summary below this drops facts (names, numbers, dates) silently


# --- the window -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowFigures:
    """What the next response re-reads, split two ways that each add up to ``total``:
    by modality (``text + audio``) and by billing (``cached + fresh + output``).

    ``reread_cached_usd`` / ``reread_fresh_usd``: what re-reading this window costs on the next
    response if it all hits the cache / after a cache bust. ``estimated``: a local estimate (after a
    summary) until the next ``response.done`` reports the server's figure.
    """

    total: int = 0
    text: int = 0
    audio: int = 0
    cached: int = 0
    fresh: int = 0
    output: int = 0
    estimated: bool = False
    reread_cached_usd: float = 0.0
    reread_fresh_usd: float = 0.0

    def describe(self) -> str:
        """One line for status bars and the demo, e.g. ``window: 184 tokens (text 15 + audio 169; ...)``."""
        mark = "≈" if self.estimated else ""
        head = f"window: {mark}{self.total:,} tokens (text {self.text:,} + audio {self.audio:,}"
        if self.estimated:
            return head + ", estimated until the next response)"
        return head + f"; cached {self.cached:,} + fresh {self.fresh:,} + reply {self.output:,})"


def _reread_costs(text: int, audio: int, spec: ModelSpec | None) -> tuple[float, float]:
    if spec is None:
        return 0.0, 0.0
    cached = (text * spec.text_cached + audio * spec.audio_cached) / M
    fresh = (text * spec.text_in + audio * spec.audio_in) / M
    return cached, fresh


def last_window_usage(ledger: TokenLedger) -> Usage:
    """Usage of the last completed, non-empty response: the one that defines the window (a cancelled
    or empty response says nothing about what the server retains)."""
    for record in reversed(ledger.records):
        if record.status == "completed" and not record.usage.is_empty:
            return record.usage
    return Usage()


def window_breakdown(source: TokenLedger | Usage, spec: ModelSpec | None = None) -> WindowFigures:
    """The window's figures from a ledger (its last completed response) or one response's usage.
    ``spec`` (default: the ledger's) prices the re-read; without one the costs are 0."""
    if isinstance(source, TokenLedger):
        spec = spec or source.spec
        usage = last_window_usage(source)
    else:
        usage = source
    # Totals win over details that miss a part (image tokens, a usage without details): the rest is text.
    input_total = max(usage.input_tokens, usage.input_text + usage.input_audio)
    output = max(usage.output_tokens, usage.output_text + usage.output_audio)
    audio = usage.input_audio + usage.output_audio
    total = input_total + output
    text = total - audio
    cached = min(usage.input_cached, input_total)
    cached_usd, fresh_usd = _reread_costs(text, audio, spec)
    return WindowFigures(
        total, text, audio, cached, total - cached - output, output, False, cached_usd, fresh_usd
    )


def item_tokens(item: Any) -> tuple[int, int]:
    """(text, audio) tokens one conversation item adds to the window (a `voicenb.state.Item`).

    Audio is billed as audio only (its transcript is not billed again); its length is the measured
    ``audio_s`` or, before that is known, the time its words take to say."""
    if getattr(item, "has_audio", False):
        seconds = item.audio_s or spoken_seconds(item.text or "")
        rate = ASSISTANT_AUDIO_TOKENS_PER_S if item.role == "assistant" else USER_AUDIO_TOKENS_PER_S
        return 0, int(seconds * rate)
    return count_text_tokens(item.text or ""), 0


def estimated_window_after_summary(
    before: TokenLedger | WindowFigures,
    summary_tokens: int,
    deleted_items: Iterable[Any],
    spec: ModelSpec | None = None,
) -> WindowFigures:
    """The window right after a summary landed: the deleted items out, the summary (text) in.

    Marked ``estimated``; the next ``response.done`` replaces it. Nothing of it is cached yet (the
    summary sits at the root, so the next response reads everything after the instructions fresh)."""
    if isinstance(before, TokenLedger):
        spec = spec or before.spec
        before = window_breakdown(before)
    text, audio = before.text + summary_tokens, before.audio
    for item in deleted_items:
        t, a = item_tokens(item)
        text, audio = text - t, audio - a
    text, audio = max(text, 0), max(audio, 0)
    cached_usd, fresh_usd = _reread_costs(text, audio, spec)
    total = text + audio
    return WindowFigures(total, text, audio, 0, total, 0, True, cached_usd, fresh_usd)


# --- a conversation's token rates -------------------------------------------------------------------


@dataclass(frozen=True)
class TokenRates:
    """How fast a call grows its window, per minute of conversation.

    ``voice_call()`` gives a generic call (not fitted to any eval file): 150 words a minute, the user
    speaking 40 % of the time, an exchange every 20 s.
    """

    user_audio_per_min: float
    assistant_audio_per_min: float
    responses_per_min: float
    assistant_text_per_min: float = 0.0  # the replies' transcripts, billed as text output
    instructions_tokens: int = 0

    @classmethod
    def voice_call(
        cls, user_share: float = 0.4, exchange_s: float = 20.0, wpm: int = WPM, instructions_tokens: int = 30
    ) -> TokenRates:
        assistant_share = 1 - user_share
        return cls(
            user_audio_per_min=60 * user_share * USER_AUDIO_TOKENS_PER_S,
            assistant_audio_per_min=60 * assistant_share * ASSISTANT_AUDIO_TOKENS_PER_S,
            responses_per_min=60 / exchange_s,
            assistant_text_per_min=assistant_share * wpm * TEXT_TOKENS_PER_WORD,
            instructions_tokens=instructions_tokens,
        )

    @classmethod
    def from_turns(
        cls, turns: Sequence[tuple[str, str]], wpm: int = WPM, instructions_tokens: int = 30
    ) -> TokenRates:
        """Rates of a scripted conversation ((role, text) turns) spoken at ``wpm``."""
        user_s = sum(spoken_seconds(t, wpm) for r, t in turns if r == "user")
        assistant = [t for r, t in turns if r == "assistant"]
        assistant_s = sum(spoken_seconds(t, wpm) for t in assistant)
        minutes = (user_s + assistant_s) / 60 or 1.0
        return cls(
            user_audio_per_min=user_s * USER_AUDIO_TOKENS_PER_S / minutes,
            assistant_audio_per_min=assistant_s * ASSISTANT_AUDIO_TOKENS_PER_S / minutes,
            responses_per_min=sum(r == "user" for r, _ in turns) / minutes,
            assistant_text_per_min=sum(count_text_tokens(t) for t in assistant) / minutes,
            instructions_tokens=instructions_tokens,
        )

    @property
    def growth_per_min(self) -> float:
        """Audio tokens the window gains per minute (transcripts of audio are not billed)."""
        return self.user_audio_per_min + self.assistant_audio_per_min

    @property
    def exchange_tokens(self) -> float:
        """Tokens one user turn plus its reply add to the window."""
        return self.growth_per_min / self.responses_per_min


# --- the cost model -------------------------------------------------------------------------------------


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


# --- the cost-optimal summarise policy -------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyPoint:
    """A (trigger, target) pair with its expected cost."""

    trigger: int
    target: int
    summary_tokens: int
    cost: CostPerMinute


def summary_budget(trigger: float, share: float = 0.25, floor: int = SUMMARY_FLOOR_TOKENS) -> int:
    """Tokens a summary may use: a share of the trigger, never below the floor that holds the facts --
    except that the floor never takes more than half the trigger (a summary that big would leave no
    room for the kept turns and re-trigger pruning on every response)."""
    return max(int(trigger * share), min(floor, int(trigger) // 2))


def floor_target(rates: TokenRates, summary_tokens: float, keep_last: int) -> int:
    """The lowest window a prune can reach: instructions, the summary and ``keep_last`` turns."""
    return math.ceil(rates.instructions_tokens + summary_tokens + keep_last / 2 * rates.exchange_tokens)


def max_trigger(spec: ModelSpec, rates: TokenRates) -> int:
    """The highest useful trigger: two exchanges below the server's truncation point, so the summary
    lands before the server starts trimming on its own."""
    return int(spec.truncation_at - 2 * rates.exchange_tokens)


def optimal_trigger(spec: ModelSpec, rates: TokenRates, target: float, summary_tokens: float) -> int:
    """The trigger minimising `summarise_cost` for a given target (closed form, capped)."""
    instr = rates.instructions_tokens
    kept_audio = max(target - instr - summary_tokens, 0.0)
    bust_usd = (
        summary_tokens * (spec.text_in - spec.text_cached) + kept_audio * (spec.audio_in - spec.audio_cached)
    ) / M
    span = math.sqrt(2 * bust_usd * rates.growth_per_min / (rates.responses_per_min * spec.audio_cached / M))
    hi = max_trigger(spec, rates)
    return int(min(max(target + span, target + rates.exchange_tokens), hi))


def optimal_pair(
    spec: ModelSpec,
    rates: TokenRates | None = None,
    keep_last: int = 4,
    share: float = 0.25,
    floor: int = SUMMARY_FLOOR_TOKENS,
) -> PolicyPoint:
    """The cost-optimal (trigger, target) for summarise-and-prune with ``keep_last`` verbatim turns:
    the target at its floor, the trigger the cheapest on a 100-token grid up to `max_trigger`.

    A grid rather than `optimal_trigger`'s closed form, because the summary budget (a share of the
    trigger) makes the target grow with the trigger."""
    rates = rates or TokenRates.voice_call()
    lowest = floor_target(rates, summary_budget(0, share, floor), keep_last)
    start = (lowest // 100 + 1) * 100
    candidates = [t for t in range(start, max_trigger(spec, rates) + 1, 100)
                  if floor_target(rates, summary_budget(t, share, floor), keep_last) < t]  # fmt: skip
    if not candidates:
        raise ValueError(f"{spec.name}: no trigger fits below its truncation point {spec.truncation_at}")
    points = trigger_sweep(spec, candidates, rates, keep_last, share, floor)
    return min(points, key=lambda p: p.cost.total)


def policy_costs(
    spec: ModelSpec,
    rates: TokenRates | None = None,
    *,
    ratios: Sequence[float] = (0.5,),
    keep_last: int = 4,
    minutes: float = 60.0,
) -> dict[str, CostPerMinute]:
    """Expected USD per minute of each policy, for tables and the panel (steady state; ``none`` is the
    theoretical unbounded window averaged over ``minutes``)."""
    rates = rates or TokenRates.voice_call()
    best = optimal_pair(spec, rates, keep_last)
    costs = {"auto": auto_cost(spec, rates)}
    costs.update({f"retention {r:g}": retention_cost(spec, rates, r) for r in ratios})
    costs[f"summarise {best.trigger}/{best.target}"] = best.cost
    costs["none (theoretical)"] = no_pruning_cost(spec, rates, minutes)
    return costs


def trigger_sweep(
    spec: ModelSpec,
    triggers: Sequence[int],
    rates: TokenRates | None = None,
    keep_last: int = 4,
    share: float = 0.25,
    floor: int = SUMMARY_FLOOR_TOKENS,
) -> list[PolicyPoint]:
    """Expected summarise cost at each trigger, the target at its floor and the summary at its budget
    (notebook 03's cost-vs-trigger line; mark `optimal_pair` on it)."""
    rates = rates or TokenRates.voice_call()
    points = []
    for trigger in triggers:
        summary = summary_budget(trigger, share, floor)
        target = floor_target(rates, summary, keep_last)
        if target >= trigger:
            raise ValueError(f"trigger {trigger} is below the lowest window a prune reaches ({target})")
        points.append(
            PolicyPoint(trigger, target, summary, summarise_cost(spec, rates, trigger, target, summary))
        )
    return points
