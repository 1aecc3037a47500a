"""Launch presets: exact docker run argv, secrets never shown, config inheritance and errors."""

from __future__ import annotations

import dataclasses
import itertools
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest

from console.config import ConfigError
from console.containers import presets as pr
from console.containers.presets import (
    BUILTIN_PRESETS,
    FIELDS,
    Preset,
    apply_overrides,
    docker_run_argv,
    docker_run_line,
    parse_presets,
    parse_set,
    plan,
    sdk_kwargs,
)
from console.runtime.secrets import MASK, is_secret, mask_env, mask_text, secret_values

FAKE_TOKEN = "hf_FAKEfakeFAKE0123456789abcdef"
HOST = {"HOME": "/home/ada", "HF_TOKEN": FAKE_TOKEN, "PATH": "/usr/bin"}


def _with_model(name: str, model: str = "Qwen/Qwen3-8B") -> Preset:
    return apply_overrides(BUILTIN_PRESETS[name], {"model": model})


def _presets(text: str, path: Path | None = None) -> dict[str, Preset]:
    return parse_presets(tomllib.loads(text).get("presets", {}), text, path)


# --- built-ins -------------------------------------------------------------------------------


def test_vllm_thor_renders_the_workshop_command_exactly() -> None:
    argv = docker_run_argv(plan(BUILTIN_PRESETS["vllm-thor"], HOST))
    assert argv == [
        "docker",
        "run",
        "-d",
        "--name",
        "vllm",
        "--network",
        "host",
        "--runtime",
        "nvidia",
        "--shm-size",
        "16g",
        "--ulimit",
        "memlock=-1",
        "--ulimit",
        "stack=67108864",
        "-e",
        "HF_TOKEN",
        "-v",
        "/home/ada/.cache/huggingface:/root/.cache/huggingface",
        "-v",
        "/home/ada/.cache/vllm:/root/.cache/vllm",
        "--label",
        "jetconsole.preset=vllm-thor",
        "nvcr.io/nvidia/vllm:25.09-py3",
        "vllm",
        "serve",
        "openai/gpt-oss-120b",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
        "--gpu-memory-utilization",
        "0.7",
    ]


def test_vllm_thor_line_is_grouped_one_option_a_line() -> None:
    line = docker_run_line(plan(BUILTIN_PRESETS["vllm-thor"], HOST))
    assert line.splitlines() == [
        "docker run -d \\",
        "  --name vllm \\",
        "  --network host \\",
        "  --runtime nvidia \\",
        "  --shm-size 16g \\",
        "  --ulimit memlock=-1 \\",
        "  --ulimit stack=67108864 \\",
        "  -e HF_TOKEN \\",
        "  -v /home/ada/.cache/huggingface:/root/.cache/huggingface \\",
        "  -v /home/ada/.cache/vllm:/root/.cache/vllm \\",
        "  --label jetconsole.preset=vllm-thor \\",
        "  nvcr.io/nvidia/vllm:25.09-py3 \\",
        "  vllm serve openai/gpt-oss-120b --host 0.0.0.0 --port 8000 --gpu-memory-utilization 0.7",
    ]
    assert shlex.split(line.replace("\\\n", " ")) == docker_run_argv(plan(BUILTIN_PRESETS["vllm-thor"], HOST))


def test_vllm_orin_uses_the_jetson_containers_image_and_pins_hf_home() -> None:
    p = plan(_with_model("vllm-orin"), HOST)
    argv = docker_run_argv(p)
    assert argv[:3] == ["docker", "run", "-d"]
    assert "dustynv/vllm:r36.4.0" in argv
    assert argv[argv.index("--shm-size") + 1] == "8g"
    assert argv[argv.index("--runtime") + 1] == "nvidia"
    assert p.env["HF_HOME"] == "/root/.cache/huggingface"
    assert p.command == [
        "vllm",
        "serve",
        "Qwen/Qwen3-8B",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
        "--gpu-memory-utilization",
        "0.6",
    ]


def test_sglang_orin_command() -> None:
    p = plan(
        apply_overrides(
            _with_model("sglang-orin"),
            {"max_model_len": "8192", "dtype": "bfloat16", "quantization": "fp8", "served_model_name": "qwen"},
        ),
        HOST,
    )
    assert p.image == "dustynv/sglang:r36.4.0"
    assert p.command == [
        "python3",
        "-m",
        "sglang.launch_server",
        "--model-path",
        "Qwen/Qwen3-8B",
        "--host",
        "0.0.0.0",
        "--port",
        "30000",
        "--served-model-name",
        "qwen",
        "--mem-fraction-static",
        "0.6",
        "--context-length",
        "8192",
        "--dtype",
        "bfloat16",
        "--quantization",
        "fp8",
        "--enable-metrics",
    ]
    assert p.ports == (30000,) and p.url == "http://127.0.0.1:30000"


def test_vllm_command_with_every_typed_flag_then_extra_args() -> None:
    preset = apply_overrides(
        BUILTIN_PRESETS["vllm-thor"],
        {
            "served_model_name": "gpt",
            "max_model_len": "32768",
            "dtype": "auto",
            "quantization": "mxfp4",
            "speculative_config": '{"method": "eagle3", "num_speculative_tokens": 3}',
            "extra_args": "--enable-prefix-caching --max-num-seqs 8",
            "port": "8001",
        },
    )
    assert plan(preset, HOST).command == [
        "vllm",
        "serve",
        "openai/gpt-oss-120b",
        "--host",
        "0.0.0.0",
        "--port",
        "8001",
        "--served-model-name",
        "gpt",
        "--gpu-memory-utilization",
        "0.7",
        "--max-model-len",
        "32768",
        "--dtype",
        "auto",
        "--quantization",
        "mxfp4",
        "--speculative-config",
        '{"method": "eagle3", "num_speculative_tokens": 3}',
        "--enable-prefix-caching",
        "--max-num-seqs",
        "8",
    ]
    line = docker_run_line(plan(preset, HOST))
    assert '\'{"method": "eagle3", "num_speculative_tokens": 3}\'' in line  # quoted for the shell


def test_open_webui_is_the_documented_command() -> None:
    p = plan(BUILTIN_PRESETS["open-webui"], HOST)
    documented = shlex.split(
        "docker run -d --network=host -v open-webui:/app/backend/data "
        "-e OPENAI_API_BASE_URL=http://0.0.0.0:8000/v1 --name open-webui --restart always "
        "ghcr.io/open-webui/open-webui:main"
    )
    argv = docker_run_argv(p)
    assert argv == [
        "docker",
        "run",
        "-d",
        "--name",
        "open-webui",
        "--restart",
        "always",
        "--network",
        "host",
        "-e",
        "OPENAI_API_BASE_URL=http://0.0.0.0:8000/v1",
        "-v",
        "open-webui:/app/backend/data",
        "--label",
        "jetconsole.preset=open-webui",
        "ghcr.io/open-webui/open-webui:main",
    ]
    # The same options as the documented line (which spells --network=host), plus our label.
    normalised = [*(t for t in documented if t != "--network=host"), "--network", "host"]
    assert sorted([*normalised, "--label", "jetconsole.preset=open-webui"]) == sorted(argv)
    assert FAKE_TOKEN not in repr(p) and "HF_TOKEN" not in argv  # no HF token for a web UI
    assert p.ports == (8080,) and p.url == "http://127.0.0.1:8080" and p.command == []


def test_open_webui_base_url_follows_the_server_port_unless_given() -> None:
    p = plan(apply_overrides(BUILTIN_PRESETS["open-webui"], {"port": "30000"}), HOST)
    assert p.env["OPENAI_API_BASE_URL"] == "http://0.0.0.0:30000/v1"
    p = plan(
        apply_overrides(BUILTIN_PRESETS["open-webui"], {"env.OPENAI_API_BASE_URL": "http://thor-07:8000/v1"}), HOST
    )
    assert p.env == {"OPENAI_API_BASE_URL": "http://thor-07:8000/v1"}


def test_custom_fills_model_and_port_placeholders() -> None:
    preset = apply_overrides(
        BUILTIN_PRESETS["custom"],
        {
            "image": "nvcr.io/nvidia/vllm:25.11-py3",
            "model": "m/x",
            "port": "9000",
            "command": "python3 -m vllm.entrypoints.openai.api_server --model {model} --port={port}",
            "extra_args": "--enforce-eager",
        },
    )
    p = plan(preset, {})
    assert p.command == [
        "python3",
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        "m/x",
        "--port=9000",
        "--enforce-eager",
    ]
    assert p.unset == ("HF_TOKEN",) and "HF_TOKEN" not in p.env
    assert p.name is None and "--name" not in docker_run_argv(p)


def test_every_builtin_is_sound_and_every_field_is_configurable() -> None:
    for name, preset in BUILTIN_PRESETS.items():
        assert preset.name == name and pr.check(preset) == []
        assert preset.kind in pr.KINDS
    assert set(FIELDS) == {f.name for f in dataclasses.fields(Preset)} - {"name"}


@pytest.mark.parametrize(
    ("preset", "settings", "words"),
    [
        ("vllm-orin", {}, "has no model"),
        ("sglang-orin", {"model": "  "}, "has no model"),
        ("custom", {}, "has no image"),
        ("vllm-thor", {"volumes": "~/a:/x,~/a:/y"}, "mounts '/home/ada/a' twice"),
    ],
)
def test_plan_refuses_what_cannot_launch(preset: str, settings: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        plan(apply_overrides(BUILTIN_PRESETS[preset], settings), HOST)


# --- secrets never shown ---------------------------------------------------------------------


def test_secret_is_absent_from_every_display_form_and_present_where_it_launches() -> None:
    preset = apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"env.HUGGING_FACE_HUB_TOKEN": "$HF_TOKEN"})
    p = plan(preset, HOST)
    for shown in (docker_run_line(p), repr(p), str(p), " ".join(docker_run_argv(p)), repr([p])):
        assert FAKE_TOKEN not in shown
    assert p.env["HF_TOKEN"] == FAKE_TOKEN and p.env["HUGGING_FACE_HUB_TOKEN"] == FAKE_TOKEN
    assert set(p.secret_names) == {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}
    assert sdk_kwargs(p)["environment"]["HF_TOKEN"] == FAKE_TOKEN
    assert f"HF_TOKEN={FAKE_TOKEN}" in docker_run_argv(p, mask=False)
    argv = docker_run_argv(p)
    assert "HF_TOKEN" in argv and "HUGGING_FACE_HUB_TOKEN=$HF_TOKEN" in argv
    assert '-e HUGGING_FACE_HUB_TOKEN="$HF_TOKEN"' in docker_run_line(p)
    assert f"'HF_TOKEN': '{MASK}'" in repr(p)


def test_the_masked_line_is_runnable_shell_that_passes_the_secrets_through(tmp_path: Path) -> None:
    """Run the shown line with ``docker`` swapped for printf: the shell hands docker the real value."""
    preset = apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"env.HUGGING_FACE_HUB_TOKEN": "$HF_TOKEN"})
    line = docker_run_line(plan(preset, HOST))
    assert line.startswith("docker run")
    script = "printf '%s\\n'" + line[len("docker") :]
    out = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"HF_TOKEN": FAKE_TOKEN, "PATH": "/usr/bin:/bin"},
    ).stdout.splitlines()
    assert out[:2] == ["run", "-d"]
    assert f"HUGGING_FACE_HUB_TOKEN={FAKE_TOKEN}" in out  # expanded by the shell, never printed by us
    assert "HF_TOKEN" in out  # docker's own pass-through form


def test_a_secret_in_extra_args_is_masked_too() -> None:
    preset = apply_overrides(
        BUILTIN_PRESETS["vllm-thor"], {"env.VLLM_API_KEY": "$MY_KEY", "extra_args": "--api-key sk-supersecret-123"}
    )
    p = plan(preset, {**HOST, "MY_KEY": "sk-supersecret-123"})
    assert "VLLM_API_KEY" in p.secret_names and p.host_vars["VLLM_API_KEY"] == "MY_KEY"
    for shown in (docker_run_line(p), repr(p), " ".join(docker_run_argv(p))):
        assert "sk-supersecret-123" not in shown
    assert MASK in docker_run_line(p)
    assert "sk-supersecret-123" in sdk_kwargs(p)["command"]


def test_a_secret_with_quotes_is_masked_in_repr_too() -> None:
    tricky = "pa'ss\"wo\\rd"
    preset = dataclasses.replace(
        apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"env.DB_PASSWORD": "$PW"}), extra_args=("--pw=" + tricky,)
    )
    p = plan(preset, {**HOST, "PW": tricky})
    shown = repr(p)
    assert tricky not in shown and repr(tricky)[1:-1] not in shown and "pa\\'ss" not in shown
    assert f"--pw={MASK}" in shown


def test_a_secret_set_for_one_launch_is_masked_as_pass_through() -> None:
    p = plan(apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"env.NGC_API_KEY": "nvapi-abcdef"}), {"HOME": "/h"})
    assert "NGC_API_KEY" in p.secret_names and "NGC_API_KEY" not in p.host_vars
    assert "nvapi-abcdef" not in docker_run_line(p) and "nvapi-abcdef" not in repr(p)
    assert p.unset == ("HF_TOKEN",)


def test_missing_host_variables_are_listed_not_sent() -> None:
    preset = apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"env.HUGGING_FACE_HUB_TOKEN": "${HF_TOKEN}"})
    p = plan(preset, {"HOME": "/h", "HF_TOKEN": ""})
    assert p.unset == ("HF_TOKEN",)
    assert "HF_TOKEN" not in p.env and "HUGGING_FACE_HUB_TOKEN" not in p.env
    assert "-e" not in docker_run_argv(p)


# --- tiktoken, sdk kwargs, network ------------------------------------------------------------


def test_tiktoken_dir_is_mounted_read_only_and_named_in_the_env() -> None:
    p = plan(apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"tiktoken_dir": "~/tiktoken_encodings"}), HOST)
    assert p.env["TIKTOKEN_ENCODINGS_BASE"] == "/etc/encodings"
    assert pr.Mount("/home/ada/tiktoken_encodings", "/etc/encodings", True) in p.mounts
    argv = docker_run_argv(p)
    assert "/home/ada/tiktoken_encodings:/etc/encodings:ro" in argv
    assert "TIKTOKEN_ENCODINGS_BASE=/etc/encodings" in argv
    assert sdk_kwargs(p)["volumes"]["/home/ada/tiktoken_encodings"] == {"bind": "/etc/encodings", "mode": "ro"}


def test_sdk_kwargs_shape_for_vllm_thor() -> None:
    assert sdk_kwargs(plan(BUILTIN_PRESETS["vllm-thor"], HOST)) == {
        "image": "nvcr.io/nvidia/vllm:25.09-py3",
        "command": [
            "vllm",
            "serve",
            "openai/gpt-oss-120b",
            "--host",
            "0.0.0.0",
            "--port",
            "8000",
            "--gpu-memory-utilization",
            "0.7",
        ],
        "environment": {"HF_TOKEN": FAKE_TOKEN},
        "volumes": {
            "/home/ada/.cache/huggingface": {"bind": "/root/.cache/huggingface", "mode": "rw"},
            "/home/ada/.cache/vllm": {"bind": "/root/.cache/vllm", "mode": "rw"},
        },
        "network_mode": "host",
        "runtime": "nvidia",
        "shm_size": "16g",
        "ulimits": [{"name": "memlock", "soft": -1, "hard": -1}, {"name": "stack", "soft": 67108864, "hard": 67108864}],
        "name": "vllm",
        "detach": True,
        "labels": {"jetconsole.preset": "vllm-thor"},
    }


def test_sdk_kwargs_for_open_webui_and_bridge_network_ipc_restart() -> None:
    kw = sdk_kwargs(plan(BUILTIN_PRESETS["open-webui"], HOST))
    assert kw["restart_policy"] == {"Name": "always"}
    assert kw["volumes"] == {"open-webui": {"bind": "/app/backend/data", "mode": "rw"}}
    assert "command" not in kw and "runtime" not in kw and "ports" not in kw
    preset = apply_overrides(
        _with_model("vllm-orin"),
        {"network": "bridge", "ipc": "host", "restart": "on-failure:3", "ulimits.nofile": "1024:65536"},
    )
    p = plan(preset, HOST)
    kw = sdk_kwargs(p)
    assert kw["ports"] == {"8000/tcp": 8000} and kw["ipc_mode"] == "host" and kw["network_mode"] == "bridge"
    assert kw["restart_policy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert {"name": "nofile", "soft": 1024, "hard": 65536} in kw["ulimits"]
    argv = docker_run_argv(p)
    pairs = set(itertools.pairwise(argv))
    assert {
        ("-p", "8000:8000"),
        ("--ipc", "host"),
        ("--ulimit", "nofile=1024:65536"),
        ("--restart", "on-failure:3"),
        ("--network", "bridge"),
    } <= pairs


# --- config.toml [presets.NAME] ---------------------------------------------------------------


def test_no_presets_table_gives_the_builtins() -> None:
    assert _presets("") == BUILTIN_PRESETS


def test_user_preset_inherits_and_overrides() -> None:
    text = """
[presets.qwen]
base = "vllm-thor"
model = "Qwen/Qwen3-30B-A3B"
gpu_memory_utilization = 0.8
extra_args = ["--enable-prefix-caching"]
volumes = ["/data/hf:/root/.cache/huggingface"]

[presets.qwen.env]
HUGGING_FACE_HUB_TOKEN = "$HF_TOKEN"
VLLM_LOGGING_LEVEL = "DEBUG"

[presets.qwen-long]
base = "qwen"
max_model_len = 131072
ulimits = { nofile = "65536" }
"""
    catalog = _presets(text)
    assert set(BUILTIN_PRESETS) < set(catalog)
    qwen, long = catalog["qwen"], catalog["qwen-long"]
    thor = BUILTIN_PRESETS["vllm-thor"]
    assert qwen.name == "qwen" and qwen.image == thor.image and qwen.shm_size == "16g"
    assert qwen.model == "Qwen/Qwen3-30B-A3B" and qwen.gpu_memory_utilization == 0.8
    assert qwen.volumes == ("/data/hf:/root/.cache/huggingface",)  # lists replace
    assert qwen.env == {"HUGGING_FACE_HUB_TOKEN": "$HF_TOKEN", "VLLM_LOGGING_LEVEL": "DEBUG"}
    assert long.model == qwen.model and long.max_model_len == 131072 and long.env == qwen.env
    assert long.ulimits == {"memlock": "-1", "stack": "67108864", "nofile": "65536"}  # tables merge
    assert plan(long, HOST).command[-3:] == ["--max-model-len", "131072", "--enable-prefix-caching"]
    assert thor == BUILTIN_PRESETS["vllm-thor"] and catalog["vllm-thor"] is thor  # built-in untouched


def test_a_table_named_like_a_builtin_changes_it_and_no_base_starts_from_defaults() -> None:
    text = """
[presets.vllm-thor]
image = "nvcr.io/nvidia/vllm:26.02-py3"
quantization = ""

[presets.bare]
image = "vllm/vllm-openai:latest"
model = "m"
speculative_config = { method = "ngram", num_speculative_tokens = 4 }
"""
    catalog = _presets(text)
    assert catalog["vllm-thor"].image == "nvcr.io/nvidia/vllm:26.02-py3"
    assert catalog["vllm-thor"].model == "openai/gpt-oss-120b" and catalog["vllm-thor"].quantization is None
    bare = catalog["bare"]
    assert (bare.kind, bare.runtime, bare.network, bare.secret_env) == ("vllm", None, "host", ("HF_TOKEN",))
    assert bare.speculative_config == '{"method":"ngram","num_speculative_tokens":4}'
    assert "--speculative-config" in plan(bare, HOST).command


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ('[presets.a]\nbase = "vllm-thor"\n\n# note\nmodle = "x"\n', 5, "presets.a.modle", "unknown key"),
        ('[presets.a]\nport = "8000"\n', 2, "presets.a.port", "expected an integer"),
        ("[presets.a]\nport = 70000\n", 2, "presets.a.port", "between 1 and 65535"),
        ("[presets.a]\ngpu_memory_utilization = true\n", 2, "presets.a.gpu_memory_utilization", "expected a number"),
        ("[presets.a]\ngpu_memory_utilization = 1.5\n", 2, "presets.a.gpu_memory_utilization", "at most 1"),
        ("[presets.a]\nmax_model_len = 4096.5\n", 2, "presets.a.max_model_len", "expected an integer"),
        ('[presets.a]\nkind = "ollama"\n', 2, "presets.a.kind", "vllm, sglang, openwebui, custom"),
        ("[presets.a]\nextra_args = [1, 2]\n", 2, "presets.a.extra_args", "list of strings"),
        ('[presets.a]\nvolumes = ["relative/dir:/data"]\n', 2, "presets.a.volumes", "absolute path"),
        ('[presets.a]\nvolumes = ["/x:data"]\n', 2, "presets.a.volumes", "container path must be absolute"),
        ('[presets.a]\nvolumes = ["/x:/y:rx"]\n', 2, "presets.a.volumes", "ro or rw"),
        ('[presets.a]\nshm_size = "lots"\n', 2, "presets.a.shm_size", "not a valid size"),
        ('[presets.a]\nrestart = "sometimes"\n', 2, "presets.a.restart", "restart policy"),
        ('[presets.a]\ncontainer_name = "-x"\n', 2, "presets.a.container_name", "container name"),
        ('[presets.a]\nspeculative_config = "{method: x}"\n', 2, "presets.a.speculative_config", "not valid JSON"),
        ('[presets.a]\nspeculative_config = "[1]"\n', 2, "presets.a.speculative_config", "JSON object"),
        ('[presets.a]\nsecret_env = ["HF-TOKEN"]\n', 2, "presets.a.secret_env", "environment variable name"),
        ('[presets.a]\nbase = "vllm-mars"\n', 2, "presets.a.base", "unknown preset 'vllm-mars'"),
        ("[presets.a]\nbase = 3\n", 2, "presets.a.base", "expected a preset name"),
        ('[presets.a]\nbase = "b"\n[presets.b]\nbase = "a"\n', 4, "presets.b.base", "circle: a -> b -> a"),
        (
            '[presets.a]\nmodel = "m"\n\n[presets.a.env]\nX = "1"\nHF_TOKEN = "hf_abc"\n',
            6,
            "presets.a.env.HF_TOKEN",
            "must not be stored",
        ),
        ("[presets.a]\nenv.PORTX = 5\n", 2, "presets.a.env.PORTX", "quote numbers"),
        ('[presets.a]\nenv = { A = "$1x" }\n', 2, "presets.a.env.A", "host variable reference"),
        ('[presets.a]\nenv = "A=1"\n', 2, "presets.a.env", "table"),
        (
            '[presets.a]\n[presets.a.ulimits]\nmemlock = "-1"\nfiles = "5"\n',
            4,
            "presets.a.ulimits.files",
            "unknown ulimit",
        ),
        ('[presets.a]\nulimits = { stack = "big" }\n', 2, "presets.a.ulimits.stack", "soft:hard"),
        ('[presets.a]\nbase = "vllm-thor"\ncommand = ["bash"]\n', 3, "presets.a.command", 'kind "custom"'),
        ('[presets.a]\nbase = "sglang-orin"\nspeculative_config = "{}"\n', 3, "presets.a.speculative_config", "SGLang"),
        ('[presets.a]\nimage = "my image"\n', 2, "presets.a.image", "image reference"),
        ('[presets]\n# one line\na = { port = "p" }\n', 3, "presets.a.port", "expected an integer"),
        ("[presets]\nx = 1\n", 2, "presets.x", "must be a table"),
    ],
)
def test_bad_presets_name_file_line_and_key(tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError) as err:
        _presets(text, path)
    e = err.value
    assert (e.path, e.line, e.key) == (path, line, key), str(e)
    assert words in str(e) and f"{path}:{line}:" in str(e)


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        # an unknown key, in a table of its own and in an inline table under [presets]
        (
            '[presets.a]\nmodel = "m"\nvolume = ["/a:/b"]\n',
            3,
            "presets.a.volume",
            "known in [presets.NAME]: base, kind",
        ),
        ('[presets]\nok = { port = 1 }\na = { modle = "x" }\n', 3, "presets.a.modle", "unknown key"),
        # a value out of range
        ("[presets.a]\nmax_model_len = 0\n", 2, "presets.a.max_model_len", "between 1 and 1073741824, got 0"),
        ("[presets.a]\ngpu_memory_utilization = 0\n", 2, "presets.a.gpu_memory_utilization", "above 0"),
        # the wrong type inside a nested table names the entry and its line
        ("[presets.a]\nmodel = 'm'\n[presets.a.env]\nA = 1\n", 4, "presets.a.env.A", "got int 1"),
        ("[presets.a.ulimits]\nnofile = 1.5\n", 2, "presets.a.ulimits.nofile", "got float 1.5"),
        ("[presets.a]\nsecret_env = [1]\n", 2, "presets.a.secret_env", "expected a list of strings, got list [1]"),
        ("[presets.a]\nkind = 3\n", 2, "presets.a.kind", "expected a string, got int 3"),
        # two problems: the one higher in the file is reported
        ('[presets.a]\nport = 0\nkind = "x"\n', 2, "presets.a.port", "between 1 and 65535"),
    ],
)
def test_more_bad_presets_name_file_line_and_key(tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError) as err:
        _presets(text, path)
    e = err.value
    assert (e.path, e.line, e.key) == (path, line, key), str(e)
    assert words in str(e) and f"{path}:{line}:" in str(e)


def test_all_presets_validates_the_configs_tables(tmp_path: Path) -> None:
    from console import config as cfg

    assert pr.all_presets(cfg.Config()) == BUILTIN_PRESETS
    path = tmp_path / "config.toml"
    text = '[general]\nrefresh_interval = 2.0\n\n[presets.a]\nbase = "vllm-thor"\nport = "x"\n'
    with pytest.raises(ConfigError) as err:
        pr.all_presets(cfg.parse(text, path))
    assert (err.value.path, err.value.line, err.value.key) == (path, 6, "presets.a.port")


def test_a_secret_set_for_one_launch_is_accepted_but_not_in_the_file() -> None:
    p = apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"env.HF_TOKEN": "hf_x", "env.A": "1"})
    assert p.env == {"HF_TOKEN": "hf_x", "A": "1"}
    with pytest.raises(ConfigError, match="must not be stored"):
        _presets('[presets.a]\nenv = { HF_TOKEN = "hf_x" }\n')


def test_a_cross_field_problem_from_the_base_points_at_the_header() -> None:
    # kind switched to sglang while the base carries a speculative config: no single key line to blame
    text = '[presets.s]\nbase = "spec"\nkind = "sglang"\n\n[presets.spec]\nspeculative_config = "{}"\n'
    with pytest.raises(ConfigError) as err:
        _presets(text)
    assert (err.value.line, err.value.key) == (1, "presets.s.speculative_config")


def test_presets_must_be_a_table() -> None:
    with pytest.raises(ConfigError) as err:
        parse_presets([], "presets = []\n", None)  # type: ignore[arg-type]
    assert (err.value.line, err.value.key) == (None, "presets")


# --- --set key=value ---------------------------------------------------------------------------


def test_overrides_convert_each_type() -> None:
    base = BUILTIN_PRESETS["vllm-thor"]
    p = apply_overrides(
        base,
        parse_set(
            [
                "port=8001",
                "gpu_memory_utilization=0.85",
                "max_model_len=16_384",
                "quantization=",
                "dtype=bfloat16",
                "extra_args=--max-num-seqs 4 --chat-template '/t/a b.jinja'",
                "volumes=/a:/b:ro, open-webui:/c",
                "secret_env=HF_TOKEN,NGC_API_KEY",
                "env.FOO=bar=baz",
                "ulimits.stack=-1",
                "container_name=vllm-2",
                "tiktoken_dir=/opt/tt",
                "runtime=",
                "shm_size=32g",
            ]
        ),
    )
    assert (p.port, p.gpu_memory_utilization, p.max_model_len, p.quantization, p.dtype) == (
        8001,
        0.85,
        16384,
        None,
        "bfloat16",
    )
    assert p.extra_args == ("--max-num-seqs", "4", "--chat-template", "/t/a b.jinja")
    assert p.volumes == ("/a:/b:ro", "open-webui:/c") and p.secret_env == ("HF_TOKEN", "NGC_API_KEY")
    assert p.env == {"FOO": "bar=baz"} and p.ulimits == {"memlock": "-1", "stack": "-1"}
    assert (p.container_name, p.tiktoken_dir, p.runtime, p.shm_size) == ("vllm-2", "/opt/tt", None, "32g")
    assert base == BUILTIN_PRESETS["vllm-thor"]  # frozen: the original is unchanged
    assert apply_overrides(base, {}) == base


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"prot": "8000"}, "--set prot: unknown setting"),
        ({"port": "eighty"}, "--set port: expected an integer, got 'eighty'"),
        ({"port": "0"}, "--set port: must be between 1 and 65535"),
        ({"gpu_memory_utilization": "90%"}, "--set gpu_memory_utilization: expected a number"),
        ({"gpu_memory_utilization": "0"}, "above 0"),
        ({"speculative_config": "{bad"}, "--set speculative_config: not valid JSON"),
        ({"name": "x"}, "--set name: cannot be changed"),
        ({"base": "x"}, "--set base: cannot be changed"),
        ({"env": "A=1"}, "--set env: set one entry at a time"),
        ({"env.1A": "x"}, "--set env.1A: not an environment variable name"),
        ({"ulimits.cores": "1"}, "--set ulimits.cores: unknown ulimit"),
        ({"extra_args": "--chat-template 'unclosed"}, "--set extra_args: cannot split"),
        ({"command": "bash"}, "--set command: command is for kind"),
        ({"kind": "tgi"}, "--set kind: expected one of"),
        ({"volumes": "data"}, "--set volumes: expected"),
    ],
)
def test_override_errors_name_the_setting(settings: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError) as err:
        apply_overrides(BUILTIN_PRESETS["vllm-thor"], settings)
    assert words in str(err.value)


def test_parse_set_needs_key_value() -> None:
    assert parse_set(["a=1", "b=", "c=x=y"]) == {"a": "1", "b": "", "c": "x=y"}
    with pytest.raises(ValueError, match="key=value"):
        parse_set(["port"])
    with pytest.raises(ValueError, match="key=value"):
        parse_set(["=1"])


# --- secrets module --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("HF_TOKEN", True),
        ("HUGGING_FACE_HUB_TOKEN", True),
        ("OPENAI_API_KEY", True),
        ("NGC_API_KEY", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("AWS_SESSION_TOKEN", True),
        ("WEBUI_SECRET_KEY", True),
        ("DB_PASSWORD", True),
        ("PASSWORD_FILE_X", True),
        ("POSTGRES_PASSWD", True),
        ("CLIENT_SECRET", True),
        ("github_token", True),
        ("VLLM_API_KEY", True),
        ("SSH_PRIVATE_KEY", True),
        ("GOOGLE_CREDENTIALS", True),
        ("HF_HOME", False),
        ("MAX_TOKENS", False),
        ("TOKENIZERS_PARALLELISM", False),
        ("PATH", False),
        ("TIKTOKEN_ENCODINGS_BASE", False),
        ("OPENAI_API_BASE_URL", False),
        ("HF_HUB_DISABLE_IMPLICIT_TOKEN", False),
        ("", False),
    ],
)
def test_is_secret(name: str, secret: bool) -> None:
    assert is_secret(name) is secret


def test_mask_env_keeps_shape_and_no_characters_of_the_value() -> None:
    env = {"HF_TOKEN": FAKE_TOKEN, "HF_HOME": "/root/.cache/huggingface", "OPENAI_API_KEY": "", "X": "y"}
    assert mask_env(env) == {"HF_TOKEN": MASK, "HF_HOME": "/root/.cache/huggingface", "OPENAI_API_KEY": "", "X": "y"}
    assert mask_env(env, names=["X"])["X"] == MASK
    assert env["HF_TOKEN"] == FAKE_TOKEN  # a copy
    listed = ["HF_TOKEN=" + FAKE_TOKEN, "PATH=/usr/bin", "DB_PASSWORD=a=b", "HF_TOKEN", "EMPTY_TOKEN="]
    assert mask_env(listed) == [f"HF_TOKEN={MASK}", "PATH=/usr/bin", f"DB_PASSWORD={MASK}", "HF_TOKEN", "EMPTY_TOKEN="]
    assert MASK == "••••" and not any(c in MASK for c in FAKE_TOKEN)


def test_mask_text() -> None:
    assert (
        mask_text(f"curl -H 'Authorization: Bearer {FAKE_TOKEN}' x", [FAKE_TOKEN])
        == f"curl -H 'Authorization: Bearer {MASK}' x"
    )
    assert mask_text("a abcd abcdef", ["abcd", "abcdef"]) == f"a {MASK} {MASK}"  # longest first, whole
    assert mask_text("value 1 and ab", ["1", "ab", ""]) == "value 1 and ab"  # too short to search for
    assert mask_text("x.y+z x.y+z", ["x.y+z"]) == f"{MASK} {MASK}"  # regex characters are literal
    assert mask_text("nothing", []) == "nothing"
    assert secret_values({"HF_TOKEN": "t0k3n", "HOME": "/h", "A_SECRET": ""}, ["HOME"]) == ["t0k3n", "/h"]


def test_set_takes_a_toml_list_as_config_toml_writes_it() -> None:
    """``--set extra_args='["--chat-template", "a b.jinja"]'`` was split into words, brackets and quotes kept."""
    preset = apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"extra_args": '["--chat-template", "a b.jinja"]'})
    assert preset.extra_args == ("--chat-template", "a b.jinja")
    assert apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"extra_args": "--x 'a b'"}).extra_args == ("--x", "a b")
    with pytest.raises(ValueError, match=r"--set extra_args: .*list"):
        apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"extra_args": '["--x", 3]'})
    with pytest.raises(ValueError, match=r"--set extra_args: not a list"):
        apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"extra_args": '["--x"'})
