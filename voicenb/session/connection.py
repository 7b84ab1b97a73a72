"""One SDK realtime connection: the one send path, the reader loop and confirmation waiters.

Client events go out through `send()` only (so a recorder sees them all); server frames are parsed
one by one and handed to the protocol core, so one malformed frame is reported, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from openai.types.realtime import (
    ConversationItemCreateEventParam,
    ConversationItemParam,
    RealtimeClientEventParam,
)
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

from .. import events as ev
from .backends import Backend
from .core import SessionCore

if TYPE_CHECKING:  # the SDK's client machinery loads when a backend connects, not on import
    from openai.resources.realtime.realtime import AsyncRealtimeConnection


class NotConfirmed(RuntimeError):
    """The server did not confirm (or rejected) an item we created or deleted."""


class Link:
    """The current server connection of a session (None between connections)."""

    def __init__(self, core: SessionCore, confirm_timeout_s: float = 10.0) -> None:
        self.core = core
        self.confirm_timeout_s = confirm_timeout_s
        self.conn: AsyncRealtimeConnection | None = None
        self.opened_at = 0.0
        self.on_lost: Callable[[str], None] = lambda reason: None
        self._ready = False  # the server confirmed our configuration on this connection
        self._reader: asyncio.Task | None = None
        self._waiters: dict[tuple[str, str], asyncio.Future] = {}
        core.subscribe(self._confirm)

    @property
    def is_open(self) -> bool:
        """A socket is open and the server confirmed the session's configuration."""
        return self.conn is not None and self._ready

    async def open(self, backend: Backend) -> None:
        """Connect, configure the session and start reading server events. Returns once the server has
        confirmed the configuration (`session.updated`); raises, holding nothing, if it does not."""
        conn = await backend.connect(self.core.config.model)
        self.conn, self.opened_at, self._ready = conn, self.core.clock(), False
        event_id = f"evt_{uuid.uuid4().hex[:20]}"
        configured, rejected = self._expect(("configured", "")), self._expect(("event", event_id))
        try:
            self._reader = reader = asyncio.create_task(self._read(conn), name="voicenb-reader")
            try:
                await self.send(
                    {"type": "session.update", "session": self.core.config.to_api(), "event_id": event_id}
                )
            except ConnectionClosed as exc:
                raise NotConfirmed(
                    "the server did not confirm the session configuration (the connection ended)"
                ) from exc
            done, _ = await asyncio.wait(
                {configured, rejected, reader},
                timeout=self.confirm_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if rejected in done:
                rejected.result()  # raises the server's reason
            if configured not in done:
                ended = (
                    "the connection ended" if reader in done else f"no reply in {self.confirm_timeout_s:g} s"
                )
                raise NotConfirmed(f"the server did not confirm the session configuration ({ended})")
        except BaseException:
            await self.drop()
            raise
        finally:
            self._forget(("configured", ""), ("event", event_id))
        self._ready = True
        self.core.publish(ev.Connected(backend.url, self.core.config.model, backend.is_offline))

    async def drop(self) -> None:
        """Close the connection we hold (its reader ends quietly)."""
        conn, self.conn, self._ready = self.conn, None, False
        reader, self._reader = self._reader, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        for fut in self._waiters.values():
            fut.cancel()
        self._waiters.clear()

    async def send(self, event: RealtimeClientEventParam) -> None:
        """The one path for client events (the SDK's TypedDict params: pyright checks each one)."""
        if self.conn is None:
            raise ConnectionError(
                "not connected: press Start in the panel, or `await session.connect()` first"
            )
        if self.core.recorder is not None:
            self.core.recorder.client_event(event)
        await self.conn.send(event)

    async def _read(self, conn: AsyncRealtimeConnection) -> None:
        reason, failed = "connection ended", False
        try:
            while True:
                try:
                    raw = await conn.recv_bytes()
                except ConnectionClosedOK:
                    break
                except Exception as exc:
                    reason, failed = f"connection lost: {exc}", True
                    break
                self._dispatch(conn, raw)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in the reader must end visibly, never silently
            reason, failed = f"reader failed: {type(exc).__name__}: {exc}", True
        if conn is not self.conn or not self._ready:
            return  # a connection we dropped ourselves, or one `open()` is still judging
        if failed:
            self.core.report_error(reason, "connection_lost")
        self.conn, self._ready = None, False
        self.on_lost(reason)

    def _dispatch(self, conn: AsyncRealtimeConnection, raw: bytes) -> None:
        try:
            event = conn.parse_event(raw)
        except Exception as exc:
            self.core.report_error(f"malformed frame ({len(raw)} bytes): {exc}", "malformed_event")
            return
        if not isinstance(getattr(event, "type", None), str):  # valid JSON, but not an event object
            self.core.report_error(
                f"malformed frame ({len(raw)} bytes): not an event object", "malformed_event"
            )
            return
        if self.core.recorder is not None:
            try:
                self.core.recorder.server_event(event)
            except Exception as exc:
                self.core.report_error(f"recorder failed: {exc}", "recorder_failed")
        if getattr(event, "type", None) == "session.updated":
            self._resolve(("configured", ""), True)
        self.core.handle(event)

    # --- confirmations -----------------------------------------------------------------------------

    def _confirm(self, event: ev.SessionEvent) -> None:
        if isinstance(event, ev.ItemAdded):
            self._resolve(("added", event.item_id), event.item_id)
        elif isinstance(event, ev.ItemDeleted):
            self._resolve(("deleted", event.item_id), event.item_id)
        elif isinstance(event, ev.Error) and event.event_id:
            fut = self._waiters.get(("event", event.event_id))
            if fut is not None and not fut.done():
                fut.set_exception(NotConfirmed(event.message))

    def _expect(self, key: tuple[str, str]) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self._waiters[key] = fut
        return fut

    def _resolve(self, key: tuple[str, str], value: Any) -> None:
        fut = self._waiters.get(key)
        if fut is not None and not fut.done():
            fut.set_result(value)

    def _forget(self, *keys: tuple[str, str]) -> None:
        for key in keys:
            self._waiters.pop(key, None)

    async def create_item(
        self, role: Role, text: str, prefix: str, previous_item_id: str | None = None
    ) -> str:
        """Create a text message item and wait until the server confirms it (or reports an error)."""
        item_id = f"{prefix}{uuid.uuid4().hex[:20]}"
        item = text_message(item_id, role, text)
        event_id = f"evt_{uuid.uuid4().hex[:20]}"
        confirmed, failed = self._expect(("added", item_id)), self._expect(("event", event_id))
        event: ConversationItemCreateEventParam = {
            "type": "conversation.item.create",
            "item": item,
            "event_id": event_id,
        }
        if previous_item_id:
            event["previous_item_id"] = previous_item_id
        try:
            await self.send(event)
            done, _ = await asyncio.wait(
                {confirmed, failed}, timeout=self.confirm_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if failed in done:
                failed.result()  # raises the server's error
            if confirmed not in done:
                raise NotConfirmed(f"server did not confirm item {item_id}")
        finally:
            self._forget(("added", item_id), ("event", event_id))
        return item_id

    async def delete_items(self, ids: list[str]) -> list[str]:
        """Delete ``ids`` and wait for each `conversation.item.deleted`; returns the confirmed ones."""
        if not ids:
            return []
        waiters = {i: self._expect(("deleted", i)) for i in ids}
        for item_id in ids:
            await self.send({"type": "conversation.item.delete", "item_id": item_id})
        done, _ = await asyncio.wait(set(waiters.values()), timeout=self.confirm_timeout_s)
        self._forget(*[("deleted", i) for i in ids])
        confirmed = [i for i, fut in waiters.items() if fut in done and not fut.cancelled()]
        if len(confirmed) < len(ids):
            self.core.report_error(
                f"{len(ids) - len(confirmed)} deletions not confirmed", "delete_unconfirmed"
            )
        return confirmed


Role = Literal["system", "user", "assistant"]


def text_message(item_id: str, role: Role, text: str) -> ConversationItemParam:
    """A text message item; the assistant's text is ``output_text``, everyone else's ``input_text``."""
    # One return per role, alike but for it: pyright picks the SDK's message TypedDict by the literal role
    if role == "assistant":
        return {
            "id": item_id,
            "type": "message",
            "role": role,
            "content": [{"type": "output_text", "text": text}],
        }
    if role == "system":
        return {
            "id": item_id,
            "type": "message",
            "role": role,
            "content": [{"type": "input_text", "text": text}],
        }
    return {"id": item_id, "type": "message", "role": role, "content": [{"type": "input_text", "text": text}]}
