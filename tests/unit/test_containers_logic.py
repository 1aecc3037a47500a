"""Pure container logic: error explanations, stats math, list rows, the GPU join."""

from __future__ import annotations

import pytest

from console.containers.docker_source import container_from_list, cpu_percent, explain, memory_used
from console.containers.model import ContainerInfo, ContainerStats
from console.containers.view import gpu_memory, is_inference, rows, short_status
from console.telemetry.model import GpuProcess


def test_explanations_say_what_to_do(tmp_path) -> None:
    sock = tmp_path / "docker.sock"
    sock.write_text("")
    denied = explain(PermissionError(13, "Permission denied"), f"unix://{sock}")
    assert "permission denied" in str(denied) and "usermod -aG docker" in denied.hint
    missing = explain(FileNotFoundError(), f"unix://{tmp_path}/none.sock")
    assert "no Docker socket" in str(missing) and "docker.io" in missing.hint
    refused = explain(ConnectionRefusedError("Connection refused"), f"unix://{sock}")
    assert "not answering" in str(refused) and "restart docker" in refused.hint


def test_cpu_and_memory_like_docker_stats() -> None:
    raw = {
        "cpu_stats": {"cpu_usage": {"total_usage": 3_000}, "system_cpu_usage": 20_000, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 1_000}, "system_cpu_usage": 10_000},
        "memory_stats": {"usage": 10_000, "limit": 100_000, "stats": {"inactive_file": 4_000}},
    }
    assert cpu_percent(raw) == 40.0  # 2000/10000 of the machine x 2 CPUs
    assert memory_used(raw) == (6_000, 100_000)
    assert cpu_percent({}) is None and memory_used({}) == (None, None)


def test_list_row_mapping_filter_sort() -> None:
    row = {
        "Id": "a" * 64,
        "Names": ["/vllm"],
        "Image": "nvcr.io/nvidia/vllm:25.09-py3",
        "State": "running",
        "Status": "Up 3 minutes (healthy)",
        "Created": 1.0,
        "Labels": {},
        "Ports": [{"PrivatePort": 8000, "PublicPort": 8000, "Type": "tcp", "IP": "0.0.0.0"}],
    }
    c = container_from_list(row, {"HostConfig": {"Runtime": "nvidia", "RestartPolicy": {"Name": "always"}}})
    assert (c.name, c.health, c.runtime, c.restart_policy, c.ports) == (
        "vllm",
        "healthy",
        "nvidia",
        "always",
        ("0.0.0.0:8000->8000/tcp",),
    )
    other = ContainerInfo(id="b" * 64, name="db", image="postgres:16", state="exited", status="Exited (0)")
    stats = {c.id: ContainerStats(c.id, 50.0, 2**30, 2**34)}
    assert [k for k, _ in rows((other, c), stats, sort="cpu")] == [c.id, other.id]
    assert [k for k, _ in rows((other, c), stats, needle="vllm healthy")] == [c.id]
    assert rows((c,), stats)[0][1][:4] == ["vllm", "running", "50%", "1.0 GiB"]
    assert is_inference(c) and not is_inference(other)


def test_gpu_memory_joined_on_host_pids() -> None:
    c = ContainerInfo(id="c", name="vllm", image="vllm", state="running", status="Up", pids=(10, 11))
    procs = (GpuProcess(10, "python", 2**30), GpuProcess(11, "worker", 2**31), GpuProcess(99, "other", 2**32))
    assert gpu_memory(c, procs) == 3 * 2**30
    assert gpu_memory(c, (GpuProcess(99, "other", 1),)) is None


@pytest.mark.parametrize(
    ("docker", "shown"),
    [
        ("Up Less than a second", "Up <1 second"),
        ("Up About a minute (healthy)", "Up ~1 minute"),
        ("Up About an hour (health: starting)", "Up ~1 hour"),
        ("Up 3 minutes (unhealthy)", "Up 3 minutes"),
        ("Up 3 minutes (Paused)", "Up 3 minutes (Paused)"),
        ("Exited (137) 2 hours ago", "Exited (137) 2 hours ago"),
    ],
)
def test_the_status_column_is_short_and_leaves_health_to_its_column(docker: str, shown: str) -> None:
    assert short_status(docker) == shown
