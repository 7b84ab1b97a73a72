"""What a session uses where its caller chose nothing: the cost-optimal summary policy for its model
(capped on the offline engine) and one summariser on the backend's own text model."""

from __future__ import annotations

from ..policy import SummaryPolicy
from ..summarisers import ChatSummariser, ExtractiveSummariser, Summariser
from ..tokens import model_spec
from .backends import Backend

OFFLINE_MODEL = "voicenb-offline"  # the offline engine's limits in data/models.json
# A local 1.5B on 2 cores takes 30-50 s for a summary at the default trigger, more while replies keep
# coming; at 60 s a 30-minute default session timed out four folds in a row (`voicenb soak --defaults`).
OFFLINE_SUMMARY_TIMEOUT_S = 180.0


def default_policy(model: str, backend: Backend) -> SummaryPolicy:
    """The cost-optimal policy for ``model``; on the offline engine the trigger also respects the
    local model's smaller context (its model-table row), so summaries fire before replies degrade, and
    the summariser gets the local model's time."""
    policy = SummaryPolicy.for_model(model)
    if backend.is_offline and policy.bounds is not None:
        cap = model_spec(OFFLINE_MODEL).default_trigger
        policy.bounds = policy.bounds.with_limit("the offline engine's 8k context", cap)
        policy.trigger_tokens = policy.bounds.trigger
        policy.target_tokens = min(policy.target_tokens or cap, cap // 2)
        policy.timeout_s = max(policy.timeout_s, OFFLINE_SUMMARY_TIMEOUT_S)
    return policy


def default_summariser(backend: Backend) -> Summariser:
    """One summariser, online and offline: the table's small text model on OpenAI, the engine's own
    model offline (its chat endpoint), each falling back to the extractive one when no model answers;
    extractive elsewhere (a server whose text models we do not know)."""
    client, model = backend.client_for_text()
    if client is None:
        return ExtractiveSummariser()
    return ChatSummariser(client, model, fallback=ExtractiveSummariser())
