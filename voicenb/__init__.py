"""voicenb: Jupyter-native realtime voice bots that summarise their own context.

Data flow: audio sources -> `VoiceSession` (`voicenb.session`: protocol core, connection, pruning,
handoff, backends) -> `ConversationState` + `TokenLedger` (pure) -> `SummaryPolicy` -> summarisers ->
views (`voicenb.widgets`). Tools that measure it (eval, bench, soak, demo) live in `voicenb.tools`.
"""

from typing import TYPE_CHECKING, Any

from . import events
from .audio import wav_source
from .events import SessionEvent
from .live import live_session_config
from .model_table import DEFAULT_REALTIME_MODEL, DEFAULT_TEXT_MODEL
from .policy import SummaryPolicy
from .session import Backend, HandoffPolicy, SessionConfig, SessionCore, VoiceSession
from .session.tools import tool
from .state import ConversationState, Item, TranscriptStatus
from .summarisers import ChatSummariser, ExtractiveSummariser
from .tokens import TokenLedger, Usage, count_text_tokens, model_spec

if TYPE_CHECKING:
    from .widgets import ControlPanel

__all__ = [
    "DEFAULT_REALTIME_MODEL",
    "DEFAULT_TEXT_MODEL",
    "Backend",
    "ChatSummariser",
    "ControlPanel",
    "ConversationState",
    "ExtractiveSummariser",
    "HandoffPolicy",
    "Item",
    "SessionConfig",
    "SessionCore",
    "SessionEvent",
    "SummaryPolicy",
    "TokenLedger",
    "TranscriptStatus",
    "Usage",
    "VoiceSession",
    "count_text_tokens",
    "events",
    "live_session_config",
    "model_spec",
    "tool",
    "wav_source",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``from voicenb import ControlPanel`` without importing the widget stack for every user."""
    if name == "ControlPanel":
        from .widgets import ControlPanel

        return ControlPanel
    raise AttributeError(f"module 'voicenb' has no attribute {name!r}")
