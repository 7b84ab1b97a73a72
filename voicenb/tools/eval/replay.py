"""Replay a scripted conversation through a real `VoiceSession` on the offline engine, under one
context policy.

Deterministic: the engine runs with no speech models. Its reply "LLM" answers each response with the
conversation's next assistant turn verbatim and its "TTS" is silence lasting as long as the words take
to say (`voicenb.tools.scripted`). User turns are created as ``input_audio`` items (silence of the same
estimated length) carrying their text as the transcript. So the engine bills the window exactly as the
API bills a voice call, while every model and the scorer read the exact words. With ``speech=True``
user turns are synthesised with the offline voice instead and transcribed by the engine's STT.

Policies, each a session a real server runs (plus one that no server can):

- ``summarise``: the session's own summarise-and-prune (high-water trigger, low-water target; by
  default the model's cost-optimal pair from `voicenb.economics`);
- ``last-n``: the same trigger and pruning with no summary (a one-line note replaces the folded turns);
- ``retention``: the server's ``retention_ratio`` truncation at the model's limit (or at an explicit
  ``trigger_tokens``);
- ``auto``: the server's default truncation at the model's limit (context window - max output): once
  full it drops the oldest turn on every response, busting the prompt cache each time;
- ``none``: nothing is ever dropped (truncation disabled) -- theoretical: past the model's limit no
  session holds that window. Reported as ``none (theoretical)``, never the reference.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openai.types.realtime import RealtimeConversationItemUserMessageParam

from ... import events as ev
from ...apikey import get_api_key
from ...audio import WPM, silence, spoken_seconds
from ...engine import EngineConfig, OfflineEngine
from ...model_table import DEFAULT_REALTIME_MODEL
from ...policy import SummaryPolicy
from ...session import Backend, SessionConfig, VoiceSession
from ...session.defaults import OFFLINE_SUMMARY_TIMEOUT_S
from ...summarisers import ChatSummariser, ExtractiveSummariser, Summariser
from ...tokens import TokenLedger, model_spec
from ..scripted import EstimatedSpeech, ScriptedReplies
from .conversations import Conversation
from .probes import ProbeResult, ask_probes, load_reply_model

POLICIES = ("summarise", "last-n", "retention", "auto", "none")
THEORETICAL = "none (theoretical)"  # the report's name for ``none``
RETENTION_SWEEP = (0.1, 0.3, 0.5, 0.7)
NEVER = 10**9  # a trigger no window reaches
REPLAY_MAX_AUDIO_S = 4 * 3600.0  # retained audio a replay's engine accepts (a 60-minute call is 3,600 s)
DROP_NOTE = "(Earlier turns were removed without a summary.)"
INSTRUCTIONS = "You are a helpful voice assistant. Answer in one or two short sentences."


class DropSummariser:
    """For ``last-n``: the session prunes as usual, but the 'summary' keeps nothing."""

    async def summarise(self, turns: Any, previous: Any, language: Any, budget_tokens: int = 0) -> str:
        return DROP_NOTE


# --- settings ------------------------------------------------------------------------------------


@dataclass
class EvalSettings:
    """One replay's policy and knobs. ``trigger_tokens`` / ``target_tokens`` None: the model's
    cost-optimal pair (`SummaryPolicy.for_model`). ``truncation_at`` None: the model's truncation point
    (context window - max output), where ``auto`` and ``retention`` cut."""

    policy: str = "summarise"
    summariser: str = "offline"  # offline | openai
    trigger_tokens: int | None = None
    keep_last: int = 4
    retention_ratio: float = 0.5
    model: str = DEFAULT_REALTIME_MODEL
    speech: bool = False
    wpm: int = WPM
    timeout_s: float = 120.0
    probe: bool = False  # ask each fact's question at the end; the engine's reply model answers
    probe_model: Any = None  # the reply model for probes (None: the engine's default)
    target_tokens: int | None = None
    truncation_at: int | None = None
    recall: bool = False  # offer the recall tool (sessions have it by default; off: comparable baselines)
    recall_always: bool = False  # each probe's first response must call recall (what it adds when used)

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy {self.policy!r}; choose from {', '.join(POLICIES)}")
        model_spec(self.model)  # an unknown model fails here, naming the known ones

    @property
    def label(self) -> str:
        """The policy's name in reports and tables."""
        if self.policy == "retention":
            return f"retention {self.retention_ratio:g}"
        return THEORETICAL if self.policy == "none" else self.policy

    @property
    def limit(self) -> int:
        """Where the server truncates: the model's point unless overridden."""
        return self.truncation_at or model_spec(self.model).truncation_at

    def summary_policy(self, fires: bool = True) -> SummaryPolicy:
        """The summarise/last-n policy; one that never fires for the server-side baselines."""
        if not fires:
            return SummaryPolicy(trigger_tokens=NEVER, keep_last=self.keep_last, min_turns=2)
        best = SummaryPolicy.for_model(self.model, keep_last=self.keep_last)
        trigger = self.trigger_tokens or best.trigger_tokens
        target = self.target_tokens if self.target_tokens is not None else best.target_tokens
        if self.trigger_tokens and self.target_tokens is None:
            target = None  # an explicit trigger alone: fold everything but keep_last, as always
        return SummaryPolicy(
            trigger_tokens=trigger, target_tokens=target, keep_last=self.keep_last, min_turns=2,
            timeout_s=OFFLINE_SUMMARY_TIMEOUT_S if self.summariser == "local" else SummaryPolicy.timeout_s,
        )  # fmt: skip


def session_parts(settings: EvalSettings) -> tuple[SessionConfig, SummaryPolicy, Any]:
    """Session config, summary policy and summariser that realise ``settings.policy``."""
    truncation: str | dict = "auto"
    policy, summariser = settings.summary_policy(fires=False), None
    if settings.policy == "summarise":
        policy, summariser = settings.summary_policy(), make_summariser(settings.summariser)
    elif settings.policy == "last-n":
        policy, summariser = settings.summary_policy(), DropSummariser()
    elif settings.policy == "retention":
        limits = {"post_instructions": settings.trigger_tokens or settings.limit}
        truncation = {
            "type": "retention_ratio",
            "retention_ratio": settings.retention_ratio,
            "token_limits": limits,
        }
    elif settings.policy == "none":
        truncation = "disabled"
    config = SessionConfig(model=settings.model, instructions=INSTRUCTIONS, truncation=truncation,
                           turn_detection=False)  # fmt: skip
    return config, policy, summariser


def make_summariser(name: str) -> Summariser:
    """``local``: the offline engine's model through its chat endpoint (the session's offline default);
    ``offline``: the extractive fallback alone; ``openai``: the table's small text model (needs a key)."""
    if name == "offline":
        return ExtractiveSummariser()
    if name == "local":
        return LocalModelSummariser()
    if name == "openai":
        if not get_api_key():
            raise ValueError("--summariser openai needs OPENAI_API_KEY (or use --summariser local)")
        return ChatSummariser(fallback=ExtractiveSummariser())
    raise ValueError(f"unknown summariser {name!r} (local | offline | openai)")


class LocalModelSummariser:
    """The same summariser code and prompt as with OpenAI, pointed at the local reply model served by the
    engine's chat-completions listener (started on first use, on loopback)."""

    def __init__(self, model: Any = None) -> None:
        self._model = model
        self._inner: ChatSummariser | None = None

    @property
    def last_fold(self) -> Any:
        return self._inner.last_fold if self._inner else None

    async def summarise(
        self, turns: Sequence[tuple[str, str]], previous: str | None, language: str | None, budget_tokens: int
    ) -> str:
        if self._inner is None:
            from openai import AsyncOpenAI

            from ...engine.chat_api import ChatAPI

            token = secrets.token_urlsafe(24)  # a real credential for this loopback listener
            api = ChatAPI(await asyncio.to_thread(load_reply_model, self._model), "127.0.0.1", token)
            await api.start()
            client = AsyncOpenAI(base_url=api.base_url, api_key=token, max_retries=0)
            self._inner = ChatSummariser(client, "local", fallback=ExtractiveSummariser())
        return await self._inner.summarise(turns, previous, language, budget_tokens)


def engine_config(settings: EvalSettings, replies: ScriptedReplies) -> Any:
    # Speech mode loads VAD + STT for the user's audio; the reply and its "voice" stay scripted.
    return EngineConfig(
        llm=replies, tts=EstimatedSpeech(settings.wpm), load_models=settings.speech,
        max_reply_tokens=4096, max_reply_sentences=10_000, audio_chunk_ms=1000,
        truncation_at=settings.limit,
        # The engine's default bound (30 min of retained audio) is below a full 32k window of user speech:
        # the replay's server must hold whatever the model's window (or the theoretical run) holds.
        max_conversation_audio_s=REPLAY_MAX_AUDIO_S,
    )  # fmt: skip


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
    probes: list[ProbeResult] = field(default_factory=list)
    fold_seconds: list[float] = field(default_factory=list)  # each summary, started to finished
    incomplete: str | None = None  # why the replay stopped before its last turn (its figures so far)
    dropped: int = 0  # items the policy held out of the window while folds fell behind (TurnsDropped)


async def _send_user_turn(session: VoiceSession, text: str, settings: EvalSettings) -> None:
    """One user turn, then ask for the (scripted) reply."""
    if settings.speech:
        from ...engine.speech import synthesize

        pcm = await asyncio.to_thread(synthesize, text)
        await session.send_audio(pcm + silence(0.3))
        await session.commit_audio(respond=True)
        return
    audio = base64.b64encode(silence(spoken_seconds(text, settings.wpm))).decode()
    await session.send_item(_audio_turn(audio, text), respond=True)


async def _send_probe(session: VoiceSession, question: str, settings: EvalSettings) -> None:
    """A probe question as a user turn; with ``recall_always`` its response must call recall first."""
    if not settings.recall_always or settings.speech:
        await _send_user_turn(session, question, settings)
        return
    audio = base64.b64encode(silence(spoken_seconds(question, settings.wpm))).decode()
    await session.send_item(_audio_turn(audio, question), respond=True, tool="recall")


def _audio_turn(audio: str, transcript: str) -> RealtimeConversationItemUserMessageParam:
    """A user turn of (base64) audio with its transcript, as the server would have heard it."""
    return {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_audio", "audio": audio, "transcript": transcript}],
    }


def pairs(turns: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
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


async def replay(conv: Conversation, settings: EvalSettings, progress: Any = None) -> Replay:
    """Replay ``conv`` under ``settings`` against a fresh offline engine; one response per user turn."""

    started = time.monotonic()
    replies = ScriptedReplies(load_reply_model(settings.probe_model) if settings.probe else None)
    config, policy, summariser = session_parts(settings)
    async with OfflineEngine(engine_config(settings, replies)) as engine:
        session = VoiceSession(
            config, policy=policy, summariser=summariser, backend=Backend.remote(engine.url),
            recall=settings.recall or settings.recall_always,
        )  # fmt: skip
        usage: asyncio.Queue[ev.UsageUpdated] = asyncio.Queue()
        session.subscribe(lambda e: usage.put_nowait(e) if isinstance(e, ev.UsageUpdated) else None)
        folds = FoldClock()
        session.subscribe(folds.on_event)
        minutes: list[float] = []
        spoken = 0.0
        incomplete = None
        async with session:
            exchanges = pairs(conv.turns)
            for n, (user, assistant) in enumerate(exchanges, 1):
                replies.say(assistant)
                await _send_user_turn(session, user, settings)
                try:
                    await asyncio.wait_for(usage.get(), settings.timeout_s)
                except TimeoutError:  # report what the run has, and why it stopped
                    why = f"no reply within {settings.timeout_s:g} s"
                    incomplete = f"stopped at turn {n} of {len(exchanges)}: {why}"
                    break
                spoken += spoken_seconds(user, settings.wpm) + spoken_seconds(assistant, settings.wpm)
                minutes.append(spoken / 60)
                await _settle(session, session.policy.timeout_s + SETTLE_MARGIN_S)
                if progress:
                    progress.update()
                    progress.set_postfix_str(f"window {session.window_tokens:,} tok")
            items = [i for i in session.state.window_items() if i.text]
            ask = settings.probe and not incomplete  # a stalled engine would only time out each probe
            probes = await ask_probes(session, conv.facts, lambda q: _send_probe(session, q, settings),
                                      settings.timeout_s) if ask else []  # fmt: skip
            return Replay(
                session.ledger, [i.text for i in items], [i.role for i in items], session.summaries, minutes,
                [e.message for e in session.errors], time.monotonic() - started, probes, folds.seconds,
                incomplete, folds.dropped,
            )  # fmt: skip


class FoldClock:
    """Each fold, from its SummaryStarted to its SummaryFinished or SummaryFailed: (finished, seconds,
    why it failed) in order, and how many items left the window unsummarised because folds fell
    behind (TurnsDropped, `SummaryPolicy.hold_window`). The eval's ``fold_seconds`` and
    ``items_dropped`` and soak's summary figures all read it."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self.records: list[tuple[bool, float, str]] = []
        self.dropped = 0
        self._started: float | None = None

    def on_event(self, event: ev.SessionEvent) -> None:
        if isinstance(event, ev.TurnsDropped):
            self.dropped += len(event.item_ids)
        elif isinstance(event, ev.SummaryStarted):
            self._started = self.now()
        elif isinstance(event, ev.SummaryFinished | ev.SummaryFailed) and self._started is not None:
            finished = isinstance(event, ev.SummaryFinished)
            why = "" if finished else event.error[:120]
            self.records.append((finished, self.now() - self._started, why))
            self._started = None

    @property
    def seconds(self) -> list[float]:
        return [round(s, 1) for _, s, _ in self.records]


SETTLE_MARGIN_S = 5.0  # past the summariser's timeout, its failure has surely been handled


async def _settle(session: VoiceSession, timeout_s: float) -> None:
    """Let a summary the last response triggered finish before the next turn: runs are then
    deterministic (live, the next turn would overlap it; `voicenb bench` measures that). The wait is
    the fold's own limit: a shorter one let the next turns in behind a slow fold, the next fold took
    them all and ran longer, and on LoCoMo the window grew to 4x the trigger."""
    deadline = time.monotonic() + timeout_s
    while session.summarising and time.monotonic() < deadline:
        await asyncio.sleep(0.002)
