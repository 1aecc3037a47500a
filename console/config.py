"""Settings: search order, strict validation with file/line/key errors, remembered choices.

Search order: ``--config``, ``$JETCONSOLE_CONFIG``, the user config dir, built-in
defaults.  A file is validated whole (pydantic, against one typed schema a section) before
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

from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from console.config_error import ConfigError, EntryError, explain, fields_of, find_line
from console.keymap import BINDING_IDS
from console.telemetry.discovery import CHOICES

ENV_VAR = "JETCONSOLE_CONFIG"
APP_NAME = "jetconsole"


@dataclass(frozen=True)
class Config:
    """The settings, flat (``[chat] temperature`` is ``chat_temperature``); every default lives here.

    A frozen dataclass rather than the pydantic schema itself: its users build it with keywords and derive one with
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
    # The user's [presets.NAME] tables as written; the presets package validates them
    # (console.containers.presets.all_presets) and presets_text gives its errors their lines.
    presets: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the file these came from, None for built-in defaults
    presets_text: str = field(default="", compare=False, repr=False)  # the file, all but its [presets] blanked


# --- the file's schema: one TypedDict a section, validated by pydantic ---------------------------------------------
# TypedDicts with total=False: the validated value holds only what the file sets, so the defaults stay in Config.
# Types, ranges and choices are declared; the few rules no type states (a URL, a binding id) are validators that
# raise the message a user reads.  config_error.explain words pydantic's errors as the old checks did.

_STRICT = ConfigDict(extra="forbid", strict=True)  # no unknown keys; no "1" for 1, no true for 1


def _http_url(v: str) -> str:
    if not re.match(r"^https?://\S+$", v):
        raise ValueError(f"not an http(s) URL: {v!r}")
    return v


def _bindings(table: dict[str, Any]) -> dict[str, Any]:
    for binding, keys in table.items():
        if binding not in BINDING_IDS:
            raise EntryError(binding, f"unknown binding id (known: {', '.join(sorted(BINDING_IDS))})")
        if not isinstance(keys, str) or not keys.strip():
            raise EntryError(binding, f"expected a key name string, got {keys!r}")
    return table


Url = Annotated[str, AfterValidator(_http_url)]


@with_config(_STRICT)
class General(TypedDict, total=False):
    refresh_interval: Annotated[float, Field(ge=0.2, le=60)]
    history_seconds: Annotated[int, Field(ge=30, le=86400)]


@with_config(_STRICT)
class Telemetry(TypedDict, total=False):
    source: Literal[CHOICES]  # type: ignore[valid-type]


@with_config(_STRICT)
class Ui(TypedDict, total=False):
    theme: str  # one of the themes found at start (checked in parse: the set is known only then)


@with_config(_STRICT)
class Endpoints(TypedDict, total=False):
    docker_host: str
    servers: Annotated[list[Url], Field(description="a list of URL strings")]
    api_keys: Annotated[dict[Url, str], Field(description='a table of URL = "env:NAME" or key strings')]


@with_config(_STRICT)
class Chat(TypedDict, total=False):
    system_prompt: str
    temperature: Annotated[float, Field(ge=0, le=2)]
    top_p: Annotated[float, Field(ge=0, le=1)]
    max_tokens: Annotated[int, Field(ge=1, le=1_000_000)]
    extra_body: Annotated[dict[str, Any], Field(description="a table (e.g. { chat_template_kwargs = {} })")]
    store: str


@with_config(_STRICT)
class Hud(TypedDict, total=False):
    page_seconds: Annotated[float, Field(ge=1, le=3600)]
    help_flag_file: str


@with_config(_STRICT)
class Doctor(TypedDict, total=False):
    interval: Annotated[float, Field(ge=0, le=86400)]
    restart_cmd: str


@with_config(_STRICT)
class Bench(TypedDict, total=False):
    trials: Annotated[int, Field(ge=1, le=100)]
    concurrency: Annotated[
        list[Annotated[int, Field(ge=1, le=4096)]],
        Field(min_length=1, description="a list of whole numbers from 1 to 4096, e.g. [1, 4, 16]"),
    ]
    prompts: str
    results_dir: str


@with_config(_STRICT)
class ConfigFile(TypedDict, total=False):
    general: General
    telemetry: Telemetry
    ui: Ui
    keys: Annotated[dict[str, Any], AfterValidator(_bindings), Field(description='a table of "binding.id" = "key"')]
    endpoints: Endpoints
    chat: Chat
    hud: Hud
    doctor: Doctor
    bench: Bench
    presets: Annotated[dict[str, Any], Field(description="a table of [presets.NAME] tables")]


_FILE = TypeAdapter(ConfigFile)
# section -> its keys (each section's schema; config.toml documents every one of them)
SCHEMA: dict[str, dict[str, Any]] = {
    section: fields_of(schema) for section, schema in fields_of(ConfigFile).items() if fields_of(schema)
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


def _error(exc: ValidationError, data: dict[str, Any], text: str, path: Path | None) -> ConfigError:
    """The first problem in the file (by line) as a ConfigError naming its line and key."""
    found = []
    for error in exc.errors():
        keys, message = explain(error, ConfigFile, data)
        section = keys[0]
        if message is None and len(keys) == 1:
            message = f"unknown section (known: {', '.join(sorted([*SCHEMA, 'keys', 'presets']))})"
        elif message is None:
            message = f"unknown key (known in [{section}]: {', '.join(SCHEMA[section])})"
        line = find_line(text, section, keys[1]) if len(keys) > 1 else find_line(text, section)
        line = line or find_line(text, "", section)  # a top-level key: general = 3
        found.append((line or 1 << 30, line, ".".join(keys), message))
    _, line, key, message = min(found, key=lambda f: f[0])
    return ConfigError(path, line, key, message)


def parse(text: str, path: Path | None = None, themes: set[str] | None = None) -> Config:
    """Validate TOML text into a Config; raises ConfigError, applies nothing on error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(path, int(m.group(1)) if m else None, None, f"not valid TOML: {exc}") from exc
    try:
        valid = _FILE.validate_python(data)
    except ValidationError as exc:
        raise _error(exc, data, text, path) from None
    values: dict[str, Any] = {}
    for section, body in valid.items():
        if section in ("keys", "presets"):
            values[section] = body
            continue
        for key, value in body.items():  # type: ignore[attr-defined]
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
