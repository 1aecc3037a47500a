"""The launch form as text fields <-> --set settings (pure; shared by the UI and tests).

A preset's kind decides which fields apply (``fields_for``): the form shows those and no other, so nothing typed is
dropped; ``form_plan`` turns the form into a launch plan and words every refusal with the form's field names.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping

from console.containers import presets as ps
from console.containers.presets.model import Preset
from console.containers.presets.plan import LaunchPlan
from console.containers.presets.values import ENGINE_FLAGS, PresetError
from console.runtime.secrets import mask_command

FORM_FIELDS: tuple[tuple[str, str], ...] = (
    ("image", "Image"),
    ("command", "Command ({model}, {port} filled in; empty: the image's)"),
    ("model", "Model (HF id or path)"),
    ("port", "Port"),
    ("gpu_memory_utilization", "GPU memory utilization (0-1)"),
    ("max_model_len", "Max model length"),
    ("dtype", "dtype"),
    ("quantization", "Quantization"),
    ("speculative_config", "Speculative config (JSON)"),
    ("enable_auto_tool_choice", "Auto tool choice (true/false: tool_choice auto)"),
    ("tool_call_parser", "Tool-call parser (hermes, llama3_json, mistral…)"),
    ("extra_args", "Extra arguments"),
    ("env", "Environment (NAME=value …; HF_TOKEN comes from your shell)"),
    ("tiktoken_dir", "gpt-oss tiktoken directory"),
    ("runtime", "Docker runtime (empty: none, for no GPU)"),
    ("container_name", "Container name"),
)
TOOL_FIELDS = ("enable_auto_tool_choice", "tool_call_parser")
_LABELS = dict(FORM_FIELDS)
_OWN_LABELS = {  # where a kind reads a field its own way
    ("openwebui", "port"): "Port of the LLM server it talks to (the UI itself is on 8080)",
}
_NOT_FOR: dict[str, frozenset[str]] = {  # the fields each kind would drop, so the form leaves them out
    "vllm": frozenset({"command"}),
    "sglang": frozenset({"command", "speculative_config", "enable_auto_tool_choice"}),
    "openwebui": frozenset(
        {"command", "model", "tiktoken_dir", "extra_args", *ENGINE_FLAGS, "speculative_config", *TOOL_FIELDS}
    ),
    "custom": frozenset({*ENGINE_FLAGS, "speculative_config", *TOOL_FIELDS}),
}


def fields_for(kind: str) -> tuple[str, ...]:
    """The form fields a preset of ``kind`` uses, in the form's order."""
    dropped = _NOT_FOR.get(kind, frozenset())
    return tuple(key for key, _ in FORM_FIELDS if key not in dropped)


def label_for(key: str, kind: str) -> str:
    """The label of field ``key`` in a form for ``kind``."""
    return _OWN_LABELS.get((kind, key), _LABELS.get(key, key))


def field_name(key: str) -> str:
    """A field's name in a message: its label without the parenthesised hint (``GPU memory utilization``)."""
    return _LABELS.get(key, key).split(" (")[0]


def form_values(p: Preset) -> dict[str, str]:
    """Each form field's text for a preset."""

    def text(key: str) -> str:
        value = getattr(p, key)
        if value is None:
            return ""
        if key in ("extra_args", "command"):
            return shlex.join(value)
        if key == "env":
            return " ".join(f"{k}={v}" for k, v in value.items())
        if key == "speculative_config" and not isinstance(value, str):
            return json.dumps(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return {key: text(key) for key, _ in FORM_FIELDS}


def draft_values(values: dict[str, str]) -> dict[str, str]:
    """What the launch form may keep of an edit between visits: every field but one that holds a credential
    (typed for one launch, it must not be shown again on the next visit)."""
    return {key: text for key, text in values.items() if mask_command(text) == text}


def settings_from_form(values: dict[str, str], preset: Preset) -> dict[str, str]:
    """The --set settings that turn ``preset`` into what the form says (changed fields only)."""
    base = form_values(preset)
    settings: dict[str, str] = {}
    for key, text in values.items():
        if text.strip() == base.get(key, "").strip():
            continue
        if key == "env":
            old = dict(item.split("=", 1) for item in shlex.split(base["env"]) if "=" in item)
            try:
                new = dict(item.split("=", 1) for item in shlex.split(text))
            except ValueError as exc:
                problem = f"{exc}; write NAME=value pairs separated by spaces"
                raise PresetError("env", problem, f"env: {problem}") from None
            for name, value in new.items():
                if old.get(name) != value:
                    settings[f"env.{name}"] = value
            for name in old.keys() - new.keys():
                settings[f"env.{name}"] = ""
        else:
            settings[key] = text.strip()
    return settings


def form_message(exc: ValueError) -> str:
    """A refusal worded for the form: the field's name, not ``--set key``."""
    if not isinstance(exc, PresetError):
        return str(exc)
    head, _, entry = exc.key.partition(".")
    return f"{field_name(head)}: " + (f"{entry}: " if entry else "") + exc.problem


def form_preset(values: dict[str, str], preset: Preset) -> Preset:
    """``preset`` as the form edits it; raises ValueError worded for the form (``form_message``)."""
    try:
        return ps.apply_overrides(preset, settings_from_form(values, preset))
    except ValueError as exc:
        raise ValueError(form_message(exc)) from None


def form_plan(values: dict[str, str], preset: Preset, host_env: Mapping[str, str]) -> tuple[Preset, LaunchPlan]:
    """The edited preset and its plan; raises ValueError worded for the form."""
    edited = form_preset(values, preset)
    try:
        return edited, ps.plan(edited, host_env)
    except ValueError as exc:
        raise ValueError(form_message(exc)) from None


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")  # vLLM's spelling: gpu_memory_utilization -> --gpu-memory-utilization


def _without(args: list[str], flag: str) -> list[str]:
    """``args`` with every ``flag VALUE`` and ``flag=VALUE`` taken out."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == flag:
            skip = True
        elif not arg.startswith(f"{flag}="):
            out.append(arg)
    return out


def fix_words(kind: str, settings: Mapping[str, object]) -> str:
    """What a diagnosis's one-key fix changes, in the form's terms."""
    used = fields_for(kind)
    fields = [f"{k}={v}" for k, v in settings.items() if k in used]
    flags = [f"{_flag(k)} {v}" for k, v in settings.items() if k not in used]
    return ", ".join([*fields, *([" ".join(flags) + " in Extra arguments"] if flags else [])])


def fix_values(values: Mapping[str, str], kind: str, settings: Iterable[tuple[str, object]]) -> dict[str, str]:
    """The form with a diagnosis's settings: each in its field, or, where the kind has none (a custom command that
    runs vLLM), as the server's flag at the end of Extra arguments.  Raises ValueError for unsplittable arguments."""
    out = dict(values)
    used = fields_for(kind)
    for key, value in settings:
        if key in used:
            out[key] = str(value)
            continue
        try:
            args = shlex.split(out.get("extra_args", ""))
        except ValueError as exc:
            raise PresetError("extra_args", f"cannot add {_flag(key)}: {exc}") from None
        out["extra_args"] = shlex.join([*_without(args, _flag(key)), _flag(key), str(value)])
    return out
