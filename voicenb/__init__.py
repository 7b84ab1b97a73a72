"""voicenb: Jupyter-native realtime voice bots that summarise their own context.

Data flow: audio sources -> `VoiceSession` (`voicenb.session`: protocol core, connection, pruning,
handoff, backends) -> `ConversationState` + `TokenLedger` (pure) -> `SummaryPolicy` -> summarisers ->
views (`voicenb.widgets`). Tools that measure it (eval, bench, soak, demo) live in `voicenb.tools`.
"""

from . import events
from .audio import wav_source
from .events import SessionEvent
from .policy import SummaryPolicy
from .session import Backend, HandoffPolicy, SessionConfig, SessionCore, VoiceSession
from .state import ConversationState, Item, Transcript
from .summarisers import OfflineSummariser, OpenAISummariser
from .tokens import TokenLedger, Usage, count_text_tokens, model_spec

__all__ = [
    "Backend",
    "ConversationState",
    "HandoffPolicy",
    "Item",
    "OfflineSummariser",
    "OpenAISummariser",
    "SessionConfig",
    "SessionCore",
    "SessionEvent",
    "SummaryPolicy",
    "TokenLedger",
    "Transcript",
    "Usage",
    "VoiceSession",
    "count_text_tokens",
    "events",
    "model_spec",
    "wav_source",
]
__version__ = "0.1.0"
