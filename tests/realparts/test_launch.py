"""`jetconsole launch` against a private dockerd: preflight, Ready via /health, diagnosis on exit.

The server here is busybox (sh + httpd) printing vLLM's real startup lines: the log and
/health travel through the real daemon; the real vLLM server is in test_vllm_container.
"""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from console import config as cfg
from console.containers import command as commands
from console.containers.docker_source import DockerSource
from tests.realparts.private_dockerd import BUSYBOX_IMAGE
from tests.realparts.vllm_server import free_port

STARTUP = [
    "(APIServer pid=1) INFO 11-23 04:00:00 [api_utils.py:347] version 0.32.0",
    "(APIServer pid=1) INFO 11-23 04:00:01 [model.py:733] Resolved architecture: LlamaForCausalLM",
    "(Worker pid=2) INFO 11-23 04:00:02 [gpu_model_runner.py:5040] Starting to load model /m...",
    "Loading safetensors checkpoint shards: 100% Completed | 1/1 [00:00<00:00, 250.71it/s]",
    "(EngineCore pid=3) INFO 11-23 04:00:03 [kv_cache_utils.py:2327] GPU KV cache size: 4,096 tokens, "
    "Maximum concurrency for 1,024 tokens per request: 4.00x",
    "(APIServer pid=1) INFO 11-23 04:00:04 [entry.py:140] Starting vLLM server on http://127.0.0.1:PORT",
    "INFO:     Application startup complete.",
]
FAILING = [
    "(APIServer pid=1) INFO 11-23 04:00:00 [api_utils.py:347] version 0.32.0",
    "(EngineCore pid=3) ERROR 11-23 04:00:05 [core.py:1510] EngineCore failed to start.",
    "(EngineCore pid=3) ERROR 11-23 04:00:05 [core.py:1510] ValueError: Free memory on device cuda:0 "
    "(14.45/122.82 GiB) on startup is less than desired GPU memory utilization (0.7, 85.98 GiB).",
    "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}",
]


def config_with(dockerd, tmp_path: Path, script: str, port: int, runtime: str = "") -> cfg.Config:
    toml = (
        f'[endpoints]\ndocker_host = "{dockerd.url}"\n\n[presets.fake]\nbase = "custom"\n'
        f'image = "{BUSYBOX_IMAGE}"\nport = {port}\nruntime = "{runtime}"\ncontainer_name = "fake-server"\n'
        f"command = {_toml_list(['sh', '-c', script])}\n"
    )
    path = tmp_path / "config.toml"
    path.write_text(toml)
    return cfg.load(str(path))


def _toml_list(items: list[str]) -> str:
    import json

    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def echo_lines(lines: list[str], port: int) -> str:
    return "; ".join(f"echo '{line.replace('PORT', str(port))}'; sleep 0.2" for line in lines)


@pytest.fixture
def cleanup(dockerd):
    yield
    src = DockerSource(dockerd.url)
    src.open()
    for c in src.api.containers(all=True):
        src.api.remove_container(c["Id"], force=True)
    src.close()


def test_launch_follows_to_ready_only_when_health_answers(dockerd, tmp_path, cleanup) -> None:
    port = free_port()
    script = (
        echo_lines(STARTUP, port) + f"; mkdir -p /www; sleep 1; echo ok > /www/health; "
        f"httpd -f -p 127.0.0.1:{port} -h /www"
    )
    config = config_with(dockerd, tmp_path, script, port)
    out, err = io.StringIO(), io.StringIO()
    code = commands.launch(config, "fake", [], dry_run=False, timeout=60, out=out, err=err)
    text = out.getvalue()
    assert code == 0, text + err.getvalue()
    assert "preflight   ok  image" in text and f"port {port} is free" in text
    for title in (
        "Resolving model",
        "Loading weights",
        "Sizing KV cache",
        "Starting API server",
        "Waiting for /health",
    ):
        assert title in text
    assert "Ready: ready in" in text
    assert text.index("Waiting for /health") < text.index("Ready:")


def test_launch_explains_why_the_server_died(dockerd, tmp_path, cleanup) -> None:
    port = free_port()
    config = config_with(dockerd, tmp_path, echo_lines(FAILING, port) + "; exit 1", port)
    out, err = io.StringIO(), io.StringIO()
    code = commands.launch(config, "fake", [], dry_run=False, timeout=60, out=out, err=err)
    assert code == commands.EXIT_EXITED, out.getvalue() + err.getvalue()
    report = err.getvalue()
    assert "cause:" in report and "Free memory on device" in report  # the root cause, not the wrapper
    assert "--set gpu_memory_utilization=0.09" in report


def test_preflight_stops_a_launch_that_cannot_work(dockerd, tmp_path, cleanup) -> None:
    port = free_port()
    config = config_with(dockerd, tmp_path, "sleep 1", port, runtime="nvidia")
    out, err = io.StringIO(), io.StringIO()
    with socket.socket() as busy:  # the port is taken too
        busy.bind(("0.0.0.0", port))
        busy.listen()
        code = commands.launch(config, "fake", ["image=local/absent:1"], dry_run=False, timeout=30, out=out, err=err)
    text = out.getvalue()
    assert code == commands.EXIT_PREFLIGHT, text + err.getvalue()
    assert "local/absent:1 is not on this machine" in text and "docker pull local/absent:1" in text
    assert f"port {port} is already in use" in text
    assert "no 'nvidia' runtime" in text and "nvidia-ctk runtime configure" in text
    assert "nothing was started" in err.getvalue()
    src = DockerSource(dockerd.url)
    src.open()
    assert src.containers() == ()  # nothing created
    src.close()


def test_containers_command_lists(dockerd, tmp_path, cleanup) -> None:
    src = DockerSource(dockerd.url)
    src.open()
    cid = src.api.create_container(
        BUSYBOX_IMAGE, ["sleep", "60"], name="jc-listed", host_config=src.api.create_host_config(network_mode="none")
    )["Id"]
    src.api.start(cid)
    src.close()
    config = cfg.Config(docker_host=dockerd.url)
    out = io.StringIO()
    assert commands.containers(config, as_json=False, out=out) == 0
    assert "jc-listed" in out.getvalue() and "running" in out.getvalue()
    out = io.StringIO()
    assert commands.containers(config, as_json=True, out=out) == 0 and '"name": "jc-listed"' in out.getvalue()
    assert (
        commands.containers(
            cfg.Config(docker_host=f"unix://{tmp_path}/no.sock"), False, out=io.StringIO(), err=io.StringIO()
        )
        == commands.EXIT_DOCKER
    )
