"""Summary-fidelity eval: replay a scripted conversation through a real `VoiceSession` on the offline
engine under one context policy, then score what the server still holds and what it cost.

Replay (deterministic): the engine runs with no speech models. Its reply "LLM" is `ScriptedReplies`,
which answers each response with the conversation's next assistant turn verbatim, and its "TTS" is
`EstimatedSpeech`, silence lasting as long as the words take to say. User turns are created as
``input_audio`` items (silence of the same estimated length) carrying their text as the transcript.
So the engine bills the window exactly as the API bills a voice call (user audio 10 tok/s, assistant
audio 20 tok/s, summaries and instructions as text, the whole retained window on every response, an
unchanged prefix as cached), while every model and the scorer read the exact words. Durations come from
the word count at ``wpm`` (150 words a minute, a relaxed speaking rate); pauses are not counted, so
"60 minutes" means 60 minutes of speech. With ``speech=True`` user turns are synthesised with the
offline voice instead, sent as input audio and transcribed by the engine's STT (real durations, real
transcription errors); assistant turns keep the estimated audio.

Policies: ``summarise`` is the session's own summarise-and-prune; ``last-n`` is the same trigger and
pruning with no summary (a one-line note replaces the folded turns); ``retention`` is the server's
``retention_ratio`` truncation with the same trigger as its token limit; ``none`` keeps everything
(server truncation disabled: the no-pruning baseline; past ~28k tokens a real gpt-realtime session
would truncate instead). The default trigger, 2,000 tokens (so a 500-token summary budget), is far
below a model's own (20k for gpt-realtime) so that a 5-10 minute conversation is folded several times.

Scoring is pure (`score_facts`): a fact survives when one of its answers is a case-insensitive
substring of the final server-side context (summary + kept turns). A correction's superseded value
is *flagged* when it is still there as if current: the current answer is gone, or the superseded
value is mentioned after it (the summary's rule is "latest values win").
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import events as ev
from .apikey import get_api_key
from .audio import silence
from .policy import SummaryPolicy
from .session import SessionConfig, VoiceSession
from .summarisers import OfflineSummariser, OpenAISummariser, Summariser
from .tokens import TokenLedger

POLICIES = ("summarise", "last-n", "retention", "none")
WPM = 150
NEVER = 10**9  # a trigger no window reaches
DROP_NOTE = "(Earlier turns were removed without a summary.)"
INSTRUCTIONS = "You are a helpful voice assistant. Answer in one or two short sentences."

# --- conversations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    id: str
    question: str
    answers: tuple[str, ...]
    kind: str = "name"
    turn: int = 0
    superseded: tuple[str, ...] = ()


@dataclass
class Conversation:
    name: str
    turns: list[tuple[str, str]]  # (role, text), user first
    facts: list[Fact]
    language: str = "en"

    @property
    def minutes(self) -> float:
        return sum(spoken_seconds(text) for _, text in self.turns) / 60


def load_conversation(path: str | Path) -> Conversation:
    """Read a conversation file in the schema of ``shared/eval/README.md``."""
    data = json.loads(Path(path).read_text())
    turns = [(t["role"], t["text"]) for t in data["turns"]]
    facts = [
        Fact(f["id"], f["question"], tuple(f["answers"]), f.get("kind", "name"), f.get("turn", 0),
             tuple(f.get("superseded") or ()))
        for f in data.get("facts", [])
    ]  # fmt: skip
    return Conversation(data.get("name") or Path(path).stem, turns, facts, data.get("language") or "en")


def concat(convs: Sequence[Conversation]) -> Conversation:
    """One conversation after another (fact ids prefixed with each conversation's name)."""
    if len(convs) == 1:
        return convs[0]
    turns: list[tuple[str, str]] = []
    facts: list[Fact] = []
    for conv in convs:
        facts += [replace(f, id=f"{conv.name}:{f.id}", turn=f.turn + len(turns)) for f in conv.facts]
        turns += conv.turns
    return Conversation("+".join(c.name for c in convs), turns, facts, convs[0].language)


def extend_to_minutes(conv: Conversation, minutes: float, wpm: int = WPM) -> Conversation:
    """Loop the turns until they take ``minutes`` to say (cut after an assistant turn): a long call
    built from a short script.

    The facts are those of the first pass; later passes restate them, so survival on a looped
    conversation mostly measures the last pass. Its use is the cost curve of a long call.
    """
    turns: list[tuple[str, str]] = []
    seconds = 0.0
    while conv.turns and (seconds < minutes * 60 or turns[-1][0] != "assistant"):
        role, text = conv.turns[len(turns) % len(conv.turns)]
        turns.append((role, text))
        seconds += spoken_seconds(text, wpm)
    return Conversation(f"{conv.name}-{minutes:g}min", turns, conv.facts, conv.language)


_WORDS = re.compile(r"\S+")


def spoken_seconds(text: str, wpm: int = WPM) -> float:
    """How long ``text`` takes to say at ``wpm`` words a minute."""
    return len(_WORDS.findall(text)) * 60 / wpm


# --- scoring: pure -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FactResult:
    id: str
    kind: str
    survived: bool
    superseded_flag: bool = False  # an old value still reads as current
    superseded_mentioned: bool = False  # an old value is still mentioned at all


def _last_at(haystack: str, needles: Sequence[str]) -> int:
    return max((haystack.rfind(n.lower()) for n in needles if n), default=-1)


def score_fact(context: str, fact: Fact) -> FactResult:
    """Score one fact against the server-side context (already joined, any case)."""
    text = context.lower()
    answer_at = _last_at(text, fact.answers)
    old_at = _last_at(text, fact.superseded)
    flagged = old_at >= 0 and (answer_at < 0 or old_at > answer_at)
    return FactResult(fact.id, fact.kind, answer_at >= 0, flagged, old_at >= 0)


def score_facts(context: Sequence[str], facts: Sequence[Fact]) -> list[FactResult]:
    """Score every fact against the context items' texts, in server order (summary first)."""
    joined = "\n".join(context)
    return [score_fact(joined, f) for f in facts]


def fact_survival(results: Sequence[FactResult]) -> float:
    return sum(r.survived for r in results) / len(results) if results else 1.0


# --- the engine's scripted parts -----------------------------------------------------------------


class ScriptedReplies:
    """The engine's reply LLM: answers each response with the next queued assistant turn, verbatim."""

    def __init__(self) -> None:
        self._queue: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        with self._lock:
            self._queue.append(text)

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        with self._lock:
            text = self._queue.popleft() if self._queue else ""
        for word in text.split(" "):  # word by word, as a model streams
            if stop.is_set():
                return
            yield word + " "


class EstimatedSpeech:
    """The engine's TTS: silence as long as the words take to say (only the duration is billed)."""

    def __init__(self, wpm: int = WPM) -> None:
        self.wpm = wpm

    def synthesize(self, text: str) -> bytes:
        return silence(spoken_seconds(text, self.wpm))


class DropSummariser:
    """For ``last-n``: the session prunes as usual, but the 'summary' keeps nothing."""

    async def summarise(self, turns: Any, previous: Any, language: Any, budget_tokens: int = 0) -> str:
        return DROP_NOTE


# --- settings ------------------------------------------------------------------------------------


@dataclass
class EvalSettings:
    policy: str = "summarise"
    summariser: str = "offline"  # offline | openai
    trigger_tokens: int = 2000
    keep_last: int = 4
    retention_ratio: float = 0.5
    model: str = "gpt-realtime"
    speech: bool = False
    wpm: int = WPM
    timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy {self.policy!r}; choose from {', '.join(POLICIES)}")


def session_parts(settings: EvalSettings) -> tuple[SessionConfig, SummaryPolicy, Any]:
    """Session config, summary policy and summariser that realise ``settings.policy``."""
    truncation: str | dict = "auto"
    trigger, summariser = NEVER, None
    if settings.policy == "summarise":
        trigger, summariser = settings.trigger_tokens, make_summariser(settings.summariser)
    elif settings.policy == "last-n":
        trigger, summariser = settings.trigger_tokens, DropSummariser()
    elif settings.policy == "retention":
        limits = {"post_instructions": settings.trigger_tokens}
        truncation = {
            "type": "retention_ratio",
            "retention_ratio": settings.retention_ratio,
            "token_limits": limits,
        }
    else:
        truncation = "disabled"
    config = SessionConfig(model=settings.model, instructions=INSTRUCTIONS, truncation=truncation,
                           turn_detection=False)  # fmt: skip
    policy = SummaryPolicy(trigger_tokens=trigger, keep_last=settings.keep_last, min_turns=2, language=None)
    return config, policy, summariser


def make_summariser(name: str) -> Summariser:
    if name == "offline":
        return OfflineSummariser()
    if name == "openai":
        if not get_api_key():
            raise SystemExit("--summariser openai needs OPENAI_API_KEY")
        return OpenAISummariser()
    raise ValueError(f"unknown summariser {name!r} (offline | openai)")


def engine_config(settings: EvalSettings, replies: ScriptedReplies) -> Any:
    from .engine import EngineConfig

    # Speech mode loads VAD + STT for the user's audio; the reply and its "voice" stay scripted.
    return EngineConfig(
        llm=replies, tts=EstimatedSpeech(settings.wpm), load_models=settings.speech,
        max_reply_tokens=4096, max_reply_sentences=10_000, audio_chunk_ms=1000,
    )  # fmt: skip


# --- progress ------------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, label: str, stream: Any = None, width: int = 30) -> None:
        self.total, self.label, self.width = max(1, total), label, width
        self.stream = stream or sys.stderr
        self.done = 0

    def update(self, n: int = 1, note: str = "") -> None:
        self.done = min(self.total, self.done + n)
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {note}".ljust(100)[:100])
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


# --- replay --------------------------------------------------------------------------------------


@dataclass
class Replay:
    """What one replay leaves behind: the session's ledger and the server-side context at the end."""

    ledger: TokenLedger
    context: list[str]
    context_roles: list[str]
    summaries: int
    minutes_at_response: list[float]
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0


async def _send_user_turn(session: VoiceSession, text: str, settings: EvalSettings) -> None:
    """One user turn, then ask for the (scripted) reply."""
    if settings.speech:
        from .engine.speech import synthesise

        pcm = await asyncio.to_thread(synthesise, text)
        await session.send_audio(pcm + silence(0.3))
        await session.commit_audio(respond=True)
        return
    audio = base64.b64encode(silence(spoken_seconds(text, settings.wpm))).decode()
    item = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_audio", "audio": audio, "transcript": text}],
    }
    await session.send_item(item, respond=True)


def _pairs(turns: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(user text, assistant reply) per exchange; a trailing user turn gets an empty reply."""
    pairs, pending = [], None
    for role, text in turns:
        if role == "user":
            if pending is not None:
                pairs.append((pending, ""))
            pending = text
        elif pending is not None:
            pairs.append((pending, text))
            pending = None
    if pending is not None:
        pairs.append((pending, ""))
    return pairs


async def replay(conv: Conversation, settings: EvalSettings, progress: Progress | None = None) -> Replay:
    """Replay ``conv`` under ``settings`` against a fresh offline engine; one response per user turn."""
    from .engine import OfflineEngine

    started = time.monotonic()
    replies = ScriptedReplies()
    config, policy, summariser = session_parts(settings)
    async with OfflineEngine(engine_config(settings, replies)) as engine:
        session = VoiceSession(
            config, policy=policy, summariser=summariser, api_key="offline", websocket_base_url=engine.url
        )
        usage: asyncio.Queue[ev.UsageUpdated] = asyncio.Queue()
        session.subscribe(lambda e: usage.put_nowait(e) if isinstance(e, ev.UsageUpdated) else None)
        minutes: list[float] = []
        spoken = 0.0
        async with session:
            for user, assistant in _pairs(conv.turns):
                replies.say(assistant)
                await _send_user_turn(session, user, settings)
                await asyncio.wait_for(usage.get(), settings.timeout_s)
                spoken += spoken_seconds(user, settings.wpm) + spoken_seconds(assistant, settings.wpm)
                minutes.append(spoken / 60)
                await _settle(session, settings.timeout_s)
                if progress:
                    progress.update(note=f"window {session.window_tokens:,} tok")
            items = [i for i in session.state.window_items() if i.text]
            return Replay(
                session.ledger, [i.text for i in items], [i.role for i in items], session.summaries, minutes,
                [e.message for e in session.errors], time.monotonic() - started,
            )  # fmt: skip


async def _settle(session: VoiceSession, timeout_s: float) -> None:
    """Let a summary the last response triggered finish before the next turn: runs are then
    deterministic (live, the next turn would overlap it; `voicenb bench` measures that)."""
    deadline = time.monotonic() + timeout_s
    while session.summarising and time.monotonic() < deadline:
        await asyncio.sleep(0.002)


# --- report --------------------------------------------------------------------------------------


def uncached_cost(ledger: TokenLedger) -> float:
    """What the same responses cost with no cache hits (caching is best-effort at the API)."""
    return sum(
        replace(r.usage, input_cached=0, input_cached_audio=0).cost(ledger.spec) for r in ledger.records
    )


def _cumulative_uncached(ledger: TokenLedger) -> list[float]:
    total, series = 0.0, []
    for r in ledger.records:
        total += replace(r.usage, input_cached=0, input_cached_audio=0).cost(ledger.spec)
        series.append(round(total, 6))
    return series


def build_report(conv: Conversation, settings: EvalSettings, run: Replay) -> dict[str, Any]:
    results = score_facts(run.context, conv.facts)
    totals = run.ledger.totals()
    windows = [r.usage.input_tokens + r.usage.output_tokens for r in run.ledger.records]
    return {
        "conversation": conv.name,
        "policy": settings.policy,
        "summariser": settings.summariser if settings.policy == "summarise" else None,
        "mode": "speech" if settings.speech else "text",
        "model": settings.model,
        "trigger_tokens": settings.trigger_tokens,
        "keep_last": settings.keep_last,
        "turns": len(conv.turns),
        "minutes": round(conv.minutes, 1),
        "fact_survival": round(fact_survival(results), 4),
        "facts": len(results),
        "facts_lost": [r.id for r in results if not r.survived],
        "superseded_flagged": [r.id for r in results if r.superseded_flag],
        "superseded_mentioned": [r.id for r in results if r.superseded_mentioned],
        "responses": len(run.ledger.records),
        "summaries": run.summaries,
        "input_tokens": totals.input_tokens,
        "input_text_tokens": totals.input_text,
        "input_audio_tokens": totals.input_audio,
        "input_cached_tokens": totals.input_cached,
        "output_tokens": totals.output_tokens,
        "output_text_tokens": totals.output_text,
        "output_audio_tokens": totals.output_audio,
        "cost_usd": round(run.ledger.cumulative_cost_usd, 6),
        "cost_uncached_usd": round(uncached_cost(run.ledger), 6),
        "max_window_tokens": run.ledger.max_window_tokens,
        "final_window_tokens": run.ledger.window_tokens,
        "mean_window_tokens": round(sum(windows) / len(windows)) if windows else 0,
        "window_tokens": windows,
        "minutes_at_response": [round(m, 3) for m in run.minutes_at_response],
        "cumulative_cost_usd": [round(r.cumulative_cost_usd, 6) for r in run.ledger.records],
        "cumulative_cost_uncached_usd": _cumulative_uncached(run.ledger),
        "context": run.context,  # what the server holds at the end: summary, then kept turns
        "errors": run.errors,
        "wall_s": round(run.wall_s, 2),
    }


def format_report(report: dict[str, Any]) -> str:
    r = report
    lines = [
        f"{r['conversation']}: policy {r['policy']}"
        + (f" ({r['summariser']} summariser)" if r["summariser"] else "")
        + f", {r['turns']} turns, ~{r['minutes']} min of speech, {r['mode']} replay, model {r['model']}",
        f"  fact survival   {r['fact_survival']:.2f} ({r['facts'] - len(r['facts_lost'])}/{r['facts']})"
        + (f"  lost: {', '.join(r['facts_lost'])}" if r["facts_lost"] else ""),
        f"  superseded      flagged as current: {', '.join(r['superseded_flagged']) or 'none'}"
        f"; still mentioned: {', '.join(r['superseded_mentioned']) or 'none'}",
        f"  responses       {r['responses']}, summaries {r['summaries']}",
        f"  window tokens   max {r['max_window_tokens']:,}, mean {r['mean_window_tokens']:,}, "
        f"final {r['final_window_tokens']:,}",
        f"  input tokens    {r['input_tokens']:,} (text {r['input_text_tokens']:,}, audio "
        f"{r['input_audio_tokens']:,}, cached {r['input_cached_tokens']:,})",
        f"  output tokens   {r['output_tokens']:,} (text {r['output_text_tokens']:,}, audio "
        f"{r['output_audio_tokens']:,})",
        f"  cost            ${r['cost_usd']:.4f} (${r['cost_uncached_usd']:.4f} with no cache hits)",
    ]
    if r.get("probe_accuracy") is not None:
        lines.append(f"  probe answers   {r['probe_accuracy']:.2f} correct (model-answered questions)")
    if r["errors"]:
        lines.append(f"  errors          {len(r['errors'])}: {r['errors'][0]}")
    return "\n".join(lines)


# --- model-answered probes (needs a key) ---------------------------------------------------------

PROBE_PROMPT = (
    "Below is everything a voice assistant still remembers of a conversation (a summary and the latest "
    "turns; later information overrides earlier). Answer the question from it alone, in a few words. "
    "If it does not say, answer 'unknown'."
)


async def probe_answers(
    context: Sequence[str], facts: Sequence[Fact], client: Any, model: str = "gpt-4o-mini"
) -> list[tuple[str, str, bool]]:
    """Ask ``model`` every fact's question over the context; (fact id, answer, correct) each."""
    memory = "\n".join(context)

    async def ask(fact: Fact) -> tuple[str, str, bool]:
        resp = await client.chat.completions.create(
            model=model, temperature=0, max_tokens=40,
            messages=[{"role": "system", "content": PROBE_PROMPT},
                      {"role": "user", "content": f"Memory:\n{memory}\n\nQuestion: {fact.question}"}],
        )  # fmt: skip
        answer = (resp.choices[0].message.content or "").strip()
        return fact.id, answer, any(a.lower() in answer.lower() for a in fact.answers)

    return list(await asyncio.gather(*(ask(f) for f in facts)))


# --- entry points --------------------------------------------------------------------------------


async def evaluate(conv: Conversation, settings: EvalSettings, *, progress: bool = True) -> dict[str, Any]:
    """Replay, score and (with the OpenAI summariser and a key) probe: the report as a dict."""
    bar = Progress(len(_pairs(conv.turns)), f"{settings.policy:>9}") if progress else None
    try:
        run = await replay(conv, settings, bar)
    finally:
        if bar:
            bar.close()
    report = build_report(conv, settings, run)
    if settings.policy == "summarise" and settings.summariser == "openai" and get_api_key():
        from openai import AsyncOpenAI

        probes = await probe_answers(run.context, conv.facts, AsyncOpenAI(api_key=get_api_key()))
        report["probes"] = [{"id": i, "answer": a, "correct": ok} for i, a, ok in probes]
        report["probe_accuracy"] = round(sum(ok for *_, ok in probes) / len(probes), 4) if probes else 1.0
    return report


def compare_table(reports: Sequence[dict[str, Any]]) -> str:
    """One row per policy; cost as billed (prefix cache) and with no cache hits, each also as a share
    of the no-pruning run."""
    none = next((r for r in reports if r["policy"] == "none"), None)
    share = lambda r, key: f"{r[key] / none[key]:.0%}" if none and none[key] else "-"  # noqa: E731
    head = (
        f"{'policy':<10} {'survival':>8} {'flagged':>7} {'resp':>5} {'summ':>5} {'max win':>8} "
        f"{'mean win':>8} {'input tok':>10} {'cached':>10} {'cost $':>8} {'vs none':>7} "
        f"{'no-cache $':>10} {'vs none':>7}"
    )
    rows = [head, "-" * len(head)]
    for r in reports:
        rows.append(
            f"{r['policy']:<10} {r['fact_survival']:>8.2f} {len(r['superseded_flagged']):>7} "
            f"{r['responses']:>5} {r['summaries']:>5} {r['max_window_tokens']:>8,} "
            f"{r['mean_window_tokens']:>8,} {r['input_tokens']:>10,} {r['input_cached_tokens']:>10,} "
            f"{r['cost_usd']:>8.4f} {share(r, 'cost_usd'):>7} {r['cost_uncached_usd']:>10.4f} "
            f"{share(r, 'cost_uncached_usd'):>7}"
        )
    return "\n".join(rows)


def plot_compare(reports: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """A static PNG: window over time per policy, cumulative cost, and fact survival."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (win, cost, surv) = plt.subplots(1, 3, figsize=(15, 4.5), gridspec_kw={"width_ratios": [3, 3, 2]})
    for i, r in enumerate(reports):
        t = r["minutes_at_response"]
        win.plot(t, r["window_tokens"], label=r["policy"], lw=1.4, color=f"C{i}")
        cost.plot(t, r["cumulative_cost_usd"], label=r["policy"], lw=1.4, color=f"C{i}")
        cost.plot(t, r["cumulative_cost_uncached_usd"], lw=1.0, ls="--", color=f"C{i}")
    win.set(xlabel="conversation time (min of speech)", ylabel="window tokens per response",
            title="Context window")  # fmt: skip
    cost.set(
        xlabel="conversation time (min of speech)",
        ylabel="USD (log)",
        yscale="log",
        title=f"Cumulative cost, {reports[0]['model']} (dashed: no cache hits)",
    )
    names = [r["policy"] for r in reports]
    bars = surv.bar(
        names, [r["fact_survival"] for r in reports], color=[f"C{i}" for i in range(len(reports))]
    )
    surv.bar_label(bars, fmt="%.2f")
    surv.set(ylim=(0, 1.1), title="Fact survival", ylabel="share of facts in context")
    win.legend()
    fig.suptitle(
        f"{reports[0]['conversation']}: {reports[0]['turns']} turns, ~{reports[0]['minutes']} min of speech"
    )
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


async def compare(
    conv: Conversation, settings: EvalSettings, *, progress: bool = True
) -> list[dict[str, Any]]:
    """Every policy on the same conversation, one after another (each on a fresh engine)."""
    return [await evaluate(conv, replace(settings, policy=p), progress=progress) for p in POLICIES]


def main(args: Any, out: Callable[[str], None] = print) -> int:
    """``voicenb eval`` (see `voicenb.cli`)."""
    conv = concat([load_conversation(p) for p in args.conversations])
    if args.minutes:
        conv = extend_to_minutes(conv, args.minutes, args.wpm)
    settings = EvalSettings(
        policy=args.policy, summariser=args.summariser, trigger_tokens=args.trigger, keep_last=args.keep_last,
        retention_ratio=args.retention_ratio, model=args.model, speech=args.speech, wpm=args.wpm,
    )  # fmt: skip
    if not args.compare:
        report = asyncio.run(evaluate(conv, settings))
        out(json.dumps(report) if args.json else format_report(report))
        return 0
    reports = asyncio.run(compare(conv, settings))
    plot = args.plot or f"compare-{conv.name}.png"
    plotted = _try_plot(reports, plot)
    if not args.json:
        out(compare_table(reports))
        out(f"plot: {plotted}" if plotted else "plot: skipped (pip install 'voicenb[eval]' for matplotlib)")
    else:
        out(json.dumps({"conversation": conv.name, "plot": plotted, "reports": reports}))
    return 0


def _try_plot(reports: Sequence[dict[str, Any]], path: str) -> str | None:
    try:
        return str(plot_compare(reports, path))
    except ImportError:
        return None
