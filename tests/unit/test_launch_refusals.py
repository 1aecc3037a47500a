"""What the launch path refuses rather than drops (issue 15, items 8-10): fields a kind would ignore, a custom
command's ``{model}``, refusals worded for the form or the CLI, and gpt-oss's tiktoken files in the preflight."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import docker.errors
import pytest

from console.config import Config
from console.containers.form import (
    FORM_FIELDS,
    fields_for,
    form_message,
    form_plan,
    form_values,
    settings_from_form,
)
from console.containers.preflight import FAIL, OK, WARN, run_checks, tiktoken_check
from console.containers.presets import BUILTIN_PRESETS, apply_overrides, check, plan
from console.containers.presets.model import TIKTOKEN_ENV
from console.containers.presets.values import PresetError
from console.doctor.check import Probe
from console.doctor.checks import TIKTOKEN_FILES, check_tiktoken

HOST = {"HOME": "/home/ada"}
CUSTOM = BUILTIN_PRESETS["custom"]


def custom(**settings: str) -> dict[str, str]:
    return form_values(CUSTOM) | {"image": "local/server:1", **settings}


# ---- item 8: the fields each kind uses; nothing dropped in silence -------------------------------------------------


def test_the_form_has_command_and_runtime_and_each_kind_shows_what_it_uses() -> None:
    keys = [k for k, _ in FORM_FIELDS]
    assert "command" in keys and "runtime" in keys
    assert {"command", "model", "port", "runtime", "image"} <= set(fields_for("custom"))
    assert not {"gpu_memory_utilization", "max_model_len", "dtype", "quantization"} & set(fields_for("custom"))
    assert "command" not in fields_for("vllm") and "speculative_config" not in fields_for("sglang")
    assert not {"model", "gpu_memory_utilization", "tiktoken_dir", "extra_args"} & set(fields_for("openwebui"))
    assert form_values(BUILTIN_PRESETS["vllm-thor"])["runtime"] == "nvidia"


def test_custom_fills_model_and_port_and_runs_without_a_runtime() -> None:
    _, p = form_plan(custom(command="serve {model} --port={port}", model="m/x", port="9000", runtime=""), CUSTOM, HOST)
    assert p.command == ["serve", "m/x", "--port=9000"] and p.runtime is None


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"command": "serve --model {model}"}, "Model: is empty, but the command uses {model}"),
        ({"model": "m/x"}, "Model: would be dropped: there is no command"),
        ({"model": "m/x", "command": "serve --port {port}"}, "Model: would be dropped: the command has no {model}"),
    ],
)
def test_custom_refuses_a_model_it_would_drop_or_leave_empty(settings: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("{", r"\{").replace("}", r"\}")):
        form_plan(custom(**settings), CUSTOM, HOST)


@pytest.mark.parametrize(
    ("preset", "settings", "key"),
    [
        ("custom", {"image": "x", "gpu_memory_utilization": "0.5"}, "gpu_memory_utilization"),
        ("custom", {"image": "x", "max_model_len": "4096"}, "max_model_len"),
        ("open-webui", {"dtype": "float16"}, "dtype"),
        ("open-webui", {"model": "m/x"}, "model"),
        ("open-webui", {"extra_args": "--port 9090"}, "extra_args"),  # it would replace the image's command
    ],
)
def test_a_flag_the_kind_would_drop_is_refused(preset: str, settings: dict[str, str], key: str) -> None:
    with pytest.raises(PresetError) as raised:
        apply_overrides(BUILTIN_PRESETS[preset], settings)
    assert raised.value.key == key and str(raised.value).startswith(f"--set {key}:")


def test_every_builtin_still_passes_the_kind_checks() -> None:
    assert all(check(p) == [] for p in BUILTIN_PRESETS.values())


def test_cli_refuses_an_empty_model_placeholder(tmp_path: Path) -> None:
    from console.containers import command as commands

    config = Config(docker_host=f"unix://{tmp_path}/absent.sock", telemetry_source="procfs")
    out, err = StringIO(), StringIO()
    settings = ["image=local/server:1", "command=serve --model {model}"]
    code = commands.launch(config, "custom", settings, dry_run=True, timeout=5, out=out, err=err)
    assert code == commands.EXIT_PRESET and out.getvalue() == ""
    assert "the command uses {model} but model is empty: --set model=" in err.getvalue()


# ---- item 9: the form names its field; the CLI keeps --set ---------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "form", "cli"),
    [
        (
            {"gpu_memory_utilization": "1.5"},
            "GPU memory utilization: must be above 0 and at most 1, got 1.5",
            "--set gpu_memory_utilization: must be above 0",
        ),
        ({"port": "eighty"}, "Port: expected an integer, got 'eighty'", "--set port: expected an integer"),
        ({"max_model_len": "0"}, "Max model length: must be between 1", "--set max_model_len: must be"),
        ({"env": "A=$"}, "Environment: A: a host variable reference", "--set env.A: a host variable"),
        ({"model": ""}, "Model: is empty: vllm-thor has no default model", "has no model: set model ="),
    ],
)
def test_refusals_name_the_form_field_in_the_form_and_the_flag_in_the_cli(
    settings: dict[str, str], form: str, cli: str
) -> None:
    preset = BUILTIN_PRESETS["vllm-thor"]
    with pytest.raises(ValueError) as raised:
        form_plan(form_values(preset) | settings, preset, HOST)
    assert str(raised.value).startswith(form) and "--set" not in str(raised.value)
    with pytest.raises(ValueError, match=cli.replace("$", r"\$")):
        plan(apply_overrides(preset, settings_from_form(form_values(preset) | settings, preset)), HOST)


def test_an_unsplittable_env_names_the_environment_field() -> None:
    preset = BUILTIN_PRESETS["vllm-thor"]
    with pytest.raises(ValueError) as raised:
        settings_from_form(form_values(preset) | {"env": "A='unclosed"}, preset)
    assert form_message(raised.value).startswith("Environment: ")


# ---- item 10: gpt-oss's tiktoken files, by the doctor's own check --------------------------------------------------


def thor(**settings: str):
    return plan(apply_overrides(BUILTIN_PRESETS["vllm-thor"], settings), HOST)


def test_gpt_oss_without_a_tiktoken_folder_is_warned() -> None:
    found = tiktoken_check(thor())
    assert found is not None and found.level == WARN and "offline it fails" in found.detail
    assert check_tiktoken(Probe(env={})).fix in found.fix  # the doctor's advice, not a copy of it


def test_gpt_oss_tiktoken_folder_is_checked_like_the_doctor_does(tmp_path: Path) -> None:
    (tmp_path / TIKTOKEN_FILES[0]).write_text("x")
    found = tiktoken_check(thor(tiktoken_dir=str(tmp_path)))
    doctor = check_tiktoken(Probe(env={TIKTOKEN_ENV: str(tmp_path)}))
    assert found is not None and found.level == FAIL and TIKTOKEN_FILES[1] in found.detail
    assert found.fix == doctor.fix and TIKTOKEN_FILES[0] not in found.fix
    (tmp_path / TIKTOKEN_FILES[1]).write_text("x")
    found = tiktoken_check(thor(tiktoken_dir=str(tmp_path)))
    assert found is not None and found.level == OK and str(tmp_path) in found.detail


def test_other_models_have_no_tiktoken_check() -> None:
    assert tiktoken_check(thor(model="Qwen/Qwen3-8B")) is None


class _Api:
    def inspect_image(self, image: str) -> dict[str, int]:
        raise docker.errors.ImageNotFound(image)


def test_the_preflight_runs_the_tiktoken_check(tmp_path: Path) -> None:
    source = SimpleNamespace(api=_Api(), containers=lambda: [], info=lambda: {"Runtimes": {"nvidia": {}}})
    checks = run_checks(thor(tiktoken_dir=str(tmp_path)), source, host_env={"HOME": str(tmp_path)})  # type: ignore[arg-type]
    tiktoken = [c for c in checks if c.name == "tiktoken"]
    assert len(tiktoken) == 1 and tiktoken[0].level == FAIL
