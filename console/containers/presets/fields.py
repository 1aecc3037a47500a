"""A preset's fields as values: one table (``FIELDS``) converting and checking each, from TOML values and from
``--set`` text, and ``check`` for a whole preset.  Errors are messages a user can act on."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from typing import Any

from console.containers.presets.model import KINDS, ULIMIT_NAMES, Preset
from console.runtime.secrets import is_secret

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST_REF = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")
_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_SIZE = re.compile(r"^\d+(\.\d+)? ?[kKmMgGtTpP]?[iI]?[bB]?$")  # docker's RAMInBytes
_RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
_IMAGE = re.compile(r"^[^\s]+$")


Convert = Callable[[Any], Any]  # raises ValueError with a message a user can act on


def type_name(v: Any) -> str:
    return f"{type(v).__name__} {v!r}"


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {type_name(v)}")
    return v


def _opt(convert: Convert) -> Convert:
    """An optional value: the empty string clears it (TOML has no null)."""

    def inner(v: Any) -> Any:
        return None if v == "" else convert(v)

    return inner


def _int(lo: int, hi: int) -> Convert:
    def inner(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"expected an integer, got {type_name(v)}")
        if not lo <= v <= hi:
            raise ValueError(f"must be between {lo} and {hi}, got {v}")
        return v

    return inner


def _fraction(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expected a number, got {type_name(v)}")
    if not 0 < v <= 1:
        raise ValueError(f"must be a fraction above 0 and at most 1, got {v}")
    return float(v)


def _matching(pattern: re.Pattern[str], what: str) -> Convert:
    def inner(v: Any) -> str:
        s = _str(v)
        if not pattern.match(s):
            raise ValueError(f"not a valid {what}: {s!r}")
        return s

    return inner


def _kind(v: Any) -> str:
    s = _str(v)
    if s not in KINDS:
        raise ValueError(f"expected one of {', '.join(KINDS)}, got {s!r}")
    return s


def _nonempty(v: Any) -> str:
    s = _str(v)
    if not s.strip():
        raise ValueError("must not be empty")
    return s


def _args(v: Any) -> tuple[str, ...]:
    """A list of strings, or one string split like a shell would (no expansion)."""
    if isinstance(v, str):
        try:
            return tuple(shlex.split(v))
        except ValueError as exc:
            raise ValueError(f"cannot split {v!r}: {exc}") from None
    if isinstance(v, (list, tuple)) and all(isinstance(a, str) for a in v):
        return tuple(v)
    raise ValueError(f"expected a list of strings or one string, got {type_name(v)}")


def _string_list(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):  # --set form: comma separated
        return tuple(s.strip() for s in v.split(",") if s.strip())
    if isinstance(v, (list, tuple)) and all(isinstance(a, str) for a in v):
        return tuple(v)
    raise ValueError(f"expected a list of strings, got {type_name(v)}")


def _env_names(v: Any) -> tuple[str, ...]:
    names = _string_list(v)
    bad = [n for n in names if not _ENV_NAME.match(n)]
    if bad:
        raise ValueError(f"not an environment variable name: {bad[0]!r}")
    return names


def parse_volume(spec: str) -> tuple[str, str, bool]:
    """``"host:container[:ro|rw]"`` -> (host, container, read_only); ValueError when malformed."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise ValueError(f'expected "host:container[:ro]", got {spec!r}')
    host, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise ValueError(f"mode must be ro or rw, got {mode!r} in {spec!r}")
    if not target.startswith("/"):
        raise ValueError(f"the container path must be absolute, got {target!r} in {spec!r}")
    if not (host.startswith(("/", "~")) or _VOLUME_NAME.match(host)):
        raise ValueError(f"the host side must be an absolute path, ~/path or a volume name, got {host!r}")
    return host, target, mode == "ro"


def _volumes(v: Any) -> tuple[str, ...]:
    specs = _string_list(v)
    for spec in specs:
        parse_volume(spec)
    return specs


def host_ref(value: str) -> str | None:
    """The host variable named by an env value ``"$VAR"``/``"${VAR}"``, else None."""
    m = _HOST_REF.match(value)
    return (m.group(1) or m.group(2)) if m else None


def env_value(name: str, v: Any, stored: bool) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(f"not an environment variable name: {name!r}")
    if not isinstance(v, str):
        raise ValueError(f'expected a string (quote numbers: "1"), got {type_name(v)}')
    if v.startswith("$") and host_ref(v) is None:
        raise ValueError(f'a host variable reference is "$NAME" or "${{NAME}}", got {v!r}')
    if stored and v and host_ref(v) is None and is_secret(name):
        raise ValueError(
            f'a secret must not be stored in the config; write "${name}" to read it from the environment at launch'
        )
    return v


def _env(v: Any, stored: bool = True) -> dict[str, str]:
    if not isinstance(v, dict):
        raise ValueError(f'expected a table of NAME = "value", got {type_name(v)}')
    return {k: env_value(k, val, stored) for k, val in v.items()}


def parse_ulimit(name: str, value: str) -> tuple[int, int]:
    """``"-1"`` or ``"soft:hard"`` -> (soft, hard); ValueError when malformed."""
    if name not in ULIMIT_NAMES:
        raise ValueError(f"unknown ulimit {name!r} (known: {', '.join(sorted(ULIMIT_NAMES))})")
    parts = value.split(":")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f'{name}: expected "limit" or "soft:hard" integers, got {value!r}') from None
    if len(numbers) == 1:
        return numbers[0], numbers[0]
    if len(numbers) == 2:
        return numbers[0], numbers[1]
    raise ValueError(f'{name}: expected "limit" or "soft:hard", got {value!r}')


def ulimit_value(name: str, v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise ValueError(f'expected "soft:hard" or an integer, got {type_name(v)}')
    text = str(v)
    parse_ulimit(name, text)
    return text


def _ulimits(v: Any) -> dict[str, str]:
    if not isinstance(v, dict):
        raise ValueError(f'expected a table of name = "soft:hard", got {type_name(v)}')
    return {k: ulimit_value(k, val) for k, val in v.items()}


def _speculative(v: Any) -> str:
    """JSON object text (or a TOML table, stored as compact JSON)."""
    if isinstance(v, dict):
        return json.dumps(v, separators=(",", ":"))
    s = _str(v)
    try:
        parsed = json.loads(s)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"expected a JSON object, got {s!r}")
    return s


FIELDS: dict[str, Convert] = {
    "kind": _kind,
    "image": _str,  # may be empty in the "custom" built-in; plan() insists on one
    "description": _str,
    "model": _str,
    "port": _int(1, 65535),
    "served_model_name": _opt(_nonempty),
    "gpu_memory_utilization": _opt(_fraction),
    "max_model_len": _opt(_int(1, 1 << 30)),
    "dtype": _opt(_nonempty),
    "quantization": _opt(_nonempty),
    "speculative_config": _opt(_speculative),
    "extra_args": _args,
    "command": _args,
    "env": _env,
    "secret_env": _env_names,
    "volumes": _volumes,
    "tiktoken_dir": _opt(_nonempty),
    "runtime": _opt(_nonempty),
    "network": _nonempty,
    "shm_size": _opt(_matching(_SIZE, "size (e.g. 16g)")),
    "ulimits": _ulimits,
    "ipc": _opt(_nonempty),
    "container_name": _opt(_matching(_CONTAINER_NAME, "container name")),
    "restart": _opt(_matching(_RESTART, "restart policy (no, always, unless-stopped, on-failure[:N])")),
}


# --set text for the numeric fields is parsed first; TOML values arrive typed.
_TEXT_NUMBERS: dict[str, tuple[type, str]] = {
    "port": (int, "an integer"),
    "max_model_len": (int, "an integer"),
    "gpu_memory_utilization": (float, "a number"),
}


def from_text(key: str, text: str) -> Any:
    if key in _TEXT_NUMBERS and text.strip():
        kind, what = _TEXT_NUMBERS[key]
        try:
            return kind(text.strip())
        except ValueError:
            raise ValueError(f"expected {what}, got {text!r}") from None
    return text


def check(preset: Preset) -> list[tuple[str, str]]:
    """Problems that involve several fields, as (key, message); empty when the preset is sound."""
    problems: list[tuple[str, str]] = []
    if preset.kind != "custom" and preset.command:
        problems.append(
            (
                "command",
                f'command is for kind "custom"; kind {preset.kind!r} builds its own (use extra_args to add flags)',
            )
        )
    if preset.kind == "sglang" and preset.speculative_config:
        problems.append(
            (
                "speculative_config",
                "speculative_config is vLLM's --speculative-config; for SGLang "
                "put --speculative-algorithm ... in extra_args",
            )
        )
    if preset.image and not _IMAGE.match(preset.image):
        problems.append(("image", f"not a valid image reference: {preset.image!r}"))
    return problems
