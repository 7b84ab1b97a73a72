"""`SessionViews`: the read-only figures of a `VoiceSession` (what the panel and a notebook show),
each an attribute of one of its parts or what they add up to. No I/O; the session sets the parts."""

from __future__ import annotations

from .. import events as ev
from ..policy import SummaryPolicy
from ..state import ConversationState
from ..summarisers import Summariser
from ..tokens import TokenLedger
from .backends import Backend
from .config import SessionConfig
from .connection import Link
from .core import SessionCore
from .handoff import Handoff
from .pruning import Pruner


class SessionViews:
    """Properties over the parts a `VoiceSession` owns (the attributes declared here); ``policy`` is the
    one a caller may also set."""

    core: SessionCore
    backend: Backend
    link: Link
    pruner: Pruner
    _handoff: Handoff

    @property
    def policy(self) -> SummaryPolicy:
        """The live summary policy (replace it or set its fields)."""
        return self.core.policy

    @policy.setter
    def policy(self, policy: SummaryPolicy) -> None:
        self.core.policy = policy

    @property
    def config(self) -> SessionConfig:
        return self.core.config

    @property
    def state(self) -> ConversationState:
        return self.core.state

    @property
    def ledger(self) -> TokenLedger:
        return self.core.ledger

    @property
    def window_tokens(self) -> int:
        """The window the last response billed (or the estimate after our own change)."""
        return self.core.ledger.window_tokens

    @property
    def is_offline(self) -> bool:
        """Talking to the offline engine on this machine."""
        return self.backend.is_offline

    @property
    def url(self) -> str:
        return self.backend.url

    @property
    def summariser(self) -> Summariser:
        return self.pruner.summariser

    @property
    def summaries(self) -> int:
        """Summaries folded in so far."""
        return self.pruner.summaries

    @property
    def summarising(self) -> bool:
        """A fold is running, or overdue turns are leaving the window."""
        return self.pruner.busy

    @property
    def handoffs(self) -> int:
        return self._handoff.count

    @property
    def dropped_audio_s(self) -> float:
        """Seconds of microphone audio a handoff could not carry over."""
        return self._handoff.gap.dropped_s

    @property
    def truncation_at(self) -> int:
        """Where the server drops old turns itself: the offline engine's own point on the offline
        backend, else the model's (``ledger.spec``, whose prices the costs use either way)."""
        return self.backend.truncation_at or self.core.ledger.spec.truncation_at

    @property
    def truncates(self) -> str:
        """Who truncates at `truncation_at`, for the panel: the model's name or "the offline engine"."""
        return "the offline engine" if self.backend.truncation_at else self.core.ledger.spec.name

    @property
    def errors(self) -> list[ev.Error]:
        return list(self.core.errors)

    @property
    def connected(self) -> bool:
        """A server session is open (False before connect, after close and during a handoff)."""
        return self.link.is_open and not self._handoff.active

    @property
    def connected_at(self) -> float | None:
        """time.monotonic() when the current server session opened (the 60-minute cap counts from it)."""
        return self.link.opened_at if self.link.is_open else None
