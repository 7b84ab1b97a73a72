"""One model response: LLM tokens → sentences → speech, streamed as GA response events.

The LLM runs in a worker thread and hands sentences over a queue, so synthesis of sentence 1 overlaps
generation of sentence 2 and the first audio delta leaves as soon as the first sentence is spoken.

Cancellation is a rule, not a race: every wait of a response (transcripts, the next sentence, its
synthesis, each audio chunk) ends the moment it is cancelled, and ``response.done`` goes out then. The
model's worker thread is told to stop and is not waited for: a blocking prefill or synthesis that cannot
be interrupted finishes in the background with its output dropped (the next reply queues behind it for
the model, never the cancellation).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from ..audio import pcm_duration_s
from ..tokens import audio_tokens, count_text_tokens
from . import tool_calls
from .config import EngineConfig
from .conversation import ServerItem, llm_messages, new_id
from .host import ResponseHost
from .protocol import server_event
from .reply_item import ReplyItem
from .sentences import reply_budget, reply_chunks
from .usage import Window, items_to_drop, response_usage, window, zero_usage

log = logging.getLogger("voicenb.engine")
_END = object()


class ResponseRun:
    """One response of a connection, from ``response.created`` to ``response.done``: its context and
    prompt, a function call or the streamed reply (written by its `ReplyItem`), its usage."""

    def __init__(self, conn: ResponseHost, params: dict[str, Any]) -> None:
        self.conn, self.params = conn, params
        self.id = new_id("resp")
        session = conn.session
        self.modality = (params.get("output_modalities") or session["output_modalities"] or ["audio"])[0]
        self.instructions = params.get("instructions", session.get("instructions")) or ""
        self.in_conversation = params.get("conversation", "auto") != "none"
        self.tools = tool_calls.ToolsInPlay.of(session, params, conn.parts.llm)  # function calling
        if self.tools is not None:
            self.instructions = self.tools.system_text(self.instructions)
        self.reply = ReplyItem(self, self.modality)  # the assistant item it writes, once opened
        self.call_item: Any = None  # or the function call it made instead (tool_calls.py)
        self.window: Window | None = None
        self.cancel_reason: str | None = None
        self._cancelled = asyncio.Event()
        self.stop_llm = threading.Event()

    def cancel(self, reason: str) -> None:
        """End now: whatever the response awaits returns at once and it ends ``cancelled`` with this
        reason; nothing more is generated, synthesised or sent."""
        if self.cancel_reason is None:
            self.cancel_reason = reason
            self._cancelled.set()
            self.stop_llm.set()

    async def run(self) -> None:
        status, error = "completed", None
        try:
            await self._generate()
        except Exception as e:  # a failing model must end the response, not the connection
            log.exception("response %s failed", self.id)
            status, error = "failed", {"type": "server_error", "code": "engine_error", "message": str(e)}
        if self.cancel_reason:
            status = "cancelled"
        elif error is None and not self.reply.text and self.reply.item is not None:
            # nothing to say or play: tell the client instead of ending in silence
            status = "failed"
            error = {
                "type": "server_error",
                "code": "empty_reply",
                "message": "the reply model produced no text",
            }
        await self._finish(status, error)
        if status == "failed" and error:
            # a visible error as well as the failed response.done, so no client waits in silence
            await self.conn.send(
                server_event(
                    "error", error={**error, "type": "server_error", "param": None, "event_id": None}
                )
            )

    # --- phases ----------------------------------------------------------------------------------

    async def _generate(self) -> None:
        conn = self.conn
        if self.in_conversation:
            await self._apply_truncation()
        context = self._context_items()
        self.window = window(self.instructions, context)
        await conn.send(
            server_event("response.created", response=self._response_body("in_progress", usage=False))
        )
        await self.until_cancelled(conn.transcripts_ready([i.id for i in context]))
        if self.cancel_reason:
            return
        messages = llm_messages(self.instructions, context)
        conn.record_prompt(messages)
        if conn.parts.llm is None:
            raise RuntimeError("no reply LLM loaded (EngineConfig.load_models=False and no llm given)")
        if self.modality == "audio" and conn.parts.tts is None:
            raise RuntimeError("no text-to-speech loaded (EngineConfig.load_models=False and no tts given)")
        if self.tools is not None and await tool_calls.respond(self, self.tools, messages):
            return
        await self.reply.open()
        await self._stream(messages)
        if not self.reply.text and not self.cancel_reason and tool_calls.answers_a_tool(messages):
            # a small model may end its turn at once after a tool's result: ask once more, plainly
            self.stop_llm = threading.Event()
            await self._stream(tool_calls.asked_to_answer(messages))

    def _context_items(self) -> list[ServerItem]:
        given = self.params.get("input")
        if given is None:
            return list(self.conn.conversation.items)
        items = []
        for data in given:  # out-of-band input: full items, or references to conversation items
            if data.get("type") == "item_reference" or set(data) <= {"id", "type"}:
                items.append(self.conn.conversation.get(data["id"]))
            else:
                items.append(ServerItem.from_api(data))
        return items

    async def _apply_truncation(self) -> None:
        conn = self.conn
        current = window(self.instructions, conn.conversation.items)
        for item_id in items_to_drop(current, conn.session.get("truncation"), conn.truncation_at):
            conn.conversation.delete(item_id)
            await conn.send(server_event("conversation.item.deleted", item_id=item_id))

    async def _stream(self, messages: list[dict[str, str]]) -> None:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        work = (self.conn.parts.llm, messages, self.conn.config, self.modality == "audio", self.stop_llm)
        producer = loop.run_in_executor(None, _produce, *work, _putter(queue, loop))
        try:
            while not self.cancel_reason:
                piece = await self.until_cancelled(queue.get())
                if piece is _END or piece is None:
                    break
                if isinstance(piece, Exception):
                    raise piece
                await self.reply.add(piece)
        finally:
            self.stop_llm.set()
            if not self.cancel_reason:
                await producer  # it has put _END: done, or about to be
            # cancelled: the worker stops at its next check (a token, a prefill chunk); not waited for

    async def _finish(self, status: str, error: dict[str, Any] | None) -> None:
        reply = self.reply
        if reply.item is not None:
            await reply.close(status)
        produced = bool(reply.text or (reply.item and reply.item.audio))
        usage = zero_usage()
        if self.window is not None and (produced or status == "completed"):
            out_audio = audio_tokens(pcm_duration_s(reply.item.audio), "assistant") if reply.item else 0
            usage = response_usage(
                self.window,
                self.conn.previous_window,
                count_text_tokens(reply.text or self._call_text()),
                out_audio,
            )
            self.conn.previous_window = self.window
        body = self._response_body(status, usage=True)
        body["usage"] = usage
        details: dict[str, Any] = {"type": status}
        if status == "cancelled":
            details["reason"] = self.cancel_reason
        if error:
            details["error"] = error
        if status != "completed":
            body["status_details"] = details
        await self.conn.send(server_event("response.done", response=body))

    # --- helpers ---------------------------------------------------------------------------------

    def _outputs(self) -> list[Any]:
        return [i for i in (self.reply.item, self.call_item) if i]

    def _call_text(self) -> str:
        return self.call_item.text if self.call_item is not None else ""

    def _response_body(self, status: str, *, usage: bool) -> dict[str, Any]:
        session_audio = self.conn.session["audio"]["output"]
        return {
            "id": self.id, "object": "realtime.response", "status": status, "status_details": None,
            "output": [i.to_api() for i in self._outputs() if status != "in_progress"],
            "conversation_id": self.conn.conversation_id if self.in_conversation else None,
            "output_modalities": [self.modality],
            "max_output_tokens": self.conn.session.get("max_output_tokens"),
            "audio": {"output": {"format": session_audio["format"], "voice": session_audio.get("voice")}},
            "usage": None, "metadata": self.params.get("metadata"),
        }  # fmt: skip

    async def until_cancelled(self, awaitable: Awaitable[Any]) -> Any:
        """Await ``awaitable`` unless the response is cancelled first (then None)."""
        task = asyncio.ensure_future(awaitable)
        waiter = asyncio.ensure_future(self._cancelled.wait())
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task in done:
            return task.result()
        task.cancel()  # callers pass coroutines (queue.get, a wait on shared tasks): safe to drop
        return None


def _putter(queue: asyncio.Queue[Any], loop: asyncio.AbstractEventLoop) -> Callable[[Any], None]:
    """How a worker thread puts onto ``queue``, which belongs to ``loop``."""

    def put(x: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed (engine stopped) while we ran
            loop.call_soon_threadsafe(queue.put_nowait, x)

    return put


def _produce(
    llm: Any,
    messages: list[dict[str, str]],
    cfg: EngineConfig,
    spoken: bool,
    stop: threading.Event,
    put: Callable[[Any], None],
) -> None:
    """Worker thread: stream the LLM, hand over tokens (text) or whole sentences (audio)."""
    stream = llm.stream(messages, reply_budget(cfg.max_reply_tokens), stop)
    try:
        chunks = reply_chunks(
            stream, tokens=cfg.max_reply_tokens, sentences=cfg.max_reply_sentences, spoken=spoken
        )
        for chunk in chunks:
            put(chunk)
            if stop.is_set():
                break
    except Exception as e:
        put(e)
    finally:
        close = getattr(stream, "close", None)  # a generator: release the model now, not at GC
        if close is not None:
            close()
        put(_END)
