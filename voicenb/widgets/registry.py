"""One live panel per session and per notebook cell.

Re-running the cell that made a panel, or making a second panel for the same session, would otherwise
leave the older panel listening with no visible control. The newest panel claims its cell and session;
the panels it displaces are returned so the caller can retire them.
"""

from __future__ import annotations

import weakref
from typing import Any

_live: dict[str, weakref.ref] = {}


def cell_id() -> str | None:
    """The id of the notebook cell being executed (JupyterLab sends it), or None outside a notebook."""
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        parent = kernel.get_parent("shell") if kernel is not None else None
    except Exception:  # no IPython, or a kernel without get_parent: no cell to key on
        return None
    return ((parent or {}).get("metadata") or {}).get("cellId")


def claim(panel: Any, session: Any, cell: str | None) -> list[Any]:
    """Make ``panel`` the live one for ``session`` (and ``cell``); the live panels it displaces."""
    keys = [f"session:{id(session)}"] + ([f"cell:{cell}"] if cell else [])
    displaced = []
    for key in keys:
        ref = _live.get(key)
        old = ref() if ref is not None else None
        if old is not None and old is not panel and old not in displaced:
            displaced.append(old)
        _live[key] = weakref.ref(panel)
    return displaced


def release(panel: Any) -> None:
    """Forget ``panel`` (closed or retired)."""
    for key, ref in list(_live.items()):
        if ref() in (panel, None):
            del _live[key]


def in_use(session: Any) -> bool:
    """A live panel controls ``session``."""
    ref = _live.get(f"session:{id(session)}")
    return ref is not None and ref() is not None
