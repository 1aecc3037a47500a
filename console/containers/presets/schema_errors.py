"""pydantic's errors about a ``[presets.NAME]`` table (or ``--set`` values) in the words of a config file.

The presets' schema (``fields``) is validated by pydantic; ``explain`` turns one of its errors back into the key a user
wrote and a message that says what is allowed.  Imported only when presets are validated, never at start.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from pydantic.fields import FieldInfo
from typing_extensions import is_typeddict

from console.config_error import EXPECTED, allowed_range, type_name

_EXPECTED = {  # strict validation: a TOML value of another type is one of these
    "float_type": EXPECTED["float"],
    "int_type": EXPECTED["int"],
    "string_type": EXPECTED["str"],
    "dict_type": EXPECTED["object"],
    "list_type": EXPECTED["array"],
    "tuple_type": EXPECTED["array"],
}
_BOUNDS = ("ge", "gt", "le", "lt")


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


def explain(error: Any, schema: Any, data: Any) -> tuple[tuple[str, ...], str | None]:
    """One pydantic error (``ValidationError.errors()`` item) as (key path, message), or message None for a key the
    schema does not know (the caller says what is known where).

    The key path ends at the schema's field (a list's index or a table's entry is not a key a user wrote), except
    where a validator names an entry (``EntryError``).  Messages say what was wrong and what is allowed:
    "expected a number, got str 'fast'", "must be between 1 and 65535, got 0", "expected one of vllm, sglang, custom,
    got 'x'"; a field whose ``Field(description=...)`` says what it holds ("a list of strings") answers any shape
    problem inside it with that, and the whole list (a table's entry).
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
    if hint:  # a table's entries may be secrets (env): name the one that is wrong, not the whole table
        return tuple(path), f"expected {hint}, got {type_name(value if isinstance(whole, dict) else whole)}"
    if kind in _EXPECTED:
        return tuple(path), f"expected {_EXPECTED[kind]}, got {type_name(value)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bounds = {n: getattr(m, n) for m in _metadata(annotation) for n in _BOUNDS if getattr(m, n, None) is not None}
        return tuple(path), allowed_range(bounds, value)
    if kind == "literal_error" and not isinstance(value, str):  # the choices are names
        return tuple(path), f"expected a string, got {type_name(value)}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return tuple(path), f"expected one of {', '.join(choices)}, got {value!r}"
    return tuple(path), f"{error['msg'][:1].lower()}{error['msg'][1:]}, got {type_name(value)}"
