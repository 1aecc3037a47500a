"""The launch form as text fields <-> --set settings (pure; shared by the UI and tests)."""

from __future__ import annotations

import json
import shlex

from console.containers.presets.model import Preset

FORM_FIELDS: tuple[tuple[str, str], ...] = (
    ("image", "Image"),
    ("model", "Model (HF id or path)"),
    ("port", "Port"),
    ("gpu_memory_utilization", "GPU memory utilization (0-1)"),
    ("max_model_len", "Max model length"),
    ("dtype", "dtype"),
    ("quantization", "Quantization"),
    ("speculative_config", "Speculative config (JSON)"),
    ("extra_args", "Extra arguments"),
    ("env", "Environment (NAME=value …; HF_TOKEN comes from your shell)"),
    ("tiktoken_dir", "gpt-oss tiktoken directory"),
    ("container_name", "Container name"),
)


def form_values(p: Preset) -> dict[str, str]:
    """Each form field's text for a preset."""

    def text(key: str) -> str:
        value = getattr(p, key)
        if value is None:
            return ""
        if key == "extra_args":
            return shlex.join(value)
        if key == "env":
            return " ".join(f"{k}={v}" for k, v in value.items())
        if key == "speculative_config" and not isinstance(value, str):
            return json.dumps(value)
        return str(value)

    return {key: text(key) for key, _ in FORM_FIELDS}


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
                raise ValueError(f"env: {exc}; write NAME=value pairs separated by spaces") from None
            for name, value in new.items():
                if old.get(name) != value:
                    settings[f"env.{name}"] = value
            for name in old.keys() - new.keys():
                settings[f"env.{name}"] = ""
        else:
            settings[key] = text.strip()
    return settings
