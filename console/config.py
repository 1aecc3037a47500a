"""Settings: search order, strict validation with file/line/key errors, remembered choices.

Search order: ``--config``, ``$JETCONSOLE_CONFIG``, the user config dir, built-in
defaults.  A file is validated whole before anything is used: a malformed file or an
unknown or ill-typed key raises ConfigError naming the file, line and key.
The top-level ``config.toml`` documents every key with these defaults (a test keeps
the two equal).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from console.config_error import ConfigError, find_line
from console.keymap import BINDING_IDS
from console.telemetry.discovery import CHOICES

ENV_VAR = "JETCONSOLE_CONFIG"
APP_NAME = "jetconsole"


@dataclass(frozen=True)
class Config:
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
    presets: dict[str, Any] = field(default_factory=dict)  # user [presets.NAME] over the built-ins; {} = built-ins
    path: Path | None = None  # the file these came from, None for built-in defaults

    def all_presets(self) -> dict[str, Any]:
        """Launch presets: the built-ins with the user's ``[presets.NAME]`` applied."""
        from console.containers.presets.builtin import BUILTIN_PRESETS

        return self.presets or dict(BUILTIN_PRESETS)


Check = Callable[[Any], str | None]  # returns an error message or None


def _number(lo: float, hi: float) -> Check:
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return f"expected a number, got {type(v).__name__} {v!r}"
        return None if lo <= v <= hi else f"must be between {lo:g} and {hi:g}, got {v!r}"

    return check


def _integer(lo: int, hi: int) -> Check:
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int):
            return f"expected an integer, got {type(v).__name__} {v!r}"
        return None if lo <= v <= hi else f"must be between {lo} and {hi}, got {v!r}"

    return check


def _string(choices: tuple[str, ...] | None = None) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, str):
            return f"expected a string, got {type(v).__name__} {v!r}"
        if choices and v not in choices:
            return f"expected one of {', '.join(choices)}, got {v!r}"
        return None

    return check


def _url_list(v: Any) -> str | None:
    if not isinstance(v, list) or not all(isinstance(u, str) for u in v):
        return f"expected a list of URL strings, got {v!r}"
    bad = [u for u in v if not re.match(r"^https?://\S+$", u)]
    return f"not an http(s) URL: {bad[0]!r}" if bad else None


def _key_table(v: Any) -> str | None:
    if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
        return f'expected a table of URL = "env:NAME" or key strings, got {v!r}'
    bad = [u for u in v if not re.match(r"^https?://\S+$", u)]
    return f"not an http(s) URL: {bad[0]!r}" if bad else None


def _levels(v: Any) -> str | None:
    if (
        not isinstance(v, list)
        or not v
        or not all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 4096 for n in v)
    ):
        return f"expected a list of whole numbers from 1 to 4096, e.g. [1, 4, 16], got {v!r}"
    return None


def _table(v: Any) -> str | None:
    return None if isinstance(v, dict) else f"expected a table (e.g. {{ chat_template_kwargs = {{}} }}), got {v!r}"


# section -> key -> (attribute, check)
SCHEMA: dict[str, dict[str, tuple[str, Check]]] = {
    "general": {
        "refresh_interval": ("refresh_interval", _number(0.2, 60)),
        "history_seconds": ("history_seconds", _integer(30, 86400)),
    },
    "telemetry": {"source": ("telemetry_source", _string(CHOICES))},
    "ui": {"theme": ("theme", _string())},
    "endpoints": {
        "docker_host": ("docker_host", _string()),
        "servers": ("servers", _url_list),
        "api_keys": ("api_keys", _key_table),
    },
    "chat": {
        "system_prompt": ("chat_system_prompt", _string()),
        "temperature": ("chat_temperature", _number(0, 2)),
        "top_p": ("chat_top_p", _number(0, 1)),
        "max_tokens": ("chat_max_tokens", _integer(1, 1_000_000)),
        "extra_body": ("chat_extra_body", _table),
        "store": ("chat_store", _string()),
    },
    "hud": {
        "page_seconds": ("hud_page_seconds", _number(1, 3600)),
        "help_flag_file": ("hud_help_flag_file", _string()),
    },
    "doctor": {
        "interval": ("doctor_interval", _number(0, 86400)),
        "restart_cmd": ("doctor_restart_cmd", _string()),
    },
    "bench": {
        "trials": ("bench_trials", _integer(1, 100)),
        "concurrency": ("bench_concurrency", _levels),
        "prompts": ("bench_prompts", _string()),
        "results_dir": ("bench_results_dir", _string()),
    },
}


def _plain(value: Any) -> Any:
    """tomllib gives plain dicts already; copy nested tables so a Config never shares them."""
    return {k: _plain(v) for k, v in value.items()} if isinstance(value, dict) else value


def _validate(data: dict[str, Any], text: str, path: Path | None, themes: set[str] | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for section, body in data.items():
        if section == "presets":
            from console.containers.presets.toml import parse_presets  # only a file with presets pays for them

            values["presets"] = parse_presets(body, text, path)
            continue
        if section == "keys":
            if not isinstance(body, dict):
                raise ConfigError(path, find_line(text, section), "keys", "must be a table")
            for binding, keys in body.items():
                line = find_line(text, "keys", binding)
                if binding not in BINDING_IDS:
                    raise ConfigError(
                        path, line, f"keys.{binding}", f"unknown binding id (known: {', '.join(sorted(BINDING_IDS))})"
                    )
                if not isinstance(keys, str) or not keys.strip():
                    raise ConfigError(path, line, f"keys.{binding}", f"expected a key name string, got {keys!r}")
            values["keys"] = dict(body)
            continue
        if section not in SCHEMA:
            raise ConfigError(
                path,
                find_line(text, section),
                section,
                f"unknown section (known: {', '.join(sorted([*SCHEMA, 'keys', 'presets']))})",
            )
        if not isinstance(body, dict):
            raise ConfigError(path, find_line(text, section), section, "must be a table")
        for key, value in body.items():
            line = find_line(text, section, key)
            if key not in SCHEMA[section]:
                raise ConfigError(
                    path, line, f"{section}.{key}", f"unknown key (known in [{section}]: {', '.join(SCHEMA[section])})"
                )
            attribute, check = SCHEMA[section][key]
            problem = check(value)
            if problem:
                raise ConfigError(path, line, f"{section}.{key}", problem)
            values[attribute] = tuple(value) if isinstance(value, list) else _plain(value)
    if themes is not None and "theme" in values and values["theme"] not in themes:
        raise ConfigError(
            path,
            find_line(text, "ui", "theme"),
            "ui.theme",
            f"unknown theme {values['theme']!r} (known: {', '.join(sorted(themes))})",
        )
    return values


def parse(text: str, path: Path | None = None, themes: set[str] | None = None) -> Config:
    """Validate TOML text into a Config; raises ConfigError, applies nothing on error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(path, int(m.group(1)) if m else None, None, f"not valid TOML: {exc}") from exc
    return replace(Config(), path=path, **_validate(data, text, path, themes))


def user_config_path() -> Path:
    from platformdirs import user_config_path as ucp

    return ucp(APP_NAME) / "config.toml"


def locate(explicit: str | None = None, env: dict[str, str] | None = None) -> Path | None:
    """The file the search order picks, or None for built-in defaults."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit).expanduser()
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR]).expanduser()
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
    doc[section][key] = value  # type: ignore[index]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)
    return path
