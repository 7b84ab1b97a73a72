"""The local reply model (llama-cpp-python) with a stable, cached prompt prefix and one scheduler.

* Replies reuse llama.cpp's KV cache: the prompt is instructions, summary, then turns appended, and
  llama-cpp-python keeps the longest matching token prefix, so a warm turn only processes what is new.
* ``prefill`` evaluates a changed prefix (after a summary or a deletion) in the background, in small
  chunks that stop as soon as a reply wants the model.
* ``complete`` (the chat-completions endpoint, i.e. summaries) runs on a second context over the same
  memory-mapped weights, and pauses between chunks and tokens while any reply is active: a reply
  waits behind a summary for at most one chunk, unless the summary has already waited
  ``BACKGROUND_PATIENCE_S``: then it runs in ``BACKGROUND_SLICE_S`` slices and a reply waits for the
  rest of one slice (so summaries cannot starve, and replies never wait for a whole summary).
* When the text fed exceeds the context, the oldest turns are dropped (as the Realtime server trims);
  when even the newest turn does not fit, ``ContextOverflowError`` says so instead of a silent failure.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

from .config import MissingExtraError

log = logging.getLogger("voicenb.engine")

PREFILL_CHUNK = 32  # tokens per background eval step: the most a reply can wait behind it (~0.5-1 s)
# A reply's prompt is evaluated in steps of llama.cpp's batch: a cancelled reply frees the model after at
# most one step. Smaller steps cost throughput on a busy machine (0.5B, two cores, load ~8: 64-token steps
# 9-10 tok/s, 128: 14-18, 256: 19, 512: 15-32), and the cancel itself never waits for a step anyway.
REPLY_PREFILL_CHUNK = 512
DEFAULT_N_CTX = 8192
BACKGROUND_PATIENCE_S = 20.0  # the most a summary waits for replies in all before it goes first
BACKGROUND_SLICE_S = 1.0  # then it runs this long at a time; a reply waits for the rest of one slice


class ContextOverflowError(RuntimeError):
    """The newest message alone does not fit the model's context."""


class CompletionAbandoned(RuntimeError):
    """A background completion stopped because nobody waits for it any more."""


class Scheduler:
    """Replies first, but background work (summaries) is never starved: it waits while a reply is
    active, and once it has waited ``patience_s`` in all it runs in slices of ``slice_s`` between
    replies: a reply that comes meanwhile waits for the rest of one slice, then the job its next one.
    A fast talker (or a script sending turns back to back) would otherwise keep every summary waiting
    while the window grows past the engine's limit; a job that kept the model to its end would make
    replies wait for the whole summary (tens of seconds on two cores)."""

    def __init__(
        self, patience_s: float = BACKGROUND_PATIENCE_S, slice_s: float = BACKGROUND_SLICE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.patience_s, self.slice_s, self.clock = patience_s, slice_s, clock
        self._cond = threading.Condition()
        self._replies = 0  # running
        self._waiting = 0  # replies waiting for the background job's slice to end
        self._passes = 0  # of those, how many may go before the job's next slice
        self._waited = 0.0  # by the running background job, in all
        self._urgent = False  # it has waited long enough: it runs in slices, replies between them
        self._slice_started = 0.0

    @contextlib.contextmanager
    def reply(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            self._cond.wait_for(lambda: not self._urgent or self._passes > 0)
            self._waiting -= 1
            if self._urgent:
                self._passes -= 1
            self._replies += 1
        try:
            yield
        finally:
            with self._cond:
                self._replies -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def background(self) -> Iterator[None]:
        """Around one background job: its patience counts from here and ends with it."""
        try:
            yield
        finally:
            with self._cond:
                self._waited, self._urgent, self._passes = 0.0, False, 0
                self._cond.notify_all()

    @property
    def reply_pending(self) -> bool:
        return self._replies > 0

    def should_yield(self) -> bool:
        """Whether a background step should stop now: a reply runs, or one waits and the slice is over
        (a long prefill checks this between its chunks, then calls `yield_to_replies`)."""
        with self._cond:
            over = self._urgent and self._waiting and self.clock() - self._slice_started >= self.slice_s
            return self._replies > 0 or bool(over)

    def yield_to_replies(self) -> None:
        """Called between background chunks and tokens. Blocks while a reply is active until the job
        has waited ``patience_s``; from then on, lets the replies that wait go at the end of each slice."""
        with self._cond:
            if self._urgent:
                if self._waiting and self.clock() - self._slice_started >= self.slice_s:
                    self._passes = self._waiting  # those go now; later ones wait for the next slice
                    self._cond.notify_all()
                    self._cond.wait_for(lambda: self._passes == 0 and self._replies == 0)
                    self._slice_started = self.clock()
                return
            if self._replies == 0:
                return
            started = time.monotonic()
            idle = self._cond.wait_for(lambda: self._replies == 0, max(0.0, self.patience_s - self._waited))
            self._waited += time.monotonic() - started
            if not idle:
                self._urgent = True
                log.info("a background job waited %.0f s: it now runs in %.1f s slices", self._waited,
                         self.slice_s)  # fmt: skip
                self._cond.wait_for(lambda: self._replies == 0)
                self._slice_started = self.clock()


class _Context:
    """One llama.cpp context (its own KV cache) over a GGUF, with the model's chat template."""

    def __init__(self, gguf: str, threads: int, n_ctx: int, n_batch: int) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llm = Llama(
            model_path=gguf, n_ctx=n_ctx, n_batch=n_batch, n_threads=threads, verbose=False, seed=0
        )
        atexit.register(self.llm.close)  # llama's __del__ at interpreter exit prints a spurious error
        meta = self.llm.metadata
        vocab = self.llm._model
        self.formatter = Jinja2ChatFormatter(
            template=meta["tokenizer.chat_template"],
            eos_token=vocab.token_get_text(self.llm.token_eos()),
            bos_token=vocab.token_get_text(self.llm.token_bos()),
        )
        self.lock = threading.Lock()

    @property
    def n_ctx(self) -> int:
        return self.llm.n_ctx()

    def tokens(self, messages: list[dict[str, str]]) -> tuple[list[int], list[str]]:
        """The prompt's tokens (generation prompt included) and the template's stop strings."""
        result = self.formatter(messages=cast(Any, messages))  # role/content dicts
        stop = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        return self.llm.tokenize(result.prompt.encode("utf-8"), add_bos=False, special=True), stop

    def fit(self, messages: list[dict[str, str]], max_tokens: int) -> tuple[list[int], list[str], int]:
        """Tokens of ``messages`` with the oldest non-system turns dropped until the reply fits.
        Returns (tokens, stop strings, number of messages dropped)."""
        head = 0
        while head < len(messages) and messages[head]["role"] == "system":
            head += 1
        dropped = 0
        while True:
            kept = messages[:head] + messages[head + dropped :]
            tokens, stop = self.tokens(kept)
            if len(tokens) + max_tokens <= self.n_ctx:
                return tokens, stop, dropped
            if head + dropped >= len(messages) - 1:
                raise ContextOverflowError(
                    f"the prompt needs {len(tokens)} + {max_tokens} tokens but the model's context is "
                    f"{self.n_ctx}: shorten the instructions, the summary or the last turn"
                )
            dropped += 1

    def prefill(
        self, tokens: list[int], should_stop: Callable[[], bool], chunk_size: int = PREFILL_CHUNK
    ) -> int:
        """Evaluate ``tokens`` (all but the last, as generation does) into the KV cache, reusing the
        cached prefix, in chunks; stops early when ``should_stop()``. Returns tokens newly evaluated."""
        llm, done = self.llm, 0
        prefix = 0
        for a, b in zip(llm._input_ids.tolist(), tokens[:-1], strict=False):
            if a != b:
                break
            prefix += 1
        llm.n_tokens = prefix
        for start in range(prefix, len(tokens) - 1, chunk_size):
            if should_stop():
                break
            chunk = tokens[start : min(start + chunk_size, len(tokens) - 1)]
            llm.eval(chunk)
            done += len(chunk)
        return done

    def generate(
        self, tokens: list[int], stop: list[str], max_tokens: int, repeat_penalty: float, grammar: Any = None
    ) -> Any:
        return self.llm.create_completion(
            prompt=tokens, max_tokens=max_tokens, temperature=0.0, repeat_penalty=repeat_penalty,
            stop=stop, stream=True, grammar=grammar,
        )  # fmt: skip


class LlamaCppLLM:
    """A GGUF chat model: streamed replies on one context, background completions on another."""

    def __init__(
        self, gguf: str, threads: int, n_ctx: int = DEFAULT_N_CTX, repeat_penalty: float = 1.0
    ) -> None:
        try:
            import llama_cpp  # noqa: F401
        except ImportError as e:
            raise MissingExtraError("reply LLM", "llama-cpp-python") from e
        self.gguf, self.threads, self.repeat_penalty = gguf, threads, repeat_penalty
        self._reply = _Context(gguf, threads, n_ctx, 512)
        train = self._reply.llm._model.n_ctx_train()
        if train < n_ctx:  # never promise more context than the model was trained for
            self._reply = _Context(gguf, threads, train, 512)
        self.scheduler = Scheduler()
        self._background: _Context | None = None
        self._background_lock = threading.Lock()
        self.last_prompt_tokens = 0  # of the latest reply; and how many were served from the cache
        self.last_cached_tokens = 0

    @property
    def n_ctx(self) -> int:
        return self._reply.n_ctx

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return len(self._reply.tokens(messages)[0])

    # --- replies ---------------------------------------------------------------------------------

    def stream(
        self, messages: list[dict[str, str]], max_tokens: int, stop: threading.Event,
        *, grammar: str | None = None, prefix: str = "",
    ) -> Iterator[str]:  # fmt: skip
        """Reply text pieces. ``prefix`` is text the reply starts with (not yielded again) and
        ``grammar`` a JSON schema the rest must follow: a function call (``tool_calls.py``)."""
        ctx = self._reply
        with self.scheduler.reply(), ctx.lock:
            tokens, stops, dropped = ctx.fit(messages, max_tokens)
            if prefix:
                tokens = tokens + ctx.llm.tokenize(prefix.encode("utf-8"), add_bos=False, special=True)
            if dropped:
                log.warning("reply prompt over %d tokens: dropped the %d oldest turns", ctx.n_ctx, dropped)
            self.last_prompt_tokens = len(tokens)
            self.last_cached_tokens = _common_prefix(ctx.llm._input_ids.tolist(), tokens)
            # the prompt in steps, not in one uninterruptible eval: a cancelled reply frees the model
            # within a step (create_completion then finds all but the last token cached)
            ctx.prefill(tokens, stop.is_set, REPLY_PREFILL_CHUNK)
            if stop.is_set():
                return
            constrained = _grammar(grammar) if grammar else None
            generated = ctx.generate(tokens, stops, max_tokens, self.repeat_penalty, constrained)
            with contextlib.closing(generated) as chunks:
                for chunk in chunks:
                    if stop.is_set():
                        break
                    piece = chunk["choices"][0]["text"]
                    if piece:
                        yield piece

    def prefill(self, messages: list[dict[str, str]]) -> int:
        """Warm the reply cache with ``messages`` (the next reply's prompt minus its new turn). Stops
        at once when a reply comes; returns the tokens evaluated (0 when the cache was warm or busy)."""
        ctx = self._reply
        if not ctx.lock.acquire(blocking=False):
            return 0  # a reply is running: it warms the cache itself
        try:
            tokens, _, _ = ctx.fit(messages, 0)
            return ctx.prefill(tokens, lambda: self.scheduler.reply_pending)
        except ContextOverflowError:
            return 0
        finally:
            ctx.lock.release()

    # --- background completions (summaries, the chat-completions endpoint) --------------------------

    def complete(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        abandoned: threading.Event | None = None,
        json_schema: dict | None = None,
    ) -> tuple[str, int, int]:
        """A whole completion at low priority: (text, prompt tokens, completion tokens). When
        ``abandoned`` is set (its client left: a summariser that timed out) it stops at the next chunk
        or token with `CompletionAbandoned`, so the model's time goes to the next request. With a
        ``json_schema`` the sampler may only write JSON of that schema (llama.cpp's grammar)."""
        gone = abandoned or threading.Event()
        grammar = _grammar(json.dumps(json_schema)) if json_schema else None
        with self._background_lock:
            if self._background is None:  # same weights (mmap), its own KV cache
                self._background = _Context(self.gguf, self.threads, self.n_ctx, PREFILL_CHUNK)
            ctx, scheduler = self._background, self.scheduler
            tokens, stops, _ = ctx.fit(messages, max_tokens)
            pieces: list[str] = []
            with scheduler.background():
                while _remaining(ctx, tokens) > 0 and not gone.is_set():
                    scheduler.yield_to_replies()
                    ctx.prefill(tokens, lambda: scheduler.should_yield() or gone.is_set())
                for chunk in ctx.generate(tokens, stops, max_tokens, self.repeat_penalty, grammar):
                    if gone.is_set():
                        break
                    pieces.append(chunk["choices"][0]["text"])
                    scheduler.yield_to_replies()
            if gone.is_set():
                raise CompletionAbandoned("the client left before the completion was done")
            return "".join(pieces).strip(), len(tokens), len(pieces)


def _grammar(text: str) -> Any:
    """llama.cpp's grammar for a JSON schema's text (kept per schema: building one parses it; the
    grammar writes the properties in the text's order)."""
    from llama_cpp import LlamaGrammar

    if text not in _GRAMMARS:
        _GRAMMARS[text] = LlamaGrammar.from_json_schema(text, verbose=False)
    return _GRAMMARS[text]


_GRAMMARS: dict[str, Any] = {}


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _remaining(ctx: _Context, tokens: list[int]) -> int:
    """Tokens still to evaluate before ``tokens`` (minus the last) are all in the cache; 0 when done."""
    cached = _common_prefix(ctx.llm._input_ids.tolist(), tokens[:-1])
    return len(tokens) - 1 - cached
