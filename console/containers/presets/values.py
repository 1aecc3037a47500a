"""A preset's values that need no schema: a volume spec, a host reference, a ulimit, and the checks that involve
several fields.  Pure functions (no pydantic): the launch plan and the form use them at every start; the schema that
validates a whole table (``fields``) is loaded only when presets are read."""

from __future__ import annotations

import re

from console.containers.presets.model import ULIMIT_NAMES, Preset

_HOST_REF = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")
_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_IMAGE = re.compile(r"^[^\s]+$")
# The serve flags vLLM and SGLang get from their typed fields: a "custom" command or Open WebUI would drop them
ENGINE_FLAGS = ("served_model_name", "gpu_memory_utilization", "max_model_len", "dtype", "quantization")


class PresetError(ValueError):
    """A setting that cannot be used.  ``key`` names it (``env.NAME`` for one entry) and ``problem`` says what is
    wrong in no front end's syntax, so the form can name its own field; ``str()`` is the CLI's wording."""

    def __init__(self, key: str, problem: str, text: str = "") -> None:
        super().__init__(text or f"{key}: {problem}")
        self.key, self.problem = key, problem


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


def host_ref(value: str) -> str | None:
    """The host variable named by an env value ``"$VAR"``/``"${VAR}"``, else None."""
    m = _HOST_REF.match(value)
    return (m.group(1) or m.group(2)) if m else None


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
    if preset.kind in ("custom", "openwebui"):
        where = "put the flag in command" if preset.kind == "custom" else "set it on the LLM server's preset"
        for key in (*ENGINE_FLAGS, "speculative_config", "tool_call_parser"):
            if getattr(preset, key) is not None:
                problems.append((key, f"kind {preset.kind!r} does not use {key} ({where}, or clear it)"))
        if preset.enable_auto_tool_choice:
            problems.append(("enable_auto_tool_choice", f"kind {preset.kind!r} does not use it ({where})"))
    if preset.kind == "vllm" and preset.enable_auto_tool_choice and not preset.tool_call_parser:
        problems.append(
            (
                "tool_call_parser",
                "enable_auto_tool_choice needs a tool_call_parser for the model family "
                "(hermes for Qwen, llama3_json, mistral…): vLLM refuses to start without one",
            )
        )
    if preset.kind == "sglang" and preset.enable_auto_tool_choice:
        problems.append(
            ("enable_auto_tool_choice", "SGLang takes tool_choice auto with tool_call_parser alone: clear this")
        )
    if preset.kind == "openwebui" and preset.model:
        problems.append(("model", "Open WebUI serves no model of its own (the LLM server it talks to does); clear it"))
    if preset.kind == "openwebui" and preset.extra_args:
        problems.append(
            (
                "extra_args",
                "Open WebUI takes no arguments: they would replace its image's start command; "
                "set its options as env.NAME (e.g. env.OPENAI_API_BASE_URL), or clear them",
            )
        )
    if preset.image and not _IMAGE.match(preset.image):
        problems.append(("image", f"not a valid image reference: {preset.image!r}"))
    return problems
