"""User presets from config.toml's ``[presets.NAME]`` tables, with ``base`` inheritance; errors name file,
line and key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from console.config_error import ConfigError, find_line
from console.containers.presets.builtin import BUILTIN_PRESETS
from console.containers.presets.fields import FIELDS, check, env_value, type_name, ulimit_value
from console.containers.presets.model import Preset


def _line(text: str, name: str, key: str | None = None, sub: str | None = None) -> int | None:
    """The line of ``key`` in ``[presets.NAME]`` (or of ``[presets.NAME.sub]``'s ``key``).

    Falls back to the table's header, or to ``NAME = {...}`` under ``[presets]``.
    """
    section = f"presets.{name}"
    if sub is not None and key is not None:
        if find_line(text, f"{section}.{sub}") is not None:  # [presets.NAME.env] KEY = ...
            return find_line(text, f"{section}.{sub}", key)
        dotted = find_line(text, section, f"{sub}.{key}")  # env.KEY = ... under [presets.NAME]
        if dotted is not None and dotted != find_line(text, section):
            return dotted
        return _line(text, name, sub)  # env = { KEY = ... }
    line = find_line(text, section, key)
    return line if line is not None else find_line(text, "presets", name)


def parse_presets(
    data: Mapping[str, Any], text: str, path: Path | None = None, builtins: Mapping[str, Preset] | None = None
) -> dict[str, Preset]:
    """Validate the ``presets`` table of config.toml (``{NAME: {key: value}}``).

    Returns the built-ins with the user's presets applied (a user table named like a
    built-in changes it; others inherit ``base`` or start from the plain defaults).
    Raises ConfigError naming the file, line and ``presets.NAME.key``.
    """
    builtins = BUILTIN_PRESETS if builtins is None else builtins
    if not isinstance(data, Mapping):
        raise ConfigError(path, find_line(text, "presets"), "presets", "must be a table of [presets.NAME] tables")
    done: dict[str, Preset] = {}
    resolving: list[str] = []

    def resolve(name: str) -> Preset:
        if name in done:
            return done[name]
        body = data[name]
        where = f"presets.{name}"
        if not isinstance(body, Mapping):
            raise ConfigError(path, _line(text, name), where, f"must be a table, got {type_name(body)}")
        resolving.append(name)
        base: Preset | None = builtins.get(name)
        if "base" in body:
            base_name = body["base"]
            line = _line(text, name, "base")
            if not isinstance(base_name, str):
                raise ConfigError(path, line, f"{where}.base", f"expected a preset name, got {type_name(base_name)}")
            if base_name == name and name in builtins:
                base = builtins[name]
            elif base_name in resolving:
                chain = " -> ".join([*resolving[resolving.index(base_name) :], base_name])
                raise ConfigError(path, line, f"{where}.base", f"presets inherit in a circle: {chain}")
            elif base_name in data:
                base = resolve(base_name)
            elif base_name in builtins:
                base = builtins[base_name]
            else:
                known = sorted({*builtins, *data} - {name})
                raise ConfigError(
                    path, line, f"{where}.base", f"unknown preset {base_name!r} (known: {', '.join(known)})"
                )
        start = base if base is not None else Preset(name=name)
        changes: dict[str, Any] = {}
        for key, value in body.items():
            if key == "base":
                continue
            line = _line(text, name, key)
            if key not in FIELDS:
                raise ConfigError(
                    path, line, f"{where}.{key}", f"unknown key (known in [presets.NAME]: base, {', '.join(FIELDS)})"
                )
            if key in ("env", "ulimits") and isinstance(value, Mapping):  # merged with the base's
                merged = dict(getattr(start, key))
                for sub_key, sub_value in value.items():
                    try:
                        merged[sub_key] = (
                            env_value(sub_key, sub_value, stored=True)
                            if key == "env"
                            else ulimit_value(sub_key, sub_value)
                        )
                    except ValueError as exc:
                        raise ConfigError(
                            path, _line(text, name, sub_key, key), f"{where}.{key}.{sub_key}", str(exc)
                        ) from None
                changes[key] = merged
                continue
            try:
                changes[key] = FIELDS[key](value)
            except ValueError as exc:
                raise ConfigError(path, line, f"{where}.{key}", str(exc)) from None
        preset = replace(start, name=name, **changes)
        for key, message in check(preset):
            line = _line(text, name, key) if key in body else _line(text, name)
            raise ConfigError(path, line, f"{where}.{key}", message)
        resolving.pop()
        done[name] = preset
        return preset

    for name in data:
        resolve(name)
    return {**builtins, **done}
