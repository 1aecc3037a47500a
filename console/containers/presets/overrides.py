"""``--set key=value`` overrides of a preset (the launch CLI and the form)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, NoReturn

from pydantic import ValidationError

from console.containers.presets.fields import FIELDS, from_text, problems, validate
from console.containers.presets.model import Preset
from console.containers.presets.values import PresetError, check


def parse_set(items: Iterable[str]) -> dict[str, str]:
    """``["port=8001", "env.FOO=bar"]`` -> ``{"port": "8001", "env.FOO": "bar"}``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value
    return out


def apply_overrides(preset: Preset, settings: Mapping[str, str]) -> Preset:
    """The preset with ``--set`` values applied (text converted to each field's type).

    Keys are field names, or ``env.NAME`` / ``ulimits.NAME`` for one entry.  Lists take
    a shell-split string (``extra_args``, ``command``) or comma-separated items
    (``volumes``, ``secret_env``); ``""`` clears an optional value.  A secret given here
    is used for this launch only and is masked wherever the plan is shown.
    Raises ``PresetError`` (a ValueError) naming the key.
    """
    changes: dict[str, Any] = {}
    for key, text in settings.items():
        head, dot, sub = key.partition(".")
        if key in ("name", "base"):
            _refuse(key, "cannot be changed with --set (define a preset in config.toml)")
        if key in ("env", "ulimits"):
            _refuse(key, f"set one entry at a time: --set {key}.NAME=value")
        if not (key in FIELDS or (dot and head in ("env", "ulimits"))):
            _refuse(key, f"unknown setting (known: {', '.join(FIELDS)}, env.NAME, ulimits.NAME)")
        field = head if dot else key
        table: dict[str, Any] = {}
        try:
            table = {head: {sub: text}} if dot else {key: from_text(key, text)}
            value = validate(table, stored=False)[field]
        except ValidationError as exc:
            _refuse(key, problems(exc, table, stored=False)[0][1] or "unknown setting")
        except ValueError as exc:  # from_text's: "eighty" for a port
            _refuse(key, str(exc))
        if dot:
            value = {**changes.get(field, getattr(preset, field)), **value}  # one entry joins the preset's
        changes[field] = value
    result = replace(preset, **changes)
    for key, message in check(result):
        _refuse(key, message)
    return result


def _refuse(key: str, problem: str) -> NoReturn:
    """The CLI's wording (``--set key: problem``); the form names its field from ``key`` instead."""
    raise PresetError(key, problem, f"--set {key}: {problem}") from None
