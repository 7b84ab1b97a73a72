"""The session's life: connect (a fresh server session, or after turns a handoff that remembers), a lost
connection (hand off, or end), the end, and where a client event goes meanwhile: the link, or the
handoff's queue while a new server session is on its way."""

from __future__ import annotations

import asyncio
import logging

from openai.types.realtime import RealtimeClientEventParam
from websockets.exceptions import ConnectionClosed

from .. import events as ev
from .backends import Backend
from .connection import Link
from .core import SessionCore
from .defaults import default_summariser
from .handoff import Handoff, append_audio
from .pruning import Pruner

log = logging.getLogger("voicenb.session")


class Lifecycle:
    """Live or closed (``closed`` is what ``run()`` without a source waits on), and the one route for
    client events while a handoff may be under way. Wires itself to the link's and the handoff's
    failure callbacks."""

    def __init__(
        self, core: SessionCore, link: Link, pruner: Pruner, handoff: Handoff, backend: Backend,
        *, own_summariser: bool,
    ) -> None:  # fmt: skip
        self.core, self.link, self.pruner, self.handoff, self.backend = core, link, pruner, handoff, backend
        self.own_summariser = own_summariser  # ours to point at the offline engine's model once it runs
        self.closed = asyncio.Event()
        self.live = False  # between connect() and close()
        handoff.on_failed = lambda: self.set_closed("handoff failed")
        link.on_lost = self.on_lost

    async def connect(self) -> None:
        """Open the connection, configure the session and start reading server events."""
        log.info("%s", self.backend.describe())  # notebooks and the demo print it where the user looks
        self.closed.clear()
        if self.core.state.turns():  # this session already talked: never start the server empty
            await self.handoff.start("reconnect")
            if not self.link.is_open:
                raise ConnectionError("could not reconnect to the server (see the HandoffFailed event)")
        else:
            await self.link.open(self.backend)
        if self.own_summariser and self.backend.is_offline:
            self.pruner.summariser = default_summariser(self.backend)  # the engine's chat endpoint is up now
        self.live = True
        self.handoff.start_timer()

    def set_closed(self, reason: str) -> None:
        """Not live any more; the first time, wake ``closed``'s waiters and publish `Closed` (``reason``)."""
        self.live = False
        if not self.closed.is_set():
            self.closed.set()
            self.core.publish(ev.Closed(reason))

    def on_lost(self, reason: str) -> None:
        """The link dropped: hand off to a new server session if the policy says so, else end."""
        if self.handoff.policy.on_disconnect:
            self.handoff.start("connection lost")  # a dropped socket: new session, same memory
        else:
            self.set_closed(reason)

    async def send(self, event: RealtimeClientEventParam) -> None:
        """Send, or keep for the new session during a handoff (or a drop it will heal)."""
        if self.handoff.active or (not self.link.is_open and self.handoff.policy.on_disconnect and self.live):
            self.handoff.queue_item(event)
            return
        await self.link.send(event)

    async def send_audio(self, pcm: bytes) -> None:
        """Send PCM16 24 kHz audio; during a handoff it is kept (bounded) and sent afterwards."""
        if self.handoff.active or not self.link.is_open:
            self.handoff.gap.keep(pcm)
            return
        try:
            await self.link.send(append_audio(pcm))
        except (ConnectionClosed, ConnectionError):
            self.handoff.gap.keep(pcm)  # the reader notices the drop and hands off
