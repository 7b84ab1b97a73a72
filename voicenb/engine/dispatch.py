"""A connection's event loop: client frames in, each dispatched to its handler; a frame that fails
becomes an ``error`` event and the connection stays open."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.exceptions import ConnectionClosed

from .connection import Connection
from .conversation import ConversationError
from .protocol import ProtocolError, error_event, parse_client_event, server_event

log = logging.getLogger("voicenb.engine")

Handler = Callable[[Connection, Any], Awaitable[None]]


async def serve(conn: Connection) -> None:
    """Greet the client, then handle its frames until it goes; the connection is closed after."""
    await conn.send(server_event("session.created", session=conn.session))
    conn.prewarmer.prewarm()  # the instructions, before the first turn needs them
    try:
        async for message in conn.ws:
            await handle(conn, message)
            await asyncio.sleep(0)  # a backlog of one client's frames must not hog the event loop
    except ConnectionClosed:
        pass
    finally:
        conn.close()


async def handle(conn: Connection, message: str | bytes) -> None:
    event_id = None
    try:
        event: Any = parse_client_event(message)  # one of the SDK's client event models
        event_id = event.event_id
        await HANDLERS[event.type](conn, event)
    except ProtocolError as e:
        await conn.send(error_event(e.code, e.message, e.param, e.event_id))
    except ConversationError as e:
        await conn.send(error_event(e.code, e.message, e.param, event_id))
    except Exception as e:  # a bug or an input nothing above foresaw: report it, keep the connection
        log.exception("event %s failed", event_id)
        message = f"The server failed: {e}"
        await conn.send(error_event("server_error", message, None, event_id, error_type="server_error"))


HANDLERS: dict[str, Handler] = {
    "session.update": Connection.on_session_update,
    "input_audio_buffer.append": lambda conn, event: conn.input_audio.on_append(event),
    "input_audio_buffer.commit": lambda conn, event: conn.input_audio.on_commit(event),
    "input_audio_buffer.clear": lambda conn, event: conn.input_audio.on_clear(event),
    "conversation.item.create": Connection.on_item_create,
    "conversation.item.delete": Connection.on_item_delete,
    "conversation.item.retrieve": Connection.on_item_retrieve,
    "conversation.item.truncate": Connection.on_item_truncate,
    "response.create": lambda conn, event: conn.replies.on_create(event),
    "response.cancel": lambda conn, event: conn.replies.on_cancel(event),
    "output_audio_buffer.clear": Connection.on_output_audio_clear,
}
