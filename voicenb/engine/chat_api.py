"""OpenAI-compatible ``POST /v1/chat/completions`` (non-streaming) from the engine's local model.

The same summariser code and prompt then run offline (``AsyncOpenAI(base_url=engine.chat_base_url)``)
as against OpenAI, Ollama or vLLM. The websockets server cannot read POST bodies, so this is a small
separate loopback listener on ``h11``. Completions go through ``LlamaCppLLM.complete``, which yields
to replies: a summary never delays a spoken answer by more than one prefill chunk. Given speech models,
the same listener serves ``/v1/audio/transcriptions`` and ``/v1/audio/speech`` (``audio_api``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import threading
import time
from typing import Any

import h11

from . import audio_api
from .audio_api import BadRequest, Binary
from .llm import CompletionAbandoned

log = logging.getLogger("voicenb.engine")

MAX_BODY_BYTES = 1024 * 1024  # a summary request is a few KB; refuse anything a peer could grow
MAX_COMPLETION_TOKENS = 1024
READ_TIMEOUT_S = 30.0
CLIENT_CHECK_S = 0.5  # how often a running completion checks that its client is still there


def parse_request(body: bytes) -> tuple[list[dict[str, str]], int, bool]:
    """(messages, max_tokens, stream) of a chat-completions body; BadRequest with a one-line reason."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"body is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list")
    clean = []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise BadRequest("each message needs a role of system, user or assistant")
        content = m.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise BadRequest("each message needs text content")
        clean.append({"role": m["role"], "content": content})
    limit = data.get("max_completion_tokens") or data.get("max_tokens") or 512
    if not isinstance(limit, int) or limit < 1:
        raise BadRequest("'max_tokens' must be a positive integer")
    return clean, min(limit, MAX_COMPLETION_TOKENS), bool(data.get("stream"))


def json_schema(body: bytes) -> dict | None:
    """The schema of ``response_format: {"type": "json_schema", ...}`` (OpenAI's structured outputs),
    which the local model is then constrained to; None for any other response format."""
    fmt = json.loads(body).get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    schema = (fmt.get("json_schema") or {}).get("schema")
    if not isinstance(schema, dict):
        raise BadRequest("'response_format.json_schema.schema' must be a JSON schema object")
    return schema


def completion_body(model: str, text: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }  # fmt: skip


class ChatAPI:
    """The loopback listener. ``llm`` needs ``complete(messages, max_tokens) -> (text, n_in, n_out)``;
    ``stt`` and ``tts`` (the engine's speech parts), when given, are served too. A part that is None is
    answered with 404."""

    def __init__(
        self, llm: Any, host: str, token: str | None, model: str = "local", *,
        stt: Any = None, tts: Any = None, port: int = 0,
    ) -> None:  # fmt: skip
        self.llm, self.host, self.token, self.model = llm, host, token, model
        self.stt, self.tts, self.port = stt, tts, port
        self._server: asyncio.Server | None = None
        self._lock = asyncio.Lock()  # one completion at a time on the background context

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("chat API not started")
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{self.host}:{port}/v1"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        try:
            while True:
                try:
                    request, body = await self._read_request(conn, reader)
                except BadRequest as e:  # answer, then close: the rest of the body is not read
                    data = json.dumps(_error(str(e), "request_too_large")).encode()
                    headers = [("content-type", "application/json"), ("content-length", str(len(data))),
                               ("connection", "close")]  # fmt: skip
                    writer.write(conn.send(h11.Response(status_code=413, headers=headers)))
                    writer.write(conn.send(h11.Data(data=data)) + conn.send(h11.EndOfMessage()))
                    await writer.drain()
                    break
                if request is None:
                    break
                status, payload = await self._answer(request, body, reader)
                if isinstance(payload, list):  # a streamed reply: server-sent events
                    await self._send_stream(conn, writer, payload)
                    if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                        break
                    conn.start_next_cycle()
                    continue
                data, kind = (
                    (payload.data, payload.content_type)
                    if isinstance(payload, Binary)
                    else (json.dumps(payload).encode(), "application/json")
                )
                headers = [("content-type", kind), ("content-length", str(len(data)))]
                writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
                writer.write(conn.send(h11.Data(data=data)) + conn.send(h11.EndOfMessage()))
                await writer.drain()
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
        except (h11.RemoteProtocolError, ConnectionError, TimeoutError, BadRequest) as e:
            log.debug("chat API connection closed: %s", e)
        except asyncio.CancelledError:  # the listener is stopping; nobody awaits this connection's task
            log.debug("chat API connection cancelled at shutdown")
        finally:
            writer.close()

    async def _read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader
    ) -> tuple[h11.Request | None, bytes]:
        request, body = None, bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(reader.read(65536), READ_TIMEOUT_S)
                conn.receive_data(data)
                if not data and request is None:
                    return None, b""
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > _body_limit(request):
                    raise BadRequest("body too large")
            elif isinstance(event, h11.EndOfMessage):
                return request, bytes(body)
            elif isinstance(event, h11.ConnectionClosed):
                return None, b""

    async def _send_stream(self, conn: h11.Connection, writer: asyncio.StreamWriter, args: list[Any]) -> None:
        """Stream the reply context's tokens as chat.completion.chunk events (high priority: replies)."""
        messages, max_tokens = args
        headers = [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")]
        writer.write(conn.send(h11.Response(status_code=200, headers=headers)))
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop, stop = asyncio.get_running_loop(), threading.Event()

        def produce() -> None:
            try:
                for piece in self.llm.stream(messages, max_tokens, stop):
                    loop.call_soon_threadsafe(queue.put_nowait, piece)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        worker = loop.run_in_executor(None, produce)
        try:
            while (piece := await queue.get()) is not None:
                delta = {"index": 0, "delta": {"content": piece}}
                chunk = {"id": "chatcmpl-local", "object": "chat.completion.chunk", "model": self.model,
                         "created": int(time.time()), "choices": [delta]}  # fmt: skip
                writer.write(conn.send(h11.Data(data=f"data: {json.dumps(chunk)}\n\n".encode())))
                await writer.drain()
            writer.write(conn.send(h11.Data(data=b"data: [DONE]\n\n")) + conn.send(h11.EndOfMessage()))
            await writer.drain()
        finally:
            stop.set()
            await worker

    async def _answer(
        self, request: h11.Request, body: bytes, reader: asyncio.StreamReader
    ) -> tuple[int, Any]:
        path = request.target.decode().split("?")[0].rstrip("/")
        if self.token:
            auth = dict(request.headers).get(b"authorization", b"")
            if not hmac.compare_digest(auth, f"Bearer {self.token}".encode()):
                return 401, _error("Missing or invalid bearer token.", "invalid_api_key")
        if request.method == b"GET" and path.endswith("/models"):
            return 200, {
                "object": "list",
                "data": [{"id": self.model, "object": "model", "owned_by": "local"}],
            }
        served = self._served()
        part = next((p for p in served if request.method == b"POST" and path.endswith(p)), None)
        if part is None:
            paths = ", ".join(f"POST /v1{p}" for p in served) or "nothing"
            return 404, _error(f"Only {paths} is served here.", "not_found")
        if part != "/chat/completions":
            return await self._answer_audio(part, request, body)
        try:
            messages, max_tokens, stream = parse_request(body)
            schema = json_schema(body)
        except BadRequest as e:
            return 400, _error(str(e), "invalid_request")
        if stream:
            return 200, [messages, max_tokens]
        try:
            async with self._lock:
                text, n_in, n_out = await self._complete(messages, max_tokens, reader, schema)
        except CompletionAbandoned:
            log.info("chat completion abandoned: the client left")
            return 499, _error("the client closed the connection", "client_closed")
        except Exception as e:  # the model failed: say so, keep serving
            log.exception("chat completion failed")
            return 500, _error(f"the local model failed: {e}", "engine_error")
        return 200, completion_body(self.model, text, n_in, n_out)

    def _served(self) -> list[str]:
        parts = [
            ("/chat/completions", self.llm),
            ("/audio/transcriptions", self.stt),
            ("/audio/speech", self.tts),
        ]
        return [path for path, model in parts if model is not None]

    async def _answer_audio(self, part: str, request: h11.Request, body: bytes) -> tuple[int, Any]:
        try:
            if part == "/audio/speech":
                return await audio_api.speak(self.tts, body)
            kind = dict(request.headers).get(b"content-type", b"").decode("latin-1")
            return await audio_api.transcribe(self.stt, kind, body)
        except Exception as e:  # the model failed: say so, keep serving
            log.exception("%s failed", part)
            return 500, _error(f"the local model failed: {e}", "engine_error")

    async def _complete(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        reader: asyncio.StreamReader,
        schema: dict | None = None,
    ) -> tuple[str, int, int]:
        """The completion, stopped early when the client closes its connection meanwhile (a summariser
        that timed out): its half-done work must not hold the model from the retry."""
        abandoned = threading.Event()
        args = (messages, max_tokens, abandoned) + ((schema,) if schema else ())  # plain models take 3
        work = asyncio.ensure_future(asyncio.to_thread(self.llm.complete, *args))
        while not work.done():
            await asyncio.wait({work}, timeout=CLIENT_CHECK_S)
            if reader.at_eof():
                abandoned.set()
        return work.result()


_error = audio_api.error_body


def _body_limit(request: h11.Request | None) -> int:
    """Audio to transcribe may be large (OpenAI's 25 MB); everything else is a few KB."""
    if request is not None and request.target.split(b"?")[0].rstrip(b"/").endswith(b"/audio/transcriptions"):
        return audio_api.MAX_AUDIO_BODY_BYTES
    return MAX_BODY_BYTES


MODEL_PARTS = ("chat", "stt", "tts")


async def start_models(
    parts: tuple[str, ...] = MODEL_PARTS, *, llm: str | None = None, host: str = "127.0.0.1",
    port: int = 0, token: str | None = None, threads: int = 2,
) -> ChatAPI:  # fmt: skip
    """A started model server of the engine's own parts (``chat``: the reply LLM, ``stt``: whisper,
    ``tts``: piper and espeak-ng), for engines that name its base URL as their ``llm``/``stt``/``tts``."""
    from ..apikey import register_secret
    from .components import _cached_tts, _cached_whisper, _load_llm
    from .config import EngineConfig

    unknown = set(parts) - set(MODEL_PARTS)
    if unknown or not parts:
        raise ValueError(
            f"model parts are {', '.join(MODEL_PARTS)}; got {', '.join(sorted(unknown)) or 'none'}"
        )
    register_secret(token)
    config = EngineConfig(llm_threads=threads, threads=threads)
    loaded = {
        "llm": _load_llm(llm, config)[0] if "chat" in parts else None,
        "stt": _cached_whisper(None, threads)[0] if "stt" in parts else None,
        "tts": _cached_tts(None)[0] if "tts" in parts else None,
    }
    api = ChatAPI(loaded.pop("llm"), host, token, port=port, **loaded)
    await api.start()
    return api


def serve_models(parts: tuple[str, ...] = MODEL_PARTS, **kw: Any) -> None:
    """Blocking server for ``voicenb serve-models``: prints the base URL on its first line, then runs
    until interrupted."""

    async def run() -> None:
        api = await start_models(parts, **kw)
        print(api.base_url, flush=True)
        log.info("serving %s at %s", ", ".join(parts), api.base_url)
        await asyncio.Future()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
