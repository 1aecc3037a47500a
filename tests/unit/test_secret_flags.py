"""Secrets in command lines (issue 15 item 2): a container's command, args and env, and a launch's ``docker run``
line, show ``--api-key ••••`` in every form the flag takes, in Inspect, ``containers --json`` and ``launch``; JSON
carries the mask's own characters, not ``\\u2022`` escapes."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest

from console.config import Config
from console.containers import command as commands
from console.containers.docker_source import DockerSource, container_from_list
from console.containers.view import containers_json, inspect_text
from console.runtime.secrets import MASK, is_secret_variable, mask_command, mask_data, mask_env

KEY = "Zq9Xw7Vt5Ru3Sp1"  # no run of 4 of its characters occurs in any other word below


def _kept_nothing(text: str) -> None:
    """No piece of 4 of the secret's characters is left anywhere in ``text``."""
    pieces = {KEY[i : i + 4] for i in range(len(KEY) - 3)}
    assert not [p for p in pieces if p in text], text


# every form a secret takes on a command line, and what must still be seen around it
COMMAND = (
    f"vllm serve Qwen/Qwen3-8B --api-key sk-{KEY} --port 8000 --hf-token=hf_{KEY} "
    f"--token {KEY}x HF_TOKEN=hf_{KEY}y STRIPE_KEY={KEY}z DB_PASSWORD={KEY}w"
)
KEPT = ("vllm serve Qwen/Qwen3-8B", "--port 8000", "--api-key ", "--hf-token=", "HF_TOKEN=", "STRIPE_KEY=")


def test_any_key_password_or_token_variable_is_secret() -> None:
    assert all(map(is_secret_variable, ("STRIPE_KEY", "KEY", "MY_DB_PASSWORD_FILE", "X_TOKEN", "app_key")))
    assert not any(map(is_secret_variable, ("MAX_TOKENS", "HF_HUB_DISABLE_IMPLICIT_TOKEN", "MONKEY", "KEYS")))
    assert mask_env([f"APP_KEY={KEY}", "SORT=1"]) == [f"APP_KEY={MASK}", "SORT=1"]


def test_a_field_named_key_in_settings_is_data_not_a_secret() -> None:
    """*_KEY judges variables only: a JSON schema's "key" property or a "sort_key" setting is kept whole."""
    settings = {"sort_key": "name", "guided_json": {"properties": {"key": {"type": "string"}}}, "api_key": KEY}
    assert mask_data(settings) == {**settings, "api_key": MASK}


def test_a_command_line_masks_every_form_of_secret_flag() -> None:
    masked = mask_command(COMMAND)
    _kept_nothing(masked)
    assert all(k in masked for k in KEPT), masked
    assert masked.count(MASK) == 6


class _Api:
    """docker-py's low-level client, answering one inspect: a vLLM container started with its secrets inline."""

    def inspect_container(self, _cid: str) -> dict[str, Any]:
        return {
            "Id": "c0ffee" * 10,
            "Name": "/vllm",
            "Path": "vllm",
            "Args": ["serve", "Qwen/Qwen3-8B", "--api-key", f"sk-{KEY}", f"--hf-token={KEY}", f"OPENAI_API_KEY={KEY}"],
            "Config": {
                "Cmd": ["serve", "Qwen/Qwen3-8B", "--api-key", f"sk-{KEY}", f"--hf-token={KEY}"],
                "Entrypoint": ["bash", "-c", f"vllm serve m --api-key {KEY} --port 8000"],
                "Env": [f"HF_TOKEN=hf_{KEY}", f"NGC_PASSWORD=two words {KEY}", "MAX_TOKENS=4096", f"APP_KEY={KEY}"],
                "Labels": {"jetconsole.preset": "vllm-thor"},
            },
            "HostConfig": {"Binds": ["/root/.cache/huggingface:/root/.cache/huggingface"]},
        }


def test_inspect_masks_command_entrypoint_args_and_env_and_shows_the_mask_itself() -> None:
    src = DockerSource("tcp://docker.test:2375")
    src._api = _Api()
    text = inspect_text(src.inspect("c0ffee"))
    _kept_nothing(text)
    assert "\\u2022" not in text and f'"--api-key",\n      "{MASK}"' in text
    doc = json.loads(text)
    assert doc["Config"]["Env"] == [f"HF_TOKEN={MASK}", f"NGC_PASSWORD={MASK}", "MAX_TOKENS=4096", f"APP_KEY={MASK}"]
    assert doc["Args"] == ["serve", "Qwen/Qwen3-8B", "--api-key", MASK, f"--hf-token={MASK}", f"OPENAI_API_KEY={MASK}"]
    assert doc["Config"]["Entrypoint"][2] == f"vllm serve m --api-key {MASK} --port 8000"
    assert doc["HostConfig"]["Binds"] == ["/root/.cache/huggingface:/root/.cache/huggingface"]
    assert doc["Path"] == "vllm" and doc["Config"]["Labels"] == {"jetconsole.preset": "vllm-thor"}
    # the unmasked document stays available to what must act on it (not shown)
    assert f"sk-{KEY}" in src.inspect("c0ffee", masked=False)["Args"]


def test_a_listed_containers_command_and_its_json_are_masked() -> None:
    row = {
        "Id": "a" * 64,
        "Names": ["/vllm"],
        "Image": "vllm:1",
        "State": "running",
        "Status": "Up",
        "Command": COMMAND,
    }
    info = container_from_list(row)
    _kept_nothing(info.command)
    assert "--port 8000" in info.command  # the servers registry still finds the port
    text = containers_json((info,))
    _kept_nothing(text)
    assert "\\u2022" not in text and f"--api-key {MASK}" in json.loads(text)[0]["command"]


@pytest.mark.parametrize("flag", [["--api-key", f"sk-{KEY}"], [f"--api-key=sk-{KEY}"], [f"HF_TOKEN=hf_{KEY}"]])
def test_launch_dry_run_line_masks_secrets_among_the_servers_arguments(flag: list[str], tmp_path) -> None:
    """The ``docker run`` line ``launch`` prints first (Docker absent here: it stops right after)."""
    config = Config(docker_host=f"unix://{tmp_path}/absent.sock", telemetry_source="procfs")
    out, err = StringIO(), StringIO()
    code = commands.launch(
        config, "vllm-thor", [f"extra_args={' '.join(flag)}"], dry_run=True, timeout=5, out=out, err=err
    )
    assert code == commands.EXIT_DOCKER, out.getvalue() + err.getvalue()
    _kept_nothing(out.getvalue() + err.getvalue())
    assert MASK in out.getvalue() and "vllm serve" in out.getvalue()


def test_the_doctors_holders_name_processes_without_their_secrets(tmp_path) -> None:
    """The memory check and the recovery wizard show a GPU holder's command line and an engine's parent's."""
    from console.doctor import memory

    proc = tmp_path / "proc"
    stat = "{pid} (p) S {ppid} " + " ".join(["0"] * 17) + " 777 0 0\n"
    for pid, ppid, argv in (
        (500, 1, ["python3", "serve.py", "--api-key", f"sk-{KEY}", "--port", "9000"]),  # a GPU process
        (600, 1, ["bash", "-c", f"vllm-wrapper --hf-token={KEY}"]),  # an orphaned engine's parent (no server)
        (601, 600, ["VLLM::EngineCore"]),
    ):
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "cmdline").write_bytes("\0".join(argv).encode() + b"\0")
        (proc / str(pid) / "stat").write_text(stat.format(pid=pid, ppid=ppid))
    holders = memory.find_holders(proc, gpu=memory.GpuMemory(used=1, total=2, processes={500: 1 << 30}))
    lines = "\n".join(h.line() for h in holders)
    assert "serve.py --api-key" in lines and "--hf-token=" in lines and len(holders) == 2, lines
    _kept_nothing(lines)


def test_doctor_json_and_the_audit_log_mask_and_keep_the_mask_characters(tmp_path) -> None:
    from console.doctor.audit import audit, audit_path
    from console.doctor.check import FAIL, Check
    from console.doctor.command import as_json

    held = Check("memory", "Memory", FAIL, (f"holder: pid 9 python3 serve.py --api-key sk-{KEY} --port 9000",))
    text = as_json([held])
    _kept_nothing(text)
    assert "\\u2022" not in text and f"--api-key {MASK}" in json.loads(text)["checks"][0]["evidence"][0]
    audit("memory.kill", {"pid": 9, "command": f"vllm serve m --api-key={KEY}", "HF_TOKEN": KEY})
    logged = audit_path().read_text(encoding="utf-8")
    _kept_nothing(logged)
    assert "\\u2022" not in logged and f"--api-key={MASK}" in logged and f'"HF_TOKEN": "{MASK}"' in logged


def test_the_launch_preview_and_a_plans_repr_mask_secret_flags_among_the_servers_arguments() -> None:
    """What the Launch screen's preview shows (docker_run_line) and what a log of the plan would print."""
    import os

    from console.containers import presets

    preset = presets.apply_overrides(
        presets.all_presets(Config())["vllm-thor"], presets.parse_set([f"extra_args=--api-key sk-{KEY}"])
    )
    plan = presets.plan(preset, os.environ)
    assert f"sk-{KEY}" in plan.command  # the container gets the key itself
    for shown in (presets.docker_run_line(plan), repr(plan), " ".join(presets.docker_run_argv(plan))):
        _kept_nothing(shown)
        assert any(f"--api-key{sep}{MASK}" in shown for sep in (" ", " '", "', '"))


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('extra_args = ["--api-key", "sk-abc123"]', "presets.mine.extra_args"),
        ('command = "vllm serve m --api-key=sk-abc123"', "presets.mine.command"),
        ('env = { APP_KEY = "literal" }', "presets.mine.env.APP_KEY"),
    ],
)
def test_a_stored_preset_may_not_hold_a_secret_the_launch_form_would_show(table: str, key: str) -> None:
    from console import config as cfg
    from console.config import ConfigError
    from console.containers import presets

    text = f'[presets.mine]\nbase = "{"custom" if "command" in table else "vllm-thor"}"\n{table}\n'
    with pytest.raises(ConfigError) as caught:
        presets.all_presets(cfg.parse(text))
    assert caught.value.key == key and caught.value.line == 3 and "secret must not be stored" in caught.value.message


def test_a_secret_flag_for_one_launch_comes_from_set_not_the_file() -> None:
    from console.containers import presets

    preset = presets.apply_overrides(
        presets.all_presets(Config())["vllm-thor"], presets.parse_set(["extra_args=--api-key sk-abc123"])
    )
    assert "sk-abc123" in preset.extra_args


def test_a_stored_preset_may_name_a_variable_read_at_launch() -> None:
    from console import config as cfg
    from console.containers import presets

    for table in ('extra_args = ["--api-key", "$VLLM_API_KEY"]', 'extra_args = ["--api-key=${VLLM_API_KEY}"]'):
        assert "mine" in presets.all_presets(cfg.parse(f'[presets.mine]\nbase = "vllm-thor"\n{table}\n'))


def test_json_output_keeps_the_mask_but_escapes_c1_and_del() -> None:
    """ensure_ascii=False wrote a mask as •••• and also wrote an 8-bit CSI (\\x9b) raw: `cat` would act on it."""
    from console.runtime.sanitise import json_text

    text = json_text({"evidence": f"{MASK} \x9b2J \x7f"})
    assert MASK in text and "\x9b" not in text and "\x7f" not in text and json.loads(text)["evidence"].endswith("\x7f")


def test_chat_json_masks_a_key_the_server_echoed_in_its_error() -> None:
    from console.chat.command import result_json
    from console.chat.model import MessageStats

    stats = MessageStats(error=f"cannot reach http://admin:{KEY}@10.0.0.5:8000/v1 (ConnectError)")
    _kept_nothing(result_json("", "", "m", "error", stats))
