"""A conversation's token rates: how fast a call grows its window, per minute of conversation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..audio import WPM, spoken_seconds
from ..tokens import ASSISTANT_AUDIO_TOKENS_PER_S, USER_AUDIO_TOKENS_PER_S, count_text_tokens

TEXT_TOKENS_PER_WORD = 1.3  # o200k on conversational English, for rate estimates only


@dataclass(frozen=True)
class TokenRates:
    """How fast a call grows its window, per minute of conversation.

    ``voice_call()`` gives a generic call (not fitted to any eval file): 150 words a minute, the user
    speaking 40 % of the time, an exchange every 20 s.
    """

    user_audio_per_min: float
    assistant_audio_per_min: float
    responses_per_min: float
    assistant_text_per_min: float = 0.0  # the replies' transcripts, billed as text output
    instructions_tokens: int = 0

    @classmethod
    def voice_call(
        cls, user_share: float = 0.4, exchange_s: float = 20.0, wpm: int = WPM, instructions_tokens: int = 30
    ) -> TokenRates:
        assistant_share = 1 - user_share
        return cls(
            user_audio_per_min=60 * user_share * USER_AUDIO_TOKENS_PER_S,
            assistant_audio_per_min=60 * assistant_share * ASSISTANT_AUDIO_TOKENS_PER_S,
            responses_per_min=60 / exchange_s,
            assistant_text_per_min=assistant_share * wpm * TEXT_TOKENS_PER_WORD,
            instructions_tokens=instructions_tokens,
        )

    @classmethod
    def from_turns(
        cls, turns: Sequence[tuple[str, str]], wpm: int = WPM, instructions_tokens: int = 30
    ) -> TokenRates:
        """Rates of a scripted conversation ((role, text) turns) spoken at ``wpm``."""
        user_s = sum(spoken_seconds(t, wpm) for r, t in turns if r == "user")
        assistant = [t for r, t in turns if r == "assistant"]
        assistant_s = sum(spoken_seconds(t, wpm) for t in assistant)
        minutes = (user_s + assistant_s) / 60 or 1.0
        return cls(
            user_audio_per_min=user_s * USER_AUDIO_TOKENS_PER_S / minutes,
            assistant_audio_per_min=assistant_s * ASSISTANT_AUDIO_TOKENS_PER_S / minutes,
            responses_per_min=sum(r == "user" for r, _ in turns) / minutes,
            assistant_text_per_min=sum(count_text_tokens(t) for t in assistant) / minutes,
            instructions_tokens=instructions_tokens,
        )

    @property
    def growth_per_min(self) -> float:
        """Audio tokens the window gains per minute (transcripts of audio are not billed)."""
        return self.user_audio_per_min + self.assistant_audio_per_min

    @property
    def exchange_tokens(self) -> float:
        """Tokens one user turn plus its reply add to the window."""
        return self.growth_per_min / self.responses_per_min
