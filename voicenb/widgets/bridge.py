"""Wire a session's assistant audio to a sink, with barge-in.

When the server hears the user start speaking (`SpeechStarted`), playback stops at once and the server is
told how much of the interrupted assistant item was actually heard (``conversation.item.truncate``), so
the transcript and the model's memory match what the user heard, not what was generated.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .. import events as ev
from ..audio import AudioSink, Cut, PlayClock
from ..session import VoiceSession

log = logging.getLogger("voicenb.widgets")


async def truncate_heard(session: VoiceSession, cut: Cut) -> bool:
    """Send ``conversation.item.truncate`` for an assistant item cut by barge-in; False when not needed.

    The server rejects an ``audio_end_ms`` past the item's audio, and items no longer in the window.
    """
    item = session.state.log.get(cut.item_id)
    if item is None or item.role != "assistant" or not item.in_window or not session.connected:
        return False
    if cut.played_ms >= int(item.audio_s * 1000):
        return False  # heard in full
    await session.truncate(cut.item_id, max(0, cut.played_ms))
    return True


class AudioBridge:
    """Plays ``session``'s assistant audio on ``sink``; on barge-in stops it and truncates the item."""

    def __init__(self, session: VoiceSession, sink: AudioSink, truncated: list[Cut] | None = None) -> None:
        self.session, self.sink = session, sink
        self.cuts: list[Cut] = []  # every interrupted playback
        self.truncated: list[Cut] = [] if truncated is None else truncated  # those the server was told of
        self._muted: set[str] = set()  # items cut by barge-in: late deltas must not restart playback
        self._streaming = ""
        self._unsubscribe = session.subscribe(self._on_event)

    def _on_event(self, event: ev.SessionEvent) -> Any:
        if isinstance(event, ev.AudioDelta) and event.item_id not in self._muted:
            self._streaming = event.item_id
            self.sink.play(event.item_id, event.pcm)
        elif isinstance(event, ev.SpeechStarted) and self._streaming:
            # Only a reply we were playing is barged in on; decided now, not when the task runs, so a
            # reply that starts meanwhile is never cut by speech that came before it.
            self._muted.add(self._streaming)
            self._streaming = ""
            return self.barge_in()  # the session keeps the coroutine as a task
        elif isinstance(event, ev.Closed):
            self.sink.reset()
        return None

    async def barge_in(self) -> Cut | None:
        """Stop playback now; truncate the item that was playing. Returns the cut, if any."""
        cut = await self.sink.interrupt()
        if cut is None:
            return None
        self.cuts.append(cut)
        self._muted.add(cut.item_id)
        try:
            if await truncate_heard(self.session, cut):
                self.truncated.append(cut)
        except Exception as exc:  # the connection may be gone; the dialogue goes on
            log.warning("truncate after barge-in failed: %r", exc)
        return cut

    async def until_played(self) -> None:
        """Until the sink has played all it was given, by its clock (a script waits for this before it
        speaks again: speech over a reply is a barge-in). Returns at once for a sink without a clock."""
        clock = getattr(self.sink, "clock", None)
        while isinstance(clock, PlayClock) and (left := clock.remaining_s()) > 0:
            await asyncio.sleep(left)

    def close(self, reset: bool = True) -> None:
        """Stop following the session; ``reset`` also silences what is still playing."""
        self._unsubscribe()
        if reset:
            self.sink.reset()
