"""User presets from config.toml's ``[presets.NAME]`` tables, with ``base`` inheritance; errors name file,
line and key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from console.config_error import ConfigError, find_line, type_name
from console.containers.presets.builtin import BUILTIN_PRESETS
from console.containers.presets.fields import FIELDS, problems, validate
from console.containers.presets.model import Preset
from console.containers.presets.values import check

if TYPE_CHECKING:
    from console.config import Config


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


def _error(exc: ValidationError, body: Mapping[str, Any], name: str, text: str, path: Path | None) -> ConfigError:
    """The table's first problem (by line) as a ConfigError naming ``presets.NAME.key`` and its line."""
    found = []
    for keys, message in problems(exc, dict(body), stored=True):
        if message is None:
            message = f"unknown key (known in [presets.NAME]: base, {', '.join(FIELDS)})"
        line = _line(text, name, keys[1], keys[0]) if len(keys) > 1 else _line(text, name, keys[0])
        found.append((line or 1 << 30, line, ".".join(("presets", name, *keys)), message))
    _, line, key, message = min(found, key=lambda f: f[0])
    return ConfigError(path, line, key, message)


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
        try:
            changes = validate(dict(body), stored=True)
        except ValidationError as exc:
            raise _error(exc, body, name, text, path) from None
        resolving.append(name)
        base: Preset | None = builtins.get(name)
        if "base" in changes:
            base_name = changes.pop("base")
            line = _line(text, name, "base")
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
        for table in ("env", "ulimits"):  # merged with the base's
            if table in changes:
                changes[table] = {**getattr(start, table), **changes[table]}
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


def all_presets(config: Config) -> dict[str, Preset]:
    """Launch presets: the built-ins with the user's ``[presets.NAME]`` tables of ``config`` applied.

    Validated here, not when the config is read (config imports no feature); raises ConfigError naming the file,
    line and ``presets.NAME.key``.
    """
    if not config.presets:
        return dict(BUILTIN_PRESETS)
    return parse_presets(config.presets, config.presets_text, config.path)
