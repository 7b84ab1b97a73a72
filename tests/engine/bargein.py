"""Barge-in races on purpose: deliberately slowed engine parts, the real openai-agents client, and
a trial that lets the user speak at a chosen moment of a reply.

The slowed parts block the way the real ones do (a prefill, a synthesis cannot be interrupted midway;
a sentence's tokens come one by one), and announce each phase, so a trial can speak exactly while
the engine transcribes, prefills, generates or synthesises: event waits, no guessed delays.
``python -m tests.engine.bench_bargein`` runs the figures; ``test_bargein.py`` asserts the rules.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.engine.fakes import LoudnessVAD, ToneTTS, tone
from voicenb.audio import SAMPLE_RATE
from voicenb.engine import EngineConfig, OfflineEngine

MOMENTS = ("after_commit", "prefill", "generation", "synthesis", "burst")
CHUNK_S = 0.1  # the client streams its microphone in 100 ms appends, at the speaking pace


class Phases:
    """Thread-safe phase marks the slowed parts set from worker threads and a test awaits."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._events: dict[str, asyncio.Event] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._events = {}

    def event(self, name: str) -> asyncio.Event:
        return self._events.setdefault(name, asyncio.Event())

    def mark(self, name: str) -> None:
        if self.loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                self.loop.call_soon_threadsafe(self.event(name).set)

    def clear(self) -> None:
        for event in self._events.values():
            event.clear()

    async def reached(self, name: str, timeout: float = 20.0) -> None:
        await asyncio.wait_for(self.event(name).wait(), timeout)


class SlowReplyModel:
    """A reply model slowed on purpose, with one context like llama.cpp: ``prefill_s`` before the first
    token in steps of ``step_s`` (the stop flag is read between steps, as the engine's chunked prefill
    does; ``step_s=None``: one block that cannot be interrupted), then ``token_s`` per word. A reply
    waits for the previous one to let go of the model."""

    def __init__(
        self,
        phases: Phases,
        reply: str = "Here is a long answer. It goes on for a while. And then it ends.",
        prefill_s: float = 0.4,
        token_s: float = 0.04,
        step_s: float | None = 0.05,
        first_prefill_s: float | None = None,
    ) -> None:
        self.phases, self.reply = phases, reply
        self.prefill_s, self.token_s, self.step_s = prefill_s, token_s, step_s
        self.first_prefill_s = first_prefill_s  # the first call's prefill, when it differs
        self._context = threading.Lock()
        self.tokens_after_stop = 0  # words produced after a stop was asked for (must stay 0)

    def stream(self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event) -> Iterator[str]:
        with self._context:
            self.phases.mark("prefill")
            prefill_s, self.first_prefill_s = self.first_prefill_s or self.prefill_s, None
            step = self.step_s or prefill_s
            waited = 0.0
            while waited < prefill_s:
                if self.step_s is not None and stop.is_set():
                    return
                time.sleep(step)
                waited += step
            for n, word in enumerate(self.reply.split(" ")[:max_tokens]):
                if stop.is_set():
                    return
                time.sleep(self.token_s)
                if stop.is_set():
                    self.tokens_after_stop += 1
                self.phases.mark("generation")
                yield word if n == 0 else " " + word


class SlowTTS(ToneTTS):
    """``synth_s`` per sentence, blocking and uninterruptible like piper, announced as "synthesis"."""

    def __init__(self, phases: Phases, synth_s: float = 0.25, first_synth_s: float | None = None) -> None:
        super().__init__(0.1)
        self.phases, self.synth_s, self.first_synth_s = phases, synth_s, first_synth_s

    def synthesize(self, text: str) -> bytes:
        self.phases.mark("synthesis")
        took, self.first_synth_s = self.first_synth_s or self.synth_s, None
        time.sleep(took)
        return super().synthesize(text)


class SlowSTT:
    """Transcribes after ``delay_s`` (a turn's response waits for it: the "after commit" moment)."""

    def __init__(self, phases: Phases, text: str = "Tell me more.", delay_s: float = 0.5) -> None:
        self.phases, self.text, self.delay_s = phases, text, delay_s

    def transcribe(self, pcm: bytes) -> str:
        self.phases.mark("transcription")
        time.sleep(self.delay_s)
        return self.text


def slowed_config(phases: Phases, **overrides: Any) -> EngineConfig:
    parts: dict[str, Any] = {
        "vad": LoudnessVAD, "stt": SlowSTT(phases), "llm": SlowReplyModel(phases), "tts": SlowTTS(phases),
        "max_reply_sentences": 3,
    }  # fmt: skip
    return EngineConfig(load_models=False, **{**parts, **overrides})


# --- the openai-agents client ----------------------------------------------------------------------


class ServerEvents:
    """Every raw server event the agents session saw, with its arrival time, and waits on them."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, dict[str, Any]]] = []
        self._changed = asyncio.Condition()

    async def add(self, data: dict[str, Any]) -> None:
        async with self._changed:
            self.seen.append((time.monotonic(), data))
            self._changed.notify_all()

    async def wait(
        self, match: Callable[[dict[str, Any]], bool], after: int = 0, timeout: float = 20.0
    ) -> tuple[int, float, dict[str, Any]]:
        """The first event from index ``after`` on that ``match``es: (index, arrival time, event)."""

        def found() -> tuple[int, float, dict[str, Any]] | None:
            for n in range(after, len(self.seen)):
                if match(self.seen[n][1]):
                    return n, *self.seen[n]
            return None

        async def waited() -> tuple[int, float, dict[str, Any]]:
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None)
            hit = found()
            assert hit is not None
            return hit

        return await asyncio.wait_for(waited(), timeout)


def of_type(type_: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e.get("type") == type_


@contextlib.asynccontextmanager
async def agents_session(
    url: str, token: str, instructions: str = "Answer in a few words.", **settings: Any
) -> AsyncIterator[tuple[Any, ServerEvents]]:
    """An openai-agents RealtimeSession on the engine (its own defaults: semantic VAD, interruptions on),
    and the raw server events it receives."""
    os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")  # nothing leaves the machine
    from agents.realtime import RealtimeAgent, RealtimeRunner
    from agents.realtime.model_events import RealtimeModelRawServerEvent

    agent = RealtimeAgent(name="assistant", instructions=instructions)
    runner = RealtimeRunner(agent)
    model_config: Any = {
        "url": f"{url}/realtime?model=gpt-realtime", "api_key": token,
        "initial_model_settings": {"tracing": None, **settings},
    }  # fmt: skip
    events = ServerEvents()
    session = await runner.run(model_config=model_config)
    async with session:

        async def pump() -> None:
            async for event in session:
                data = getattr(event, "data", None)
                if isinstance(data, RealtimeModelRawServerEvent) and isinstance(data.data, dict):
                    await events.add(data.data)

        reader = asyncio.create_task(pump())
        try:
            await events.wait(of_type("session.updated"))
            yield session, events
        finally:
            reader.cancel()


async def speak(session: Any, seconds: float = 0.4, silence_s: float = 0.35, paced: bool = True) -> None:
    """A turn from the microphone: ``seconds`` of voice, then the silence that ends it, in 100 ms
    appends at the speaking pace (``paced=False``: one append, so the engine sees start and end of
    speech in one go)."""
    pcm = tone(seconds) + bytes(int(silence_s * SAMPLE_RATE) * 2)
    if not paced:
        await session.send_audio(pcm)
        return
    step = int(CHUNK_S * SAMPLE_RATE) * 2
    started = time.monotonic()
    for n, start in enumerate(range(0, len(pcm), step)):
        await session.send_audio(pcm[start : start + step])
        await asyncio.sleep(max(0.0, started + (n + 1) * CHUNK_S - time.monotonic()))  # the speaker's pace


# --- one trial ----------------------------------------------------------------------------------------


@dataclass
class Trial:
    moment: str
    cancel_ms: float | None = None  # speech_started -> the interrupted response's response.done
    status: str | None = None
    reason: str | None = None
    answered: bool = False  # the interrupting turn got response.created and a completed response.done
    late_events: int = 0  # events of the interrupted response after its response.done (must be 0)
    notes: list[str] = field(default_factory=list)


def _response_done(response_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e.get("type") == "response.done" and e["response"]["id"] == response_id


async def barge_in(session: Any, events: ServerEvents, phases: Phases, moment: str) -> Trial:
    """Turn 1, then the user speaks again at ``moment`` of turn 1's response; the figures of both."""
    trial = Trial(moment)
    phases.clear()
    start = len(events.seen)
    await speak(session)
    n, _, created = await events.wait(of_type("response.created"), start)
    first = created["response"]["id"]
    if moment == "after_commit":
        await phases.reached("transcription")  # committed; its response waits for the transcript
    elif moment != "burst":
        await phases.reached(moment)
    else:
        await phases.reached("prefill")
    mark = len(events.seen)
    await speak(session, paced=moment != "burst")
    _, t_started, _ = await events.wait(of_type("input_audio_buffer.speech_started"), mark)
    _, t_done, done = await events.wait(_response_done(first), n)
    body = done["response"]
    trial.status = body["status"]
    trial.reason = (body.get("status_details") or {}).get("reason")
    trial.cancel_ms = (t_done - t_started) * 1000
    done_at = next(i for i in range(n, len(events.seen)) if events.seen[i][1] is done)
    k, _, second = await events.wait(
        lambda e: e.get("type") == "response.created" and e["response"]["id"] != first, mark
    )
    _, _, finished = await events.wait(_response_done(second["response"]["id"]), k)
    trial.answered = finished["response"]["status"] == "completed"
    trial.late_events = sum(1 for _, e in events.seen[done_at + 1 :] if e.get("response_id") == first)
    if not trial.answered:
        trial.notes.append(f"second response {finished['response']['status']}")
    return trial


@contextlib.asynccontextmanager
async def slowed_engine(phases: Phases, **overrides: Any) -> AsyncIterator[OfflineEngine]:
    phases.bind(asyncio.get_running_loop())
    async with OfflineEngine(slowed_config(phases, token="bargein-test", **overrides)) as engine:
        yield engine


def b64(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode()
