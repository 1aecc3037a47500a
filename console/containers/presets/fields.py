"""A preset's fields as values: one typed schema (``PresetTable``, validated by pydantic) for a ``[presets.NAME]``
table and for ``--set`` text, and ``check`` for a whole preset.  Types, ranges and choices are declared; the rules no
type states (a volume spec, an env entry, a ulimit) are validators raising messages a user can act on."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    with_config,
)
from typing_extensions import TypedDict

from console.config_error import EntryError, type_name
from console.containers.presets.model import KINDS
from console.containers.presets.schema_errors import explain, fields_of
from console.containers.presets.values import host_ref, parse_ulimit, parse_volume
from console.runtime.secrets import is_secret_variable, mask_argv

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_SIZE = re.compile(r"^\d+(\.\d+)? ?[kKmMgGtTpP]?[iI]?[bB]?$")  # docker's RAMInBytes
_RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def inner(s: str) -> str:
        if not pattern.match(s):
            raise ValueError(f"not a valid {what}: {s!r}")
        return s

    return AfterValidator(inner)


def _nonempty(s: str) -> str:
    if not s.strip():
        raise ValueError("must not be empty")
    return s


def _clear(v: Any) -> Any:
    """An optional value: the empty string clears it (TOML has no null)."""
    return None if v == "" else v


def _args(v: Any) -> Any:
    """A list of strings, or one string: a TOML list as config.toml writes it (``["--a", "b c"]``, as
    ``--set`` may give it) or else split like a shell would (no expansion)."""
    if isinstance(v, str) and v.strip().startswith("["):
        try:
            items = tomllib.loads(f"v = {v.strip()}")["v"]
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f'not a list such as ["--flag", "value"]: {exc}') from None
        if not all(isinstance(item, str) for item in items):
            raise ValueError('a list of strings such as ["--flag", "value"]')
        return tuple(items)
    if isinstance(v, str):
        try:
            return tuple(shlex.split(v))
        except ValueError as exc:
            raise ValueError(f"cannot split {v!r}: {exc}") from None
    return tuple(v) if isinstance(v, list) else v


def _string_list(v: Any) -> Any:
    if isinstance(v, str):  # --set form: comma separated
        return tuple(s.strip() for s in v.split(",") if s.strip())
    return tuple(v) if isinstance(v, list) else v


def _env_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(f"not an environment variable name: {name!r}")
    return name


def _volume(spec: str) -> str:
    parse_volume(spec)
    return spec


def env_value(name: str, v: Any, stored: bool) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(f"not an environment variable name: {name!r}")
    if not isinstance(v, str):
        raise ValueError(f'expected a string (quote numbers: "1"), got {type_name(v)}')
    if v.startswith("$") and host_ref(v) is None:
        raise ValueError(f'a host variable reference is "$NAME" or "${{NAME}}", got {v!r}')
    if stored and v and host_ref(v) is None and is_secret_variable(name):
        raise ValueError(
            f'a secret must not be stored in the config; write "${name}" to read it from the environment at launch'
        )
    return v


def _env(table: dict[str, Any], info: ValidationInfo) -> dict[str, str]:
    """Each entry checked; a secret's value may come from ``--set`` (this launch only), never from the file."""
    stored = (info.context or {}).get("stored", True)
    out = {}
    for name, v in table.items():
        try:
            out[name] = env_value(name, v, stored)
        except ValueError as exc:
            raise EntryError(name, str(exc)) from None
    return out


def ulimit_value(name: str, v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise ValueError(f'expected "soft:hard" or an integer, got {type_name(v)}')
    text = str(v)
    parse_ulimit(name, text)
    return text


def _ulimits(table: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, v in table.items():
        try:
            out[name] = ulimit_value(name, v)
        except ValueError as exc:
            raise EntryError(name, str(exc)) from None
    return out


def _speculative(v: Any) -> Any:
    """JSON object text (or a TOML table, stored as compact JSON)."""
    if v == "":
        return None
    if isinstance(v, dict):
        return json.dumps(v, separators=(",", ":"))
    if not isinstance(v, str):
        return v  # the type check says what is wrong
    try:
        parsed = json.loads(v)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"expected a JSON object, got {v!r}")
    return v


_CLEAR = BeforeValidator(_clear)
NonEmpty = Annotated[str, AfterValidator(_nonempty)]
Strings = Annotated[tuple[str, ...], BeforeValidator(_args), Field(description="a list of strings or one string")]


def _no_stored_secret(args: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
    """A credential among a stored preset's arguments (``--api-key sk-…``) would be shown by the launch
    form and kept in the file: refused; ``--set`` may carry one for a single launch."""
    masked = mask_argv(args)
    literal = [a for a, m in zip(args, masked, strict=True) if a != m and "$" not in a]  # "$KEY" is read at launch
    if (info.context or {}).get("stored", True) and literal:
        raise ValueError(
            "a secret must not be stored in the config: give it as an env entry read from your shell "
            '(vLLM reads --api-key from VLLM_API_KEY: env = { VLLM_API_KEY = "$VLLM_API_KEY" })'
        )
    return args


Arguments = Annotated[Strings, AfterValidator(_no_stored_secret)]


@with_config(ConfigDict(extra="forbid", strict=True))
class PresetTable(TypedDict, total=False):
    """One ``[presets.NAME]`` table (or ``--set`` values), validated: what it sets, nothing else.

    The same fields as ``Preset`` but ``name``; an optional value takes ``""`` to clear an inherited one.
    """

    kind: Literal[KINDS]  # type: ignore[valid-type]
    image: str  # may be empty in the "custom" built-in; plan() insists on one
    description: str
    model: str
    port: Annotated[int, Field(ge=1, le=65535)]
    served_model_name: Annotated[NonEmpty | None, _CLEAR]
    gpu_memory_utilization: Annotated[Annotated[float, Field(gt=0, le=1)] | None, _CLEAR]
    max_model_len: Annotated[Annotated[int, Field(ge=1, le=1 << 30)] | None, _CLEAR]
    dtype: Annotated[NonEmpty | None, _CLEAR]
    quantization: Annotated[NonEmpty | None, _CLEAR]
    speculative_config: Annotated[str | None, BeforeValidator(_speculative)]
    enable_auto_tool_choice: Annotated[bool, Field(description="true or false")]
    tool_call_parser: Annotated[NonEmpty | None, _CLEAR]
    extra_args: Arguments
    command: Arguments
    env: Annotated[dict[str, Any], AfterValidator(_env), Field(description='a table of NAME = "value"')]
    secret_env: Annotated[
        tuple[Annotated[str, AfterValidator(_env_name)], ...],
        BeforeValidator(_string_list),
        Field(description="a list of strings"),
    ]
    volumes: Annotated[
        tuple[Annotated[str, AfterValidator(_volume)], ...],
        BeforeValidator(_string_list),
        Field(description="a list of strings"),
    ]
    tiktoken_dir: Annotated[NonEmpty | None, _CLEAR]
    runtime: Annotated[NonEmpty | None, _CLEAR]
    network: NonEmpty
    shm_size: Annotated[Annotated[str, _matching(_SIZE, "size (e.g. 16g)")] | None, _CLEAR]
    ulimits: Annotated[dict[str, Any], AfterValidator(_ulimits), Field(description='a table of name = "soft:hard"')]
    ipc: Annotated[NonEmpty | None, _CLEAR]
    container_name: Annotated[Annotated[str, _matching(_CONTAINER_NAME, "container name")] | None, _CLEAR]
    restart: Annotated[
        Annotated[str, _matching(_RESTART, "restart policy (no, always, unless-stopped, on-failure[:N])")] | None,
        _CLEAR,
    ]


@with_config(ConfigDict(extra="forbid", strict=True))
class PresetFileTable(PresetTable, total=False):
    """A ``[presets.NAME]`` table in config.toml: a preset's fields and the preset it inherits."""

    base: Annotated[str, Field(description="a preset name")]


FIELDS: tuple[str, ...] = tuple(fields_of(PresetTable))  # the keys a preset table may set (Preset's but name)
_SET = TypeAdapter(PresetTable)
_FILE = TypeAdapter(PresetFileTable)


def validate(table: dict[str, Any], stored: bool) -> dict[str, Any]:
    """The table's values, converted (``--set`` text already through ``from_text``); raises pydantic's
    ValidationError, which ``problems`` words.  ``stored``: from config.toml, where no secret may be written."""
    return dict((_FILE if stored else _SET).validate_python(table, context={"stored": stored}))


def problems(exc: ValidationError, table: Any, stored: bool) -> list[tuple[tuple[str, ...], str | None]]:
    """Each error as (key path inside the table, message); message None for an unknown key."""
    return [explain(error, PresetFileTable if stored else PresetTable, table) for error in exc.errors()]


# --set text for the numeric fields is parsed first; TOML values arrive typed.
_TEXT_NUMBERS: dict[str, tuple[type, str]] = {
    "port": (int, "an integer"),
    "max_model_len": (int, "an integer"),
    "gpu_memory_utilization": (float, "a number"),
}


def from_text(key: str, text: str) -> Any:
    if key == "enable_auto_tool_choice":
        word = text.strip().lower()
        if word in ("true", "yes", "on", "1"):
            return True
        if word in ("false", "no", "off", "0", ""):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if key in _TEXT_NUMBERS and text.strip():
        kind, what = _TEXT_NUMBERS[key]
        try:
            return kind(text.strip())
        except ValueError:
            raise ValueError(f"expected {what}, got {text!r}") from None
    return text
