"""A config file's error as a user reads it (``path:line: key: what is wrong``), and the line a key sits on.

A leaf module: ``config`` and the launch presets' reader (``containers.presets.toml``) both raise these
and neither has to import the other for it.  Both validate with pydantic schemas; ``explain`` turns a pydantic
error back into the key a user wrote and a message that says what is allowed, and ``find_line`` finds its line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from pydantic.fields import FieldInfo
from typing_extensions import is_typeddict


class ConfigError(Exception):
    """A config problem a user can fix: where it is and what is wrong."""

    def __init__(self, path: Path | None, line: int | None, key: str | None, message: str) -> None:
        self.path, self.line, self.key, self.message = path, line, key, message
        where = str(path) if path else "config"
        if line:
            where += f":{line}"
        super().__init__(f"{where}: {key + ': ' if key else ''}{message}")


def find_line(text: str, section: str, key: str | None = None) -> int | None:
    """1-based line of ``key`` inside ``[section]`` (or of the header when key is None)."""
    current = ""
    header_line = sub_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        m = re.match(r"^\[\s*([^\]]+?)\s*\]", stripped)
        if m and not stripped.startswith("[["):
            current = m.group(1).strip().strip('"')
            if current == section:
                header_line = number
                if key is None:
                    return number
            elif key is not None and current == f"{section}.{key}":
                sub_line = number  # the key written as a table of its own: [section.key]
            continue
        if current == section and key is not None:
            km = re.match(r'^("?)([^"=\s]+)\1\s*=', stripped)
            if km and km.group(2) == key:
                return number
    return sub_line or header_line


# --- pydantic's errors in the words of a config file ---------------------------------------------------------------

_EXPECTED = {  # strict validation: a TOML value of another type is one of these
    "float_type": "a number",
    "int_type": "an integer",
    "string_type": "a string",
    "dict_type": "a table",
    "list_type": "a list",
    "tuple_type": "a list",
}
_BOUNDS = {"ge": "at least", "gt": "above", "le": "at most", "lt": "below"}


class EntryError(ValueError):
    """A validator's complaint about one entry of a table (``env.NAME``, a binding id): the entry joins the key."""

    def __init__(self, entry: str, message: str) -> None:
        super().__init__(message)
        self.entry = entry


def type_name(v: Any) -> str:
    return f"{type(v).__name__} {v!r}"


def fields_of(schema: Any) -> dict[str, Any]:
    """A TypedDict schema's keys and their annotations (with their ``Annotated`` metadata); {} for anything else."""
    return get_type_hints(schema, include_extras=True) if is_typeddict(schema) else {}


def _metadata(annotation: Any) -> list[Any]:
    """Every constraint and ``Field(...)`` inside an annotation, outermost first (``Optional`` and lists included)."""
    found: list[Any] = []
    stack = [annotation]
    while stack:
        item = stack.pop(0)
        if isinstance(item, FieldInfo):
            found.append(item)
            stack.extend(item.metadata)
        elif get_origin(item) is Annotated:
            stack.extend(item.__metadata__)
            stack.append(get_args(item)[0])
        elif get_args(item) and not is_typeddict(item):
            stack.extend(get_args(item))
        else:
            found.append(item)
    return found


def _number(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _range(annotation: Any, value: Any) -> str:
    bounds = {n: getattr(m, n) for m in _metadata(annotation) for n in _BOUNDS if getattr(m, n, None) is not None}
    if "ge" in bounds and "le" in bounds:
        allowed = f"between {_number(bounds['ge'])} and {_number(bounds['le'])}"
    else:
        allowed = " and ".join(f"{_BOUNDS[n]} {_number(b)}" for n, b in bounds.items())
    return f"must be {allowed}, got {value!r}"


def explain(error: Any, schema: Any, data: Any) -> tuple[tuple[str, ...], str | None]:
    """One pydantic error (``ValidationError.errors()`` item) as (key path, message), or message None for a key the
    schema does not know (the caller says what is known where).

    The key path ends at the schema's field (a list's index or a table's entry is not a key a user wrote), except
    where a validator names an entry (``EntryError``).  Messages say what was wrong and what is allowed, as the
    hand-written checks did: "expected a number, got str 'fast'", "must be between 0.2 and 60, got 0.01",
    "expected one of auto, jtop, nvml, procfs, got 'gpu'"; a field whose ``Field(description=...)`` says what it
    holds ("a list of strings") answers any shape problem inside it with that, and the whole list (a table's entry).
    """
    loc = tuple(error["loc"])
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    path: list[str] = []
    annotation, whole = None, data
    for part in loc:  # walk the nested schemas down to the field the error is in
        known = fields_of(schema)
        if not isinstance(part, str) or part not in known:
            break
        path.append(part)
        annotation = known[part]
        whole = whole.get(part) if isinstance(whole, dict) else None
        schema = next((m for m in _metadata(annotation) if fields_of(m)), None)
    if kind == "extra_forbidden":
        return (*path, str(loc[len(path)])), None
    if kind in ("value_error", "assertion_error"):
        exc = ctx.get("error")
        entry = getattr(exc, "entry", None)
        return (*path, entry) if entry else tuple(path), str(exc) if exc is not None else error["msg"]
    hint = next((m.description for m in _metadata(annotation) if isinstance(m, FieldInfo) and m.description), None)
    if hint:  # a table's entries may be secrets (api_keys): name the one that is wrong, not the whole table
        return tuple(path), f"expected {hint}, got {type_name(value if isinstance(whole, dict) else whole)}"
    if kind in _EXPECTED:
        return tuple(path), f"expected {_EXPECTED[kind]}, got {type_name(value)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return tuple(path), _range(annotation, value)
    if kind == "literal_error" and not isinstance(value, str):  # the choices are names
        return tuple(path), f"expected a string, got {type_name(value)}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return tuple(path), f"expected one of {', '.join(choices)}, got {value!r}"
    return tuple(path), f"{error['msg'][:1].lower()}{error['msg'][1:]}, got {type_name(value)}"
