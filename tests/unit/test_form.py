"""The launch form <-> --set settings."""

from __future__ import annotations

import pytest

from console.containers.form import FORM_FIELDS, fix_values, fix_words, form_message, form_values, settings_from_form
from console.containers.presets import BUILTIN_PRESETS, apply_overrides


def test_unchanged_form_changes_nothing() -> None:
    preset = BUILTIN_PRESETS["vllm-thor"]
    values = form_values(preset)
    assert set(values) == {k for k, _ in FORM_FIELDS}
    assert settings_from_form(values, preset) == {}
    assert apply_overrides(preset, {}) == preset


def test_edits_become_settings_that_apply() -> None:
    preset = BUILTIN_PRESETS["vllm-thor"]
    values = form_values(preset) | {
        "model": "Qwen/Qwen3-8B",
        "port": "8001",
        "max_model_len": "8192",
        "extra_args": "--reasoning-parser qwen3",
        "env": "VLLM_LOGGING_COLOR=0",
    }
    settings = settings_from_form(values, preset)
    assert settings == {
        "model": "Qwen/Qwen3-8B",
        "port": "8001",
        "max_model_len": "8192",
        "extra_args": "--reasoning-parser qwen3",
        "env.VLLM_LOGGING_COLOR": "0",
    }
    changed = apply_overrides(preset, settings)
    assert (changed.model, changed.port, changed.max_model_len) == ("Qwen/Qwen3-8B", 8001, 8192)
    assert changed.extra_args == ("--reasoning-parser", "qwen3") and changed.env["VLLM_LOGGING_COLOR"] == "0"


def test_bad_values_say_which_field() -> None:
    preset = BUILTIN_PRESETS["vllm-thor"]
    with pytest.raises(ValueError, match="port"):
        apply_overrides(preset, settings_from_form(form_values(preset) | {"port": "eighty"}, preset))
    with pytest.raises(ValueError, match="env"):
        settings_from_form(form_values(preset) | {"env": "A='unclosed"}, preset)


def test_a_fix_goes_into_its_field_or_the_custom_command_flags() -> None:
    thor = form_values(BUILTIN_PRESETS["vllm-thor"])
    assert fix_values(thor, "vllm", [("gpu_memory_utilization", 0.09)])["gpu_memory_utilization"] == "0.09"
    assert fix_words("vllm", {"gpu_memory_utilization": 0.09}) == "gpu_memory_utilization=0.09"
    # custom has no such field (it would be refused): the flag joins the command's arguments, once
    mine = form_values(BUILTIN_PRESETS["custom"]) | {"extra_args": "--enforce-eager --gpu-memory-utilization=0.7"}
    fixed = fix_values(mine, "custom", [("gpu_memory_utilization", 0.09), ("max_model_len", 4096)])
    assert fixed["extra_args"] == "--enforce-eager --gpu-memory-utilization 0.09 --max-model-len 4096"
    assert fixed["gpu_memory_utilization"] == ""
    assert fix_words("custom", {"gpu_memory_utilization": 0.09}) == "--gpu-memory-utilization 0.09 in Extra arguments"
    with pytest.raises(ValueError) as raised:
        fix_values(mine | {"extra_args": "'unclosed"}, "custom", [("max_model_len", 1)])
    assert form_message(raised.value).startswith("Extra arguments: cannot add --max-model-len")
