"""Which OpenAI models voicenb uses by default, and which names are going away.

Everything here is read from the one dated table, ``voicenb/data/models.json``: the defaults (and why),
the windows and prices (`voicenb.tokens.model_spec`), the shutdown dates the installed SDK announces and
the current model to use instead. A deprecated name still works; it logs one warning per process.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from .tokens import price_table

log = logging.getLogger("voicenb")

DEFAULT_REALTIME_MODEL: str = price_table()["defaults"]["realtime"]
DEFAULT_TEXT_MODEL: str = price_table()["defaults"]["text"]  # the OpenAI summariser's model

_WARNED: set[str] = set()  # names already warned about in this process


@dataclass(frozen=True)
class Shutdown:
    """A deprecated model name: when OpenAI turns it off, and the current model to move to."""

    name: str
    date: dt.date
    use_instead: str

    def message(self, today: dt.date | None = None) -> str:
        """One line for the user; past the date it says the name no longer answers."""
        today = today or dt.date.today()
        when = "was shut down on" if today >= self.date else "is deprecated: OpenAI shuts it down on"
        return f"model {self.name!r} {when} {self.date.isoformat()}; use {self.use_instead!r} instead"


def shutdown(name: str) -> Shutdown | None:
    """The announced shutdown of ``name`` (a realtime or text model), or None if none is announced."""
    table = price_table()
    row = (
        table["realtime"].get(name) or table["text"].get(name) or table["deprecated"]["names"].get(name) or {}
    )
    if "shutdown" not in row:
        return None
    return Shutdown(name, dt.date.fromisoformat(row["shutdown"]), row["use_instead"])


def warn_if_deprecated(name: str) -> Shutdown | None:
    """Log one warning (per name, per process) when ``name`` is deprecated; returns its shutdown."""
    gone = shutdown(name)
    if gone is not None and name not in _WARNED:
        _WARNED.add(name)
        log.warning("voicenb: %s", gone.message())
    return gone


def reasons(text_model: str) -> bool:
    """True for a reasoning text model (gpt-5.x): it takes ``max_completion_tokens`` and
    ``reasoning_effort``, not ``temperature``, and its hidden reasoning counts against the limit."""
    return bool(price_table()["text"].get(text_model, {}).get("reasoning"))


def unknown_on_purpose(name: str) -> str | None:
    """Why the table has no window or prices for ``name`` (an SDK literal it skips), or None."""
    return price_table()["realtime_unknown"]["names"].get(name)
