"""Launch presets: what to run (image, model, flags) and the exact ``docker run`` it means.

Pure logic: no Docker calls, no Textual.  A ``Preset`` is a frozen description; ``plan``
resolves it against the host environment into a ``LaunchPlan``; the plan renders three
equivalent ways: ``docker_run_argv``/``docker_run_line`` (what a user could paste) and
``sdk_kwargs`` (for the docker SDK's ``client.containers.run(**kwargs)``).

Secrets never leave the plan in display form: ``repr(plan)`` masks them, and the masked
command line uses docker's pass-through form ``-e HF_TOKEN`` (copy the variable from the
caller's environment), so the line shown is both runnable and secret-free.

User presets live in config.toml as ``[presets.NAME]`` tables; ``base = "vllm-thor"``
inherits a preset and overrides the keys given.  A table named like a built-in changes
that built-in.  ``env`` and ``ulimits`` merge with the base; lists replace it.  An empty
string clears an inherited optional value (``quantization = ""``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from console.config import ConfigError, find_line
from console.runtime.secrets import is_secret, mask_env, mask_text

KINDS = ("vllm", "sglang", "openwebui", "custom")
LABEL = "jetconsole.preset"
TIKTOKEN_TARGET = "/etc/encodings"  # where the NVIDIA Thor workshop puts the gpt-oss .tiktoken files
TIKTOKEN_ENV = "TIKTOKEN_ENCODINGS_BASE"
OPENWEBUI_UI_PORT = 8080  # Open WebUI's own port with --network=host
OPENWEBUI_URL_ENV = "OPENAI_API_BASE_URL"

# docker's --ulimit names (the same set the engine accepts).
ULIMIT_NAMES = frozenset(
    {
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    }
)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST_REF = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")
_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_SIZE = re.compile(r"^\d+(\.\d+)? ?[kKmMgGtTpP]?[iI]?[bB]?$")  # docker's RAMInBytes
_RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
_IMAGE = re.compile(r"^[^\s]+$")


@dataclass(frozen=True)
class Preset:
    """How to launch one server container.  ``kind`` picks the command line it gets.

    * ``vllm``/``sglang``: the serve command is built from model, port and the typed
      flags, then ``extra_args``.
    * ``openwebui``: the image's own command; ``port`` is the port of the LLM server it
      talks to (``OPENAI_API_BASE_URL``); the UI itself listens on 8080.
    * ``custom``: ``command`` as given (``{model}`` and ``{port}`` are filled in), then
      ``extra_args``.

    ``env`` values of the form ``"$VAR"`` are read from the host environment at launch
    and never stored; ``secret_env`` names are passed through from the host when set.
    """

    name: str
    kind: str = "vllm"
    image: str = ""
    description: str = ""
    model: str = ""
    port: int = 8000
    served_model_name: str | None = None
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    dtype: str | None = None
    quantization: str | None = None
    speculative_config: str | None = None  # JSON text, passed to vLLM's --speculative-config
    extra_args: tuple[str, ...] = ()
    command: tuple[str, ...] = ()  # kind "custom" only
    env: dict[str, str] = field(default_factory=dict)
    secret_env: tuple[str, ...] = ("HF_TOKEN",)
    volumes: tuple[str, ...] = ()  # "host:container[:ro]"; host may be "~/..." or a named volume
    tiktoken_dir: str | None = None  # host dir with o200k_base/cl100k_base .tiktoken files (gpt-oss)
    runtime: str | None = None
    network: str = "host"
    shm_size: str | None = None
    ulimits: dict[str, str] = field(default_factory=dict)  # name -> "soft:hard" or "limit"
    ipc: str | None = None
    container_name: str | None = None
    restart: str | None = None


# --- built-in presets -------------------------------------------------------------------

_HF_CACHE = "~/.cache/huggingface:/root/.cache/huggingface"
_VLLM_CACHE = "~/.cache/vllm:/root/.cache/vllm"  # torch.compile cache: later starts skip the ~45 s compile
_WORKSHOP_ULIMITS = {"memlock": "-1", "stack": "67108864"}

BUILTIN_PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        # NVIDIA GTC DC 2025 Thor workshop (tokk-nv/jetson-generative-ai-playground
        # docs/workshop_gtcdc2025.md): --network host --shm-size=16g --ulimit memlock=-1
        # --ulimit stack=67108864 --runtime=nvidia --name=vllm, HF cache and vLLM cache mounts,
        # `vllm serve openai/gpt-oss-120b`.  0.7 is the utilisation in the workshop's own
        # "Free memory on device" example; it leaves the OS headroom on 128 GB unified memory.
        Preset(
            name="vllm-thor",
            kind="vllm",
            image="nvcr.io/nvidia/vllm:25.09-py3",
            description="vLLM on Jetson AGX Thor (JetPack 7), NVIDIA Thor workshop flags",
            model="openai/gpt-oss-120b",
            port=8000,
            gpu_memory_utilization=0.7,
            volumes=(_HF_CACHE, _VLLM_CACHE),
            runtime="nvidia",
            network="host",
            shm_size="16g",
            ulimits=dict(_WORKSHOP_ULIMITS),
            container_name="vllm",
        ),
        # jetson-containers image for JetPack 6 (L4T r36.4).  8g is jetson-containers'
        # own --shm-size.  HF_HOME is pinned so the mounted cache is the one used whatever
        # the image sets.  No default model: Orin boards range from 8 GB to 64 GB.
        Preset(
            name="vllm-orin",
            kind="vllm",
            image="dustynv/vllm:r36.4.0",
            description="vLLM on Jetson Orin (JetPack 6, jetson-containers image)",
            port=8000,
            gpu_memory_utilization=0.6,
            env={"HF_HOME": "/root/.cache/huggingface"},
            volumes=(_HF_CACHE, _VLLM_CACHE),
            runtime="nvidia",
            network="host",
            shm_size="8g",
            ulimits=dict(_WORKSHOP_ULIMITS),
            container_name="vllm",
        ),
        # No SGLang image for Jetson is documented in the references; this tag follows the
        # jetson-containers convention (dustynv/<package>:r<L4T>) used by dustynv/vllm:r36.4.0.
        # 30000 is SGLang's default port.
        Preset(
            name="sglang-orin",
            kind="sglang",
            image="dustynv/sglang:r36.4.0",
            description="SGLang on Jetson Orin (JetPack 6, jetson-containers naming)",
            port=30000,
            gpu_memory_utilization=0.6,
            env={"HF_HOME": "/root/.cache/huggingface"},
            volumes=(_HF_CACHE,),
            runtime="nvidia",
            network="host",
            shm_size="8g",
            ulimits=dict(_WORKSHOP_ULIMITS),
            container_name="sglang",
        ),
        # The documented command: docker run -d --network=host -v open-webui:/app/backend/data
        # -e OPENAI_API_BASE_URL=http://0.0.0.0:8000/v1 --name open-webui --restart always
        # ghcr.io/open-webui/open-webui:main.  `port` is the LLM server's port (UI on :8080).
        Preset(
            name="open-webui",
            kind="openwebui",
            image="ghcr.io/open-webui/open-webui:main",
            description="Open WebUI chat front-end for the local server (UI on :8080)",
            port=8000,
            secret_env=(),
            volumes=("open-webui:/app/backend/data",),
            network="host",
            container_name="open-webui",
            restart="always",
        ),
        Preset(
            name="custom",
            kind="custom",
            description="Any image and command (set image and command; {model} and {port} are filled in)",
            runtime="nvidia",
            network="host",
        ),
    )
}


# --- value conversion: one table of fields, from TOML values and from --set text ------------

Convert = Callable[[Any], Any]  # raises ValueError with a message a user can act on


def _type_name(v: Any) -> str:
    return f"{type(v).__name__} {v!r}"


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {_type_name(v)}")
    return v


def _opt(convert: Convert) -> Convert:
    """An optional value: the empty string clears it (TOML has no null)."""

    def inner(v: Any) -> Any:
        return None if v == "" else convert(v)

    return inner


def _int(lo: int, hi: int) -> Convert:
    def inner(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"expected an integer, got {_type_name(v)}")
        if not lo <= v <= hi:
            raise ValueError(f"must be between {lo} and {hi}, got {v}")
        return v

    return inner


def _fraction(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expected a number, got {_type_name(v)}")
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
    raise ValueError(f"expected a list of strings or one string, got {_type_name(v)}")


def _string_list(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):  # --set form: comma separated
        return tuple(s.strip() for s in v.split(",") if s.strip())
    if isinstance(v, (list, tuple)) and all(isinstance(a, str) for a in v):
        return tuple(v)
    raise ValueError(f"expected a list of strings, got {_type_name(v)}")


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


def _env_value(name: str, v: Any, stored: bool) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(f"not an environment variable name: {name!r}")
    if not isinstance(v, str):
        raise ValueError(f'expected a string (quote numbers: "1"), got {_type_name(v)}')
    if v.startswith("$") and host_ref(v) is None:
        raise ValueError(f'a host variable reference is "$NAME" or "${{NAME}}", got {v!r}')
    if stored and v and host_ref(v) is None and is_secret(name):
        raise ValueError(
            f'a secret must not be stored in the config; write "${name}" to read it from the environment at launch'
        )
    return v


def _env(v: Any, stored: bool = True) -> dict[str, str]:
    if not isinstance(v, dict):
        raise ValueError(f'expected a table of NAME = "value", got {_type_name(v)}')
    return {k: _env_value(k, val, stored) for k, val in v.items()}


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


def _ulimit_value(name: str, v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise ValueError(f'expected "soft:hard" or an integer, got {_type_name(v)}')
    text = str(v)
    parse_ulimit(name, text)
    return text


def _ulimits(v: Any) -> dict[str, str]:
    if not isinstance(v, dict):
        raise ValueError(f'expected a table of name = "soft:hard", got {_type_name(v)}')
    return {k: _ulimit_value(k, val) for k, val in v.items()}


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


def _from_text(key: str, text: str) -> Any:
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


# --- config.toml [presets.NAME] -----------------------------------------------------------


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
            raise ConfigError(path, _line(text, name), where, f"must be a table, got {_type_name(body)}")
        resolving.append(name)
        base: Preset | None = builtins.get(name)
        if "base" in body:
            base_name = body["base"]
            line = _line(text, name, "base")
            if not isinstance(base_name, str):
                raise ConfigError(path, line, f"{where}.base", f"expected a preset name, got {_type_name(base_name)}")
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
                            _env_value(sub_key, sub_value, stored=True)
                            if key == "env"
                            else _ulimit_value(sub_key, sub_value)
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


# --- --set key=value -------------------------------------------------------------------------


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
                current[sub] = _env_value(sub, text, False) if head == "env" else _ulimit_value(sub, text)
                changes[head] = current
            elif key in ("name", "base"):
                raise ValueError("cannot be changed with --set (define a preset in config.toml)")
            elif key in ("env", "ulimits"):
                raise ValueError(f"set one entry at a time: --set {key}.NAME=value")
            elif key in FIELDS:
                changes[key] = FIELDS[key](_from_text(key, text))
            else:
                raise ValueError(f"unknown setting (known: {', '.join(FIELDS)}, env.NAME, ulimits.NAME)")
        except ValueError as exc:
            raise ValueError(f"--set {key}: {exc}") from None
    result = replace(preset, **changes)
    for key, message in check(result):
        raise ValueError(f"--set {key}: {message}")
    return result


# --- the launch plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    source: str  # absolute host path or a named volume
    target: str
    read_only: bool = False

    @property
    def spec(self) -> str:
        return f"{self.source}:{self.target}" + (":ro" if self.read_only else "")

    @property
    def is_volume(self) -> bool:
        return not self.source.startswith("/")


@dataclass(frozen=True, repr=False)
class LaunchPlan:
    """Everything ``docker run`` needs, with host variables resolved.  Holds secret values:
    show it through ``repr``/``docker_run_line`` (both masked), never by hand."""

    preset: str
    kind: str
    image: str
    command: list[str]
    env: dict[str, str]
    secret_names: tuple[str, ...] = ()  # keys of env whose values are never shown
    host_vars: dict[str, str] = field(default_factory=dict)  # env key -> host variable it was read from
    unset: tuple[str, ...] = ()  # host variables asked for but not set (left out of env)
    mounts: tuple[Mount, ...] = ()
    ports: tuple[int, ...] = ()  # where the container listens (published with -p off the host network)
    runtime: str | None = None
    network: str = "host"
    shm_size: str | None = None
    ulimits: dict[str, tuple[int, int]] = field(default_factory=dict)
    ipc: str | None = None
    name: str | None = None
    restart: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    model: str = ""

    @property
    def publish(self) -> bool:
        return self.network != "host"

    @property
    def url(self) -> str | None:
        """Where the container answers HTTP from this host (``/health``, ``/v1``)."""
        return f"http://127.0.0.1:{self.ports[0]}" if self.ports else None

    def secret_values(self) -> list[str]:
        return [self.env[k] for k in self.secret_names if self.env.get(k)]

    def __repr__(self) -> str:
        secrets = self.secret_values()
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "env":
                value = mask_env(value, self.secret_names)
            elif f.name == "command":  # masked before repr() escapes quotes inside a value
                value = [mask_text(token, secrets) for token in value]
            parts.append(f"{f.name}={value!r}")
        return mask_text(f"LaunchPlan({', '.join(parts)})", secrets)

    __str__ = __repr__


def _expand(source: str, host_env: Mapping[str, str]) -> str:
    if source == "~" or source.startswith("~/"):
        home = host_env.get("HOME") or os.path.expanduser("~")
        return home.rstrip("/") + source[1:] if source != "~" else home
    return source


def _serve_command(p: Preset) -> list[str]:
    if p.kind == "vllm":
        cmd = ["vllm", "serve", p.model, "--host", "0.0.0.0", "--port", str(p.port)]
        if p.served_model_name:
            cmd += ["--served-model-name", p.served_model_name]
        if p.gpu_memory_utilization is not None:
            cmd += ["--gpu-memory-utilization", str(p.gpu_memory_utilization)]
        if p.max_model_len is not None:
            cmd += ["--max-model-len", str(p.max_model_len)]
        if p.dtype:
            cmd += ["--dtype", p.dtype]
        if p.quantization:
            cmd += ["--quantization", p.quantization]
        if p.speculative_config:
            cmd += ["--speculative-config", p.speculative_config]
        return cmd + list(p.extra_args)
    if p.kind == "sglang":
        cmd = [
            "python3",
            "-m",
            "sglang.launch_server",
            "--model-path",
            p.model,
            "--host",
            "0.0.0.0",
            "--port",
            str(p.port),
        ]
        if p.served_model_name:
            cmd += ["--served-model-name", p.served_model_name]
        if p.gpu_memory_utilization is not None:
            cmd += ["--mem-fraction-static", str(p.gpu_memory_utilization)]
        if p.max_model_len is not None:
            cmd += ["--context-length", str(p.max_model_len)]
        if p.dtype:
            cmd += ["--dtype", p.dtype]
        if p.quantization:
            cmd += ["--quantization", p.quantization]
        return [*cmd, "--enable-metrics", *p.extra_args]
    if p.kind == "custom":
        fill = {"{model}": p.model, "{port}": str(p.port)}
        out = []
        for token in p.command:
            for placeholder, value in fill.items():
                token = token.replace(placeholder, value)
            out.append(token)
        return out + list(p.extra_args)
    return list(p.extra_args)  # openwebui: the image's own command


def plan(preset: Preset, host_env: Mapping[str, str]) -> LaunchPlan:
    """Resolve a preset against the host environment (``$VAR`` values, secrets, ``~``).

    Raises ValueError when the preset cannot be launched as it stands (no image, no
    model for vLLM/SGLang, two mounts of one source, a cross-field problem).
    """
    problems = check(preset)
    if problems:
        key, message = problems[0]
        raise ValueError(f"preset {preset.name!r}: {key}: {message}")
    if not preset.image:
        raise ValueError(f'preset {preset.name!r} has no image: set image = "repo/name:tag" (--set image=...)')
    if preset.kind in ("vllm", "sglang") and not preset.model.strip():
        raise ValueError(f'preset {preset.name!r} has no model: set model = "org/name" (--set model=...)')

    env: dict[str, str] = {}
    host_vars: dict[str, str] = {}
    unset: list[str] = []
    if preset.kind == "openwebui" and OPENWEBUI_URL_ENV not in preset.env:
        env[OPENWEBUI_URL_ENV] = f"http://0.0.0.0:{preset.port}/v1"
    for key, value in preset.env.items():
        ref = host_ref(value)
        if ref is None:
            env[key] = value
        elif host_env.get(ref):
            env[key] = host_env[ref]
            host_vars[key] = ref
        else:
            unset.append(ref)
    if preset.tiktoken_dir:
        env[TIKTOKEN_ENV] = TIKTOKEN_TARGET
    for key in preset.secret_env:
        if key in env or key in preset.env:
            continue
        if host_env.get(key):
            env[key] = host_env[key]
            host_vars[key] = key
        else:
            unset.append(key)
    secret_names = tuple(k for k in env if k in host_vars or is_secret(k))

    mounts: list[Mount] = []
    specs = list(preset.volumes)
    for spec in specs:
        host, target, read_only = parse_volume(spec)
        mounts.append(Mount(_expand(host, host_env), target, read_only))
    if preset.tiktoken_dir:
        mounts.append(Mount(_expand(preset.tiktoken_dir, host_env), TIKTOKEN_TARGET, True))
    sources = [m.source for m in mounts]
    dupes = sorted({s for s in sources if sources.count(s) > 1})
    if dupes:
        raise ValueError(f"preset {preset.name!r} mounts {dupes[0]!r} twice; mount it once")

    port = OPENWEBUI_UI_PORT if preset.kind == "openwebui" else preset.port
    return LaunchPlan(
        preset=preset.name,
        kind=preset.kind,
        image=preset.image,
        command=_serve_command(preset),
        env=env,
        secret_names=secret_names,
        host_vars=host_vars,
        unset=tuple(dict.fromkeys(unset)),
        mounts=tuple(mounts),
        ports=(port,),
        runtime=preset.runtime,
        network=preset.network,
        shm_size=preset.shm_size,
        ulimits={n: parse_ulimit(n, v) for n, v in preset.ulimits.items()},
        ipc=preset.ipc,
        name=preset.container_name,
        restart=preset.restart,
        labels={LABEL: preset.name},
        model=preset.model,
    )


# --- rendering -------------------------------------------------------------------------------


class _HostRef(str):
    """An ``-e NAME=$VAR`` token: the shell line quotes it so the shell expands ``$VAR``."""

    name: str
    var: str

    def __new__(cls, name: str, var: str) -> _HostRef:
        self = super().__new__(cls, f"{name}=${var}")
        self.name, self.var = name, var
        return self


def _groups(p: LaunchPlan, mask: bool) -> list[list[str]]:
    groups: list[list[str]] = [["docker", "run", "-d"]]
    if p.name:
        groups.append(["--name", p.name])
    if p.restart:
        groups.append(["--restart", p.restart])
    groups.append(["--network", p.network])
    if p.runtime:
        groups.append(["--runtime", p.runtime])
    if p.ipc:
        groups.append(["--ipc", p.ipc])
    if p.shm_size:
        groups.append(["--shm-size", p.shm_size])
    for name, (soft, hard) in p.ulimits.items():
        groups.append(["--ulimit", f"{name}={soft}" if soft == hard else f"{name}={soft}:{hard}"])
    if p.publish:
        groups += [["-p", f"{port}:{port}"] for port in p.ports]
    for key, value in p.env.items():
        if mask and key in p.secret_names:
            var = p.host_vars.get(key, key)
            groups.append(["-e", key if var == key else _HostRef(key, var)])
        else:
            groups.append(["-e", f"{key}={value}"])
    groups += [["-v", m.spec] for m in p.mounts]
    groups += [["--label", f"{k}={v}"] for k, v in p.labels.items()]
    groups.append([p.image])
    if p.command:
        groups.append(list(p.command))
    if mask:
        secrets = p.secret_values()
        groups = [[t if isinstance(t, _HostRef) else mask_text(t, secrets) for t in g] for g in groups]
    return groups


def docker_run_argv(plan: LaunchPlan, mask: bool = True) -> list[str]:
    """The ``docker run -d ...`` argv equivalent to the plan.

    With ``mask`` (the default) secret variables appear in docker's pass-through form
    ``-e NAME`` (docker copies the value from the caller's environment), or ``-e
    NAME=$VAR`` when the value came from a differently named host variable (a shell
    line: ``docker_run_line`` quotes it so the shell expands it).  No secret value is
    in the result.  ``mask=False`` gives the values themselves.
    """
    return [token for group in _groups(plan, mask) for token in group]


def _quote(token: str) -> str:
    if isinstance(token, _HostRef):
        return f'{token.name}="${token.var}"'
    return shlex.quote(token)


def docker_run_line(plan: LaunchPlan) -> str:
    """The masked command as shell text, one option group a line (``\\`` continuations)."""
    return " \\\n  ".join(" ".join(_quote(t) for t in group) for group in _groups(plan, mask=True))


def sdk_kwargs(plan: LaunchPlan) -> dict[str, Any]:
    """Keyword arguments for the docker SDK's ``client.containers.run(**kwargs)``.

    Holds the real secret values (it is what launches).  ``ulimits`` are plain dicts
    ``{"name", "soft", "hard"}``; the caller makes ``docker.types.Ulimit(**d)`` of each.
    Options the plan leaves unset are left out.
    """
    kwargs: dict[str, Any] = {
        "image": plan.image,
        "detach": True,
        "environment": dict(plan.env),
        "network_mode": plan.network,
        "labels": dict(plan.labels),
    }
    if plan.command:
        kwargs["command"] = list(plan.command)
    if plan.name:
        kwargs["name"] = plan.name
    if plan.mounts:
        kwargs["volumes"] = {m.source: {"bind": m.target, "mode": "ro" if m.read_only else "rw"} for m in plan.mounts}
    if plan.runtime:
        kwargs["runtime"] = plan.runtime
    if plan.shm_size:
        kwargs["shm_size"] = plan.shm_size
    if plan.ulimits:
        kwargs["ulimits"] = [{"name": n, "soft": s, "hard": h} for n, (s, h) in plan.ulimits.items()]
    if plan.ipc:
        kwargs["ipc_mode"] = plan.ipc
    if plan.restart:
        policy, _, retries = plan.restart.partition(":")
        kwargs["restart_policy"] = {"Name": policy, **({"MaximumRetryCount": int(retries)} if retries else {})}
    if plan.publish:
        kwargs["ports"] = {f"{port}/tcp": port for port in plan.ports}
    return kwargs
