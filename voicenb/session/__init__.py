"""The realtime session, in parts a newcomer can find (data flows top-down):

- `config`      -- `SessionConfig` (the GA session payload) and `HandoffPolicy`;
- `core`        -- `SessionCore`: server events -> state, ledger, typed events (no socket);
- `connection`  -- `Link`: the SDK connection, the one send path, confirmation waiters;
- `pruning`     -- `Pruner`: summarise-and-prune in the background;
- `handoff`     -- `Handoff`: a fresh server session that remembers;
- `backends`    -- `Backend`: OpenAI, any URL, or the offline engine (the only part that knows it);
- `defaults`    -- the policy and summariser a session uses where its caller chose none;
- `lifecycle`   -- `Lifecycle`: live or closed, connect, a lost link, and where client events go meanwhile;
- `asking`      -- the events of a turn that names a tool, and `ask()`'s wait for the answer;
- `views`       -- `SessionViews`: the read-only figures over the parts;
- `session`     -- `VoiceSession`, the facade users meet.
"""

from .backends import Backend, UntrustedKeyError
from .config import SESSION_ENDING_CODES, HandoffPolicy, SessionConfig
from .connection import NotConfirmed
from .core import SessionCore
from .session import VoiceSession

__all__ = [
    "SESSION_ENDING_CODES",
    "Backend",
    "HandoffPolicy",
    "NotConfirmed",
    "SessionConfig",
    "SessionCore",
    "UntrustedKeyError",
    "VoiceSession",
]
