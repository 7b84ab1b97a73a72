"""Function tools: Python callables the model may call. Pure logic, no asyncio.

``tool(fn)`` (or ``@tool``, or ``@tool(timeout_s=5)``) turns a typed function into a `Tool`: its name,
the first paragraph of its docstring as the description, and a JSON schema of its parameters built by
pydantic from the type hints (Google-style ``Args:`` lines describe each parameter). `ToolBox` holds a
session's tools: ``specs()`` is what goes in ``session.update``; `Tool.arguments` checks what the model
sent against the schema; ``call_line`` (from `voicenb.state`) is a call in one short line. The
session's `ToolRunner` (``calling.py``) runs the calls.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, overload

import pydantic

from ..state import call_line

__all__ = [
    "Tool",
    "ToolArgumentsError",
    "ToolBox",
    "as_tool",
    "call_line",
    "error_output",
    "output_text",
    "tool",
]

MAX_OUTPUT_CHARS = 4_000  # what one call may put in the conversation: the model re-reads it every turn
DEFAULT_TIMEOUT_S = 10.0
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ARG_LINE = re.compile(r"^\s*(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


class ToolArgumentsError(ValueError):
    """The model's arguments do not match the tool's schema (the message says how, in one line)."""


@dataclass(frozen=True)
class Tool:
    """A callable the model may call, with its JSON schema."""

    name: str
    description: str
    fn: Callable[..., Any]
    arguments_model: type[pydantic.BaseModel]
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)

    @property
    def parameters(self) -> dict[str, Any]:
        """The parameters' JSON schema (titles dropped: the local model reads every token of it)."""
        return _without_titles(self.arguments_model.model_json_schema())

    def spec(self) -> dict[str, Any]:
        """The tool as the Realtime API's ``session.tools`` entry (a function tool)."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }

    def arguments(self, arguments: str) -> dict[str, Any]:
        """The keyword arguments for ``fn`` from the model's JSON, checked against the schema."""
        try:
            parsed = self.arguments_model.model_validate_json(arguments or "{}")
        except pydantic.ValidationError as e:
            raise ToolArgumentsError(f"invalid arguments for {self.name}: {_first_error(e)}") from None
        return {name: getattr(parsed, name) for name in type(parsed).model_fields}


@overload
def tool(
    fn: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Tool: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """``tool(book_table)``, ``@tool`` or ``@tool(timeout_s=5)``: a typed function as a `Tool`."""

    def make(f: Callable[..., Any]) -> Tool:
        return _make_tool(f, name, description, timeout_s)

    return make(fn) if fn is not None else make


def as_tool(obj: Tool | Callable[..., Any]) -> Tool:
    return obj if isinstance(obj, Tool) else tool(obj)


class ToolBox:
    """A session's tools by name."""

    def __init__(self, tools: Iterable[Tool | Callable[..., Any]] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for t in tools:
            self.add(t)

    def add(self, obj: Tool | Callable[..., Any]) -> Tool:
        t = as_tool(obj)
        if t.name in self._tools:
            raise ValueError(f"a tool named {t.name!r} is already registered")
        self._tools[t.name] = t
        return t

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def specs(self) -> list[dict[str, Any]]:
        return [t.spec() for t in self._tools.values()]


# --- outputs: what the model reads back -----------------------------------------------------------


def output_text(result: Any) -> str:
    """A tool's return value as the ``function_call_output`` text: strings as they are, pydantic
    models and other values as JSON; cut to ``MAX_OUTPUT_CHARS``."""
    if isinstance(result, str):
        text = result
    elif isinstance(result, pydantic.BaseModel):
        text = result.model_dump_json()
    else:
        text = json.dumps(result, ensure_ascii=False, default=str)
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[: MAX_OUTPUT_CHARS - 20] + " …(output cut)"
    return text


def error_output(message: str) -> str:
    """What the model reads when a call failed: the reason, and that it should say so."""
    return json.dumps(
        {"error": message, "note": "The call failed: tell the user, and offer to try again."},
        ensure_ascii=False,
    )


# --- schema building ---------------------------------------------------------------------------------


def _make_tool(fn: Callable[..., Any], name: str | None, description: str | None, timeout_s: float) -> Tool:
    tool_name = name or getattr(fn, "__name__", "")
    if not _NAME.match(tool_name):
        raise ValueError(f"tool name {tool_name!r}: use 1-64 letters, digits, '_' or '-'")
    if timeout_s <= 0:
        raise ValueError(f"tool {tool_name}: timeout_s must be positive, not {timeout_s}")
    summary, arg_docs = _docstring(inspect.getdoc(fn) or "")
    return Tool(
        tool_name,
        description if description is not None else summary,
        fn,
        _arguments_model(fn, tool_name, arg_docs),
        timeout_s,
    )


def _arguments_model(fn: Callable[..., Any], name: str, docs: dict[str, str]) -> type[pydantic.BaseModel]:
    hints = _type_hints(fn)
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ValueError(f"tool {name}: *args and **kwargs have no schema; name every parameter")
        annotation = hints.get(param.name, Any)
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (annotation, pydantic.Field(default, description=docs.get(param.name)))
    config = pydantic.ConfigDict(extra="forbid")  # an argument the schema does not name is an error
    return pydantic.create_model(f"{name}_arguments", __config__=config, **fields)


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(fn)
    except Exception:  # an annotation that does not resolve: the schema says "any" for it
        return {}


def _docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(first paragraph, {parameter: description}) of a docstring with an optional ``Args:`` block."""
    paragraphs = doc.strip().split("\n\n")
    summary = " ".join(paragraphs[0].split()) if paragraphs and paragraphs[0] else ""
    if summary.lower().startswith(("args:", "arguments:", "parameters:")):
        summary = ""
    args: dict[str, str] = {}
    in_args = False
    for line in doc.splitlines():
        if line.strip().lower() in ("args:", "arguments:", "parameters:"):
            in_args = True
            continue
        if in_args:
            if line.strip().endswith(":") and not line.startswith(" "):
                break  # the next section (Returns:, Raises:)
            match = _ARG_LINE.match(line)
            if match:
                args[match.group(1)] = match.group(2).strip()
    return summary, args


def _without_titles(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_titles(v) for k, v in schema.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(schema, list):
        return [_without_titles(v) for v in schema]
    return schema


def _first_error(e: pydantic.ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "arguments"
    more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
    return f"{where}: {err['msg']}{more}"
