"""A config file's error as a user reads it (``path:line: key: what is wrong``), and the line a key sits on.

A leaf module: ``config`` and the launch presets' reader (``containers.presets.toml``) both raise these
and neither has to import the other for it.  ``explain`` turns msgspec's error about the config's schema back into
the key a user wrote and a message that says what is allowed (the presets' pydantic errors: ``presets.schema_errors``),
and ``find_line`` finds its line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints

import msgspec
from msgspec import Meta


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


# --- msgspec's error in the words of a config file -----------------------------------------------------------------

EXPECTED = {  # msgspec's type names (strict: a TOML value of another type is one of these)
    "float": "a number",
    "int": "an integer",
    "str": "a string",
    "bool": "true or false",
    "object": "a table",
    "array": "a list",
}
_BOUNDS = {"ge": "at least", "gt": "above", "le": "at most", "lt": "below"}
_AT = re.compile(r"^(?P<msg>.*?)(?: - at `key` in `(?P<key_in>[^`]*)`| - at `(?P<at>[^`]*)`)?$", re.S)
_PART = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")


class EntryError(ValueError):
    """A complaint about one entry of a table (``env.NAME``, a binding id): the entry joins the key."""

    def __init__(self, entry: str, message: str) -> None:
        super().__init__(message)
        self.entry = entry


def type_name(v: Any) -> str:
    return f"{type(v).__name__} {v!r}"


def _number(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def allowed_range(bounds: dict[str, Any], value: Any) -> str:
    """``must be between 1 and 60, got 0.5`` from a field's bounds (``ge``, ``gt``, ``le``, ``lt``)."""
    if "ge" in bounds and "le" in bounds:
        allowed = f"between {_number(bounds['ge'])} and {_number(bounds['le'])}"
    else:
        allowed = " and ".join(f"{_BOUNDS[n]} {_number(b)}" for n, b in bounds.items())
    return f"must be {allowed}, got {value!r}"


def fields_of(schema: Any) -> dict[str, Any]:
    """A msgspec Struct's fields and their annotations (with their ``Annotated`` metadata); {} for anything else."""
    if not (isinstance(schema, type) and issubclass(schema, msgspec.Struct)):
        return {}
    hints = get_type_hints(schema, include_extras=True)
    return {name: hints[name] for name in schema.__struct_fields__}


def _parts(annotation: Any) -> tuple[list[Meta], list[Any]]:
    """The constraints (``Meta``) inside an annotation, outermost first, and the types it names."""
    metas: list[Meta] = []
    types: list[Any] = []
    stack = [annotation]
    while stack:
        item = stack.pop(0)
        if isinstance(item, Meta):
            metas.append(item)
        elif get_origin(item) is Annotated:
            stack.extend(item.__metadata__)
            stack.append(get_args(item)[0])
        else:
            types.append(item)
            if get_origin(item) is not Literal:
                stack.extend(get_args(item))
    return metas, types


def struct_in(annotation: Any) -> Any:
    """The msgspec Struct an annotation holds (``General | UnsetType`` -> ``General``), or None."""
    return next((t for t in _parts(annotation)[1] if fields_of(t)), None)


def _failing_entry(table: dict[str, Any], annotation: Any) -> Any:
    """The first value of a table that its value type refuses (msgspec says only ``[...]``)."""
    value_type = next((get_args(t)[1] for t in _parts(annotation)[1] if get_origin(t) is dict), Any)
    for value in table.values():
        try:
            msgspec.convert(value, value_type, strict=True)
        except msgspec.ValidationError:
            return value
    return table


def explain(error: msgspec.ValidationError, schema: Any, data: Any) -> tuple[tuple[str, ...], str | None]:
    """msgspec's error as (key path, message), or message None for a key the schema does not know (the caller says
    what is known where).

    The key path ends at the schema's field (a list's index or a table's entry is not a key a user wrote).  Messages
    say what was wrong and what is allowed, as the hand-written checks did: "expected a number, got str 'fast'",
    "must be between 0.2 and 60, got 0.01", "expected one of auto, jtop, nvml, procfs, got 'gpu'"; a field whose
    ``Meta(description=...)`` says what it holds ("a list of strings") answers any shape problem inside it with that,
    and the whole list (or the table's wrong entry: a table's other entries may be secrets).
    """
    m = _AT.match(str(error))
    assert m is not None  # the pattern matches any text
    msg, where = m.group("msg"), m.group("key_in") or m.group("at") or "$"
    parts = [a if a is not None else b for a, b in _PART.findall(where)]
    path: list[str] = []
    annotation: Any = None
    whole, rest = data, parts
    for i, part in enumerate(parts):  # walk the nested schemas down to the field the error is in
        known = fields_of(schema)
        if part not in known:
            break
        path.append(part)
        annotation = known[part]
        whole = whole.get(part) if isinstance(whole, dict) else None
        schema = struct_in(annotation)
        rest = parts[i + 1 :]
    value = whole
    for part in rest:  # a list's item
        value = value[int(part)] if part.isdigit() and isinstance(value, list) else value
    unknown = re.match(r"Object contains unknown field `(.*)`", msg)
    if unknown:
        return (*path, unknown.group(1)), None
    metas, types = _parts(annotation)
    says = next((meta.extra["says"] for meta in metas if meta.extra and "says" in meta.extra), None)
    if says and "matching regex" in msg:
        if m.group("key_in") and isinstance(whole, dict):  # a table's key: the first one that does not match
            pattern = next(meta.pattern for meta in metas if meta.pattern)
            value = next((k for k in whole if not re.search(pattern, k)), whole)
        return tuple(path), f"{says}: {value!r}"
    hint = next((meta.description for meta in metas if meta.description), None)
    if hint:
        got = _failing_entry(whole, annotation) if isinstance(whole, dict) and rest else whole
        return tuple(path), f"expected {hint}, got {type_name(got)}"
    expected = re.match(r"Expected `(\w+)`, got `\w+`", msg)
    if expected:
        return tuple(path), f"expected {EXPECTED.get(expected.group(1), expected.group(1))}, got {type_name(value)}"
    if re.match(r"Expected `\w+` [<>]=? ", msg):
        bounds = {n: getattr(meta, n) for meta in metas for n in _BOUNDS if getattr(meta, n, None) is not None}
        return tuple(path), allowed_range(bounds, value)
    choices = next((get_args(t) for t in types if get_origin(t) is Literal), None)
    if msg.startswith("Invalid enum value") and choices:
        return tuple(path), f"expected one of {', '.join(choices)}, got {value!r}"
    return tuple(path), f"{msg[:1].lower()}{msg[1:]}, got {type_name(value)}"
