"""Structured output: the shape an answer must take, how it is asked for, and every answer checked (pure).

A shape is a JSON schema, a choice among strings, or a regular expression. It goes to the server in the
fields vLLM and SGLang read today: ``response_format: {"type": "json_schema", ...}`` for a schema, and
``structured_outputs: {"choice": [...]}`` / ``{"regex": ...}`` for the others. Never the old ``guided_json``,
``guided_choice`` or ``guided_regex`` request fields: vLLM 0.12 removed them and ignores them silently (HTTP
200 with unconstrained text), so a ``guided_*`` field typed into the extra body is moved into the current
field before anything is sent (``modern_extra``).

Every answer is checked against its shape (``check``), with the JSON-Schema library for a schema, and said
valid or invalid with the first error: an answer the constraint should have shaped and did not says so
plainly ("the constraint did not fire").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.chat.model import ShapeCheck
from console.runtime.sanitise import clean_text

KINDS = ("schema", "choice", "regex")
OLD_FIELDS = {"guided_json": "json", "guided_choice": "choice", "guided_regex": "regex"}
MAX_SCHEMA_BYTES = 1_000_000
SCHEMA_NAME = "answer"
NOT_FIRED = "the constraint did not fire"


class ShapeError(ValueError):
    """A shape that cannot be used: what is wrong and where (a file's line and column for JSON)."""


@dataclass(frozen=True)
class Shape:
    """What an answer must be. ``spec`` is how the user wrote it (saved with the conversation's settings)."""

    kind: str  # schema | choice | regex
    schema: dict[str, Any] = field(default_factory=dict)
    choices: tuple[str, ...] = ()
    pattern: str = ""
    spec: str = ""

    def label(self) -> str:
        if self.kind == "choice":
            return f"choice of {len(self.choices)}: {', '.join(self.choices)}"
        if self.kind == "regex":
            return f"regex {self.pattern}"
        title = self.schema.get("title") if isinstance(self.schema.get("title"), str) else ""
        props = self.schema.get("properties")
        keys = f" ({', '.join(list(props)[:6])})" if isinstance(props, dict) and props else ""
        return f"JSON schema {title}{keys}".replace("  ", " ").strip()

    def body(self) -> dict[str, Any]:
        """The request fields that ask for this shape."""
        if self.kind == "schema":
            return {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": SCHEMA_NAME, "schema": self.schema, "strict": True},
                }
            }
        if self.kind == "choice":
            return {"structured_outputs": {"choice": list(self.choices)}}
        return {"structured_outputs": {"regex": self.pattern}}

    def check(self, text: str, finish_reason: str | None = None) -> ShapeCheck:
        """The answer ``text`` against this shape; ``finish_reason`` "length" names a cut answer as such. Never
        raises: a schema the library cannot use (an unresolvable ``$ref``) says the answer could not be checked."""
        try:
            return self._check(text, finish_reason)
        except Exception as exc:  # noqa: BLE001 - jsonschema's RefResolutionError, UnknownType, …: said, not raised
            return ShapeCheck(self.kind, False, f"the answer could not be checked: {type(exc).__name__}: {exc}")

    def _check(self, text: str, finish_reason: str | None) -> ShapeCheck:
        cut = " (the answer was cut at max_tokens: raise it)" if finish_reason == "length" else ""
        if self.kind == "choice":
            if text in self.choices:
                return ShapeCheck("choice", True)
            return ShapeCheck("choice", False, f"{NOT_FIRED}: {_quote(text)} is none of {list(self.choices)}{cut}")
        if self.kind == "regex":
            try:
                matched = re.fullmatch(self.pattern, text) is not None
            except re.error:  # a server-side syntax Python lacks: said, not guessed
                return ShapeCheck("regex", False, "the pattern is not a Python regex: the answer could not be checked")
            if matched:
                return ShapeCheck("regex", True)
            return ShapeCheck("regex", False, f"{NOT_FIRED}: {_quote(text)} does not match {self.pattern}{cut}")
        return check_schema(self.schema, text, cut)


def _quote(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def check_schema(schema: dict[str, Any], text: str, cut: str = "") -> ShapeCheck:
    """``text`` parsed as JSON and validated against ``schema``: the first error if any (jsonschema's best)."""
    import jsonschema

    try:
        value = json.loads(text)
    except ValueError as exc:
        return ShapeCheck("schema", False, f"{NOT_FIRED}: the answer is not JSON ({exc}){cut}")
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    pretty = clean_text(json.dumps(value, indent=2, ensure_ascii=False))  # an escaped control comes back raw
    if error is None:
        return ShapeCheck("schema", True, pretty=pretty)
    where = "/".join(str(p) for p in error.absolute_path)
    return ShapeCheck("schema", False, f"{NOT_FIRED}: {f'at {where}: ' if where else ''}{error.message}{cut}", pretty)


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a JSON schema the library can check against, or None."""
    import jsonschema

    if not isinstance(schema, dict):
        return "a JSON schema must be a JSON object"
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        return f"not a valid JSON schema{f' at {where}' if where else ''}: {exc.message}"
    return None


def schema_from_text(text: str, where: str = "the schema") -> dict[str, Any]:
    """A JSON schema typed or read from a file; ShapeError with the line and column of a JSON error."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ShapeError(f"{where}: not JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    problem = schema_problem(schema)
    if problem:
        raise ShapeError(f"{where}: {problem}")
    return dict(schema)


def read_schema_file(path: str | Path) -> dict[str, Any]:
    """A JSON schema from a file (blocking: a thread or the CLI); ShapeError says which file and why."""
    file = Path(path).expanduser()
    try:
        if file.stat().st_size > MAX_SCHEMA_BYTES:
            raise ShapeError(f"{file}: larger than {MAX_SCHEMA_BYTES // 1000} kB: is it a schema?")
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ShapeError(f"{file}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ShapeError(f"{file}: cannot be read: {exc}") from exc
    return schema_from_text(text, str(file))


def choice_shape(text: str) -> Shape:
    """``a,b,c`` (commas; spaces around each are dropped) as a choice."""
    choices = tuple(c.strip() for c in text.split(",") if c.strip())
    if len(choices) < 2:
        raise ShapeError("a choice needs at least two answers, separated by commas: yes,no")
    return Shape("choice", choices=choices, spec=f"choice: {', '.join(choices)}")


def regex_shape(pattern: str) -> Shape:
    if not pattern:
        raise ShapeError("the regex is empty")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ShapeError(f"the regex does not compile: {exc}") from exc
    return Shape("regex", pattern=pattern, spec=f"regex: {pattern}")


def parse_shape(spec: str, read_file: bool = True) -> Shape | None:
    """The shape as typed in the chat's Answer-shape box; None when empty (answers are free).

    ``{...}`` is a JSON schema; ``choice: a, b, c``; ``regex: PATTERN``; ``@path`` or ``file: path`` reads a
    schema file (``read_file=False`` keeps a file spec unread: the reducer never reads disks)."""
    text = spec.strip()
    if not text:
        return None
    head, _, rest = text.partition(":")
    head = head.strip().lower()
    if text.startswith("{"):
        return Shape("schema", schema=schema_from_text(text), spec=text)
    if head == "choice":
        return choice_shape(rest)
    if head == "regex":
        return regex_shape(rest.strip())
    if text.startswith("@") or head in ("file", "schema"):
        path = text[1:] if text.startswith("@") else rest.strip()
        return Shape("schema", schema=read_schema_file(path) if read_file else {}, spec=text)
    raise ShapeError(
        "an answer shape is a JSON schema ({...}), choice: a, b, c, regex: PATTERN, or @file.json for a schema file"
    )


def modern_extra(extra: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``extra`` with any ``guided_*`` field moved into ``structured_outputs`` (what vLLM ≥ 0.12 reads), and the
    names moved: the old fields are never sent."""
    moved = [name for name in OLD_FIELDS if name in extra]
    if not moved:
        return extra, []
    out = {k: v for k, v in extra.items() if k not in OLD_FIELDS}
    given = out.get("structured_outputs")
    outputs = dict(given) if isinstance(given, dict) else {}
    for name in moved:
        outputs.setdefault(OLD_FIELDS[name], extra[name])
    out["structured_outputs"] = outputs
    return out, moved


def shape_of_body(body: dict[str, Any]) -> Shape | None:
    """The shape a request body asks for (its response_format or structured_outputs), to check the answer
    against; None when it asks for none."""
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        inner = fmt.get("json_schema")
        schema = inner.get("schema") if isinstance(inner, dict) else None
        if isinstance(schema, dict) and schema_problem(schema) is None:
            return Shape("schema", schema=schema)
    outputs = body.get("structured_outputs")
    if isinstance(outputs, dict):
        if isinstance(outputs.get("json"), dict) and schema_problem(outputs["json"]) is None:
            return Shape("schema", schema=outputs["json"])
        if isinstance(outputs.get("choice"), list):
            return Shape("choice", choices=tuple(str(c) for c in outputs["choice"]))
        if isinstance(outputs.get("regex"), str):
            return Shape("regex", pattern=outputs["regex"])
    return None
