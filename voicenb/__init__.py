"""voicenb: Jupyter-native realtime voice bots that summarise their own context.

Data flow: audio sources -> `VoiceSession` (GA Realtime protocol, one dispatch table) ->
`ConversationState` + `TokenLedger` (pure) -> `SummaryPolicy` -> summarisers -> views.
"""

from .events import SessionEvent
from .policy import SummaryPolicy
from .session import SessionConfig, VoiceSession
from .state import ConversationState, Item, Transcript
from .summarisers import OfflineSummariser, OpenAISummariser
from .tokens import TokenLedger, Usage, count_text_tokens, model_spec

__all__ = [
    "ConversationState",
    "Item",
    "OfflineSummariser",
    "OpenAISummariser",
    "SessionConfig",
    "SessionEvent",
    "SummaryPolicy",
    "TokenLedger",
    "Transcript",
    "Usage",
    "VoiceSession",
    "count_text_tokens",
    "model_spec",
]
__version__ = "0.1.0"
