"""Settings: search order, strict validation with file/line/key errors, remembered choices.

Search order: ``--config``, ``$JETCONSOLE_CONFIG``, the user config dir, built-in
defaults.  A file is validated whole (msgspec, against one typed schema a section) before
anything is used: a malformed file or an unknown or ill-typed key raises ConfigError naming
the file, line and key.  ``[presets]`` is kept as written: the presets package validates it
(``console.containers.presets.all_presets``), so reading the config loads no feature.
The top-level ``config.toml`` documents every key with these defaults (a test keeps
the two equal).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from console.config_error import ConfigError, EntryError, explain, fields_of, find_line, struct_in
from console.keymap import BINDING_IDS
from console.keys_check import conflicts, key_problem
from console.telemetry.discovery import CHOICES

ENV_VAR = "JETCONSOLE_CONFIG"
APP_NAME = "jetconsole"


@dataclass(frozen=True)
class Config:
    """The settings, flat (``[chat] temperature`` is ``chat_temperature``); every default lives here.

    A frozen dataclass rather than the file's schema itself: its users build it with keywords and derive one with
    ``dataclasses.replace`` (the CLI's ``--source``, tests), and the file's sections do not match its flat names.
    """

    refresh_interval: float = 1.0
    history_seconds: int = 300
    telemetry_source: str = "auto"
    theme: str = "jetconsole-dark"
    keys: dict[str, str] = field(default_factory=dict)
    docker_host: str = ""
    servers: tuple[str, ...] = ("http://127.0.0.1:8000/v1",)
    api_keys: dict[str, str] = field(default_factory=dict)  # server URL -> "env:NAME" or the key
    chat_system_prompt: str = ""
    chat_temperature: float = 0.7
    chat_top_p: float = 1.0
    chat_max_tokens: int = 512
    chat_extra_body: dict[str, Any] = field(default_factory=dict)
    chat_store: str = ""  # "" = the user data dir
    doctor_interval: float = 300.0  # seconds between background doctor runs; 0: on demand and after fixes
    doctor_restart_cmd: str = ""  # how fixes restart Docker; "" = systemctl restart docker
    hud_page_seconds: float = 5.0  # the HUD's pages rotate this often when they do not fit on one
    hud_help_flag_file: str = ""  # "" = the user state dir; a shared path for a device used by several users
    bench_trials: int = 5
    bench_concurrency: tuple[int, ...] = (1, 4, 16)
    bench_prompts: str = ""  # "" = the built-in set (the workshop prompt and five more)
    bench_results_dir: str = ""  # "" = the user data dir (~/.local/share/jetconsole/bench)
    fleet_hosts: str = ""  # the hosts file of the Fleet view and `jetconsole fleet` ("" = none)
    fleet_interval: float = 1.0  # seconds between two reads of every agent
    fleet_timeout: float = 0.75  # each agent's own limit: a slow one is late, never the others
    fleet_prometheus: str = ""  # read the fleet from this Prometheus server's HTTP API instead ("" = the agents)
    fleet_ssh_config: str = ""  # the ssh config file for devices read over SSH ("" = the user's ~/.ssh/config)
    fleet_ssh_interval: float = 5.0  # seconds between two SSH reads of a device without an agent
    fleet_ssh_timeout: float = 10.0  # one SSH read's limit
    # The user's [presets.NAME] tables as written; the presets package validates them
    # (console.containers.presets.all_presets) and presets_text gives its errors their lines.
    presets: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the file these came from, None for built-in defaults
    presets_text: str = field(default="", compare=False, repr=False)  # the file, all but its [presets] blanked


# --- the file's schema: one msgspec Struct a section -----------------------------------------------------------------
# Every field defaults to UNSET: the validated value holds only what the file sets, so the defaults stay in Config.
# Types, ranges, choices and patterns are declared (msgspec: a few milliseconds to import, where pydantic's import and
# schema build cost ~80 ms of every start); the one rule no type states (a binding id) is checked after.
# config_error.explain words msgspec's error as the old checks did.


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A table of the file: no unknown keys; msgspec's conversion is strict (no "1" for 1, no true for 1)."""


Url = Annotated[str, Meta(pattern=r"^https?://\S+$", extra={"says": "not an http(s) URL"})]


def _bindings(table: Any) -> list[EntryError]:
    """Each ``[keys]`` entry that names no binding, an unknown key, or a key another id has on the same screen
    (checked on the file's data, valid or not)."""
    if not isinstance(table, dict):
        return []
    wrong = []
    for binding, keys in table.items():
        if binding not in BINDING_IDS:
            wrong.append(EntryError(binding, f"unknown binding id (known: {', '.join(sorted(BINDING_IDS))})"))
        elif not isinstance(keys, str) or not keys.strip():
            wrong.append(EntryError(binding, f"expected a key name string, got {keys!r}"))
        elif problem := next(filter(None, (key_problem(k.strip()) for k in keys.split(","))), None):
            wrong.append(EntryError(binding, problem))
    if not wrong:  # clashes only between keys that are each valid
        wrong += [EntryError(binding, why) for binding, why in conflicts(table).items()]
    return wrong


class General(_Section):
    refresh_interval: Annotated[float, Meta(ge=0.2, le=60)] | UnsetType = UNSET
    history_seconds: Annotated[int, Meta(ge=30, le=86400)] | UnsetType = UNSET


class Telemetry(_Section):
    source: Literal[CHOICES] | UnsetType = UNSET  # type: ignore[valid-type]


class Ui(_Section):
    theme: str | UnsetType = UNSET  # one of the themes found at start (checked in parse: the set is known only then)


class Endpoints(_Section):
    docker_host: str | UnsetType = UNSET
    servers: Annotated[list[Url], Meta(description="a list of URL strings")] | UnsetType = UNSET
    api_keys: Annotated[dict[Url, str], Meta(description='a table of URL = "env:NAME" or key strings')] | UnsetType = (
        UNSET
    )


class Chat(_Section):
    system_prompt: str | UnsetType = UNSET
    temperature: Annotated[float, Meta(ge=0, le=2)] | UnsetType = UNSET
    top_p: Annotated[float, Meta(ge=0, le=1)] | UnsetType = UNSET
    max_tokens: Annotated[int, Meta(ge=1, le=1_000_000)] | UnsetType = UNSET
    extra_body: Annotated[dict[str, Any], Meta(description="a table (e.g. { chat_template_kwargs = {} })")] | (
        UnsetType
    ) = UNSET
    store: str | UnsetType = UNSET


class Hud(_Section):
    page_seconds: Annotated[float, Meta(ge=1, le=3600)] | UnsetType = UNSET
    help_flag_file: str | UnsetType = UNSET


class Doctor(_Section):
    interval: Annotated[float, Meta(ge=0, le=86400)] | UnsetType = UNSET
    restart_cmd: str | UnsetType = UNSET


class Bench(_Section):
    trials: Annotated[int, Meta(ge=1, le=100)] | UnsetType = UNSET
    concurrency: (
        Annotated[
            list[Annotated[int, Meta(ge=1, le=4096)]],
            Meta(min_length=1, description="a list of whole numbers from 1 to 4096, e.g. [1, 4, 16]"),
        ]
        | UnsetType
    ) = UNSET
    prompts: str | UnsetType = UNSET
    results_dir: str | UnsetType = UNSET


class Fleet(_Section):
    hosts: str | UnsetType = UNSET
    interval: Annotated[float, Meta(ge=0.2, le=3600)] | UnsetType = UNSET
    timeout: Annotated[float, Meta(ge=0.05, le=60)] | UnsetType = UNSET
    prometheus: (
        Annotated[str, Meta(pattern=r"^(https?://\S+)?$", description='"" or a URL such as http://prom:9090')]
        | UnsetType
    ) = UNSET
    ssh_config: str | UnsetType = UNSET
    ssh_interval: Annotated[float, Meta(ge=1, le=3600)] | UnsetType = UNSET
    ssh_timeout: Annotated[float, Meta(ge=1, le=120)] | UnsetType = UNSET


class ConfigFile(_Section):
    general: General | UnsetType = UNSET
    telemetry: Telemetry | UnsetType = UNSET
    ui: Ui | UnsetType = UNSET
    keys: Annotated[dict[str, Any], Meta(description='a table of "binding.id" = "key"')] | UnsetType = UNSET
    endpoints: Endpoints | UnsetType = UNSET
    chat: Chat | UnsetType = UNSET
    hud: Hud | UnsetType = UNSET
    doctor: Doctor | UnsetType = UNSET
    bench: Bench | UnsetType = UNSET
    fleet: Fleet | UnsetType = UNSET
    presets: Annotated[dict[str, Any], Meta(description="a table of [presets.NAME] tables")] | UnsetType = UNSET


# section -> its keys (each section's schema; config.toml documents every one of them)
SCHEMA: dict[str, dict[str, Any]] = {
    section: fields_of(struct_in(annotation))
    for section, annotation in fields_of(ConfigFile).items()
    if struct_in(annotation) is not None
}
_FLAT = ("general", "ui", "endpoints")  # sections whose keys are Config's names as they are; others get a prefix


def _attribute(section: str, key: str) -> str:
    return key if section in _FLAT else f"{section}_{key}"


def _presets_only(text: str) -> str:
    """The text with every line outside ``[presets...]`` tables blanked: lines keep their numbers for the presets'
    errors, and no other setting (an API key) rides along in the Config."""
    keep, lines = False, []
    for line in text.splitlines():
        m = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if m and not line.strip().startswith("[["):
            keep = m.group(1).strip().strip('"').split(".")[0] == "presets"
        lines.append(line if keep else "")
    return "\n".join(lines)


def _problem(keys: tuple[str, ...], message: str | None, text: str) -> tuple[int | None, str, str]:
    """(line, dotted key, message) of one problem; an unknown key's message names what is known there."""
    section = keys[0]
    if message is None and len(keys) == 1:
        message = f"unknown section (known: {', '.join(sorted([*SCHEMA, 'keys', 'presets']))})"
    elif message is None:
        message = f"unknown key (known in [{section}]: {', '.join(SCHEMA[section])})"
    line = find_line(text, section, keys[1]) if len(keys) > 1 else find_line(text, section)
    line = line or find_line(text, "", section)  # a top-level key: general = 3
    return line, ".".join(keys), message


def parse(text: str, path: Path | None = None, themes: set[str] | None = None) -> Config:
    """Validate TOML text into a Config; raises ConfigError, applies nothing on error.

    Of several problems the one highest in the file is reported: msgspec stops at its first (in the file's order of
    keys), and the bindings are checked on the file's data whether or not the rest is valid."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(path, int(m.group(1)) if m else None, None, f"not valid TOML: {exc}") from exc
    found = [_problem(("keys", e.entry), str(e), text) for e in _bindings(data.get("keys"))]
    valid = None
    try:
        valid = msgspec.convert(data, ConfigFile, strict=True)
    except msgspec.ValidationError as exc:
        found.append(_problem(*explain(exc, ConfigFile, data), text))
    if found or valid is None:
        line, key, message = min(found, key=lambda f: f[0] or 1 << 30)
        raise ConfigError(path, line, key, message)
    values: dict[str, Any] = {}
    for section in valid.__struct_fields__:
        body = getattr(valid, section)
        if body is UNSET:
            continue
        if section in ("keys", "presets"):
            values[section] = body
            continue
        for key in body.__struct_fields__:
            value = getattr(body, key)
            if value is not UNSET:
                values[_attribute(section, key)] = tuple(value) if isinstance(value, list) else value
    if themes is not None and "theme" in values and values["theme"] not in themes:
        raise ConfigError(
            path,
            find_line(text, "ui", "theme"),
            "ui.theme",
            f"unknown theme {values['theme']!r} (known: {', '.join(sorted(themes))})",
        )
    presets_text = _presets_only(text) if values.get("presets") else ""
    return replace(Config(), path=path, presets_text=presets_text, **values)


def user_config_path() -> Path:
    from platformdirs import user_config_path as ucp

    return ucp(APP_NAME) / "config.toml"


def locate(explicit: str | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """The file the search order picks, or None for built-in defaults."""
    where: Mapping[str, str] = os.environ if env is None else env
    if explicit:
        return Path(explicit).expanduser()
    if where.get(ENV_VAR):
        return Path(where[ENV_VAR]).expanduser()
    candidate = user_config_path()
    return candidate if candidate.is_file() else None


def load(explicit: str | None = None, env: dict[str, str] | None = None, themes: set[str] | None = None) -> Config:
    """Load by the search order; a named file that is missing is an error."""
    path = locate(explicit, env)
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        origin = "--config" if explicit else f"${ENV_VAR}"
        raise ConfigError(path, None, None, f"file not found (named by {origin})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, None, f"cannot read: {exc}") from exc
    return parse(text, path, themes)


def remember(config: Config, section: str, key: str, value: Any) -> Path:
    """Write one setting back, keeping the file's comments and layout (tomlkit).

    Goes to the file the config came from, or creates the user config file. A credential in ``value``
    is written masked, never as it is: a literal key in ``api_keys`` (an ``env:NAME`` reference is
    kept), a setting whose name is a secret's (``token``, ``api_key``), and ``--api-key X``,
    ``HF_TOKEN=X`` or a URL's password inside a text or list.  What the file already holds is kept.
    """
    import tomlkit

    from console.runtime.secrets import MASK, mask_data

    if key == "api_keys" and isinstance(value, dict):
        value = {u: v if not v or (isinstance(v, str) and v.startswith("env:")) else MASK for u, v in value.items()}
    elif not (isinstance(value, str) and value.startswith("env:")):
        value = mask_data({key: value})[key]
    path = config.path or user_config_path()
    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.is_file() else tomlkit.document()
    if section not in doc:
        doc[section] = tomlkit.table()
    doc[section][key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)
    return path
