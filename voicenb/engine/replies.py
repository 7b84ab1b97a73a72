"""A connection's responses, one at a time: ``response.create`` and ``response.cancel``, barge-in, and
every committed VAD turn answered (now, or when the running response ends)."""

from __future__ import annotations

from typing import Any

from .host import ReplyHost
from .protocol import ProtocolError
from .responses import ResponseRun


class Replies:
    """The running response (None between responses), and whether a committed turn waits for one."""

    def __init__(self, host: ReplyHost) -> None:
        self.host = host
        self.running: ResponseRun | None = None
        self._owed = False  # a committed VAD turn came while a response ran: answer it after

    async def on_create(self, event: Any) -> None:
        response = event.response
        # warnings off: item references sit in `input`, which the SDK model types as full items
        params = response.model_dump(exclude_unset=True, warnings=False) if response is not None else {}
        if self.running is not None:
            raise ProtocolError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self.running.id}.",
                None,
                event.event_id,
            )
        self._begin(params)

    async def on_cancel(self, event: Any) -> None:
        wanted = event.response_id
        if self.running is None or (wanted and wanted != self.running.id):
            raise ProtocolError(
                "response_cancel_not_active",
                "Cancellation failed: no active response found.",
                None,
                event.event_id,
            )
        self.running.cancel("client_cancelled")

    def answer_turn(self) -> None:
        """Every committed VAD turn is answered: now, or when the running response ends (one still
        winding down after a cancel, or one the turn did not interrupt); then one response answers
        every turn committed meanwhile."""
        if self.running is None:
            self._begin({})
        else:
            self._owed = True

    def turn_cleared(self) -> None:
        if self._owed and self.running is None:  # it waited for a turn that was cleared
            self._begin({})

    def cancel(self, reason: str) -> None:
        """End the running response, if any (``turn_detected``: barge-in; response.done follows at once)."""
        if self.running:
            self.running.cancel(reason)

    def _begin(self, params: dict[str, Any]) -> None:
        run = ResponseRun(self.host, params)
        self.running, self._owed = run, False

        async def run_and_release() -> None:
            try:
                await run.run()
            finally:
                if self.running is run:
                    self.running = None
                    self._after()

        self.host.spawn(run_and_release())

    def _after(self) -> None:
        if self._owed and not self.host.user_speaking:  # (while the user speaks, their commit answers it)
            self._begin({})
        else:
            self.host.prewarm()  # the reply's end and the next turn's header, while the user speaks
