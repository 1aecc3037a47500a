"""``--set key=value`` overrides of a preset (the launch CLI and the form)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from console.containers.presets.fields import FIELDS, check, env_value, from_text, ulimit_value
from console.containers.presets.model import Preset


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
    Raises ValueError naming the key.
    """
    changes: dict[str, Any] = {}
    for key, text in settings.items():
        head, dot, sub = key.partition(".")
        try:
            if dot and head in ("env", "ulimits"):
                current = dict(changes.get(head, getattr(preset, head)))
                current[sub] = env_value(sub, text, False) if head == "env" else ulimit_value(sub, text)
                changes[head] = current
            elif key in ("name", "base"):
                raise ValueError("cannot be changed with --set (define a preset in config.toml)")
            elif key in ("env", "ulimits"):
                raise ValueError(f"set one entry at a time: --set {key}.NAME=value")
            elif key in FIELDS:
                changes[key] = FIELDS[key](from_text(key, text))
            else:
                raise ValueError(f"unknown setting (known: {', '.join(FIELDS)}, env.NAME, ulimits.NAME)")
        except ValueError as exc:
            raise ValueError(f"--set {key}: {exc}") from None
    result = replace(preset, **changes)
    for key, message in check(result):
        raise ValueError(f"--set {key}: {message}")
    return result
