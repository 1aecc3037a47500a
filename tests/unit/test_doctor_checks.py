"""Doctor checks on files the tests write, and the command's output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.doctor.check import FAIL, OK, SKIP, WARN, Check, Probe, exit_code
from console.doctor.checks import (
    check_daemon_json,
    check_disk,
    check_stack,
    check_tiktoken,
    jetpack_for,
    parse_tegra_release,
)

ROOT = Path(__file__).resolve().parents[2]


def probe(tmp_path: Path, **kw) -> Probe:
    gpu = tmp_path / "nvidia0"
    gpu.touch()
    return Probe(
        daemon_json=tmp_path / "daemon.json",
        tegra_release=tmp_path / "nv_tegra_release",
        cuda_version=tmp_path / "version.json",
        gpu_markers=(gpu,),
        env={"HOME": str(tmp_path)},
        **kw,
    )


def test_exit_codes() -> None:
    assert exit_code([Check("a", "A", OK), Check("b", "B", SKIP)]) == 0
    assert exit_code([Check("a", "A", OK), Check("b", "B", WARN)]) == 1
    assert exit_code([Check("a", "A", WARN), Check("b", "B", FAIL)]) == 2


def test_daemon_json_missing_default_fails_with_the_fix(tmp_path: Path) -> None:
    p = probe(tmp_path, docker_info={"DefaultRuntime": "runc"})
    p.daemon_json.write_text('{"runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}}')
    c = check_daemon_json(p)
    assert c.status == FAIL and "--fix daemon-json" in c.fix
    assert f'{p.daemon_json}: "default-runtime" is unset (runc), not "nvidia"' in c.evidence
    assert "docker info: default runtime runc" in c.evidence
    p.daemon_json.write_text('{"runtimes": {"nvidia": {"path": "x"}}, "default-runtime": "nvidia"}')
    assert check_daemon_json(p).status == OK


def test_daemon_json_malformed_names_the_place_and_no_gpu_skips(tmp_path: Path) -> None:
    p = probe(tmp_path)
    p.daemon_json.write_text('{"a": 1,\n}')
    c = check_daemon_json(p)
    assert c.status == FAIL and c.evidence[0].startswith(f"{p.daemon_json}:2:1: not valid JSON")
    p.gpu_markers = (tmp_path / "absent",)
    assert check_daemon_json(p).status == SKIP


def test_stack_reads_l4t_jetpack_and_cuda(tmp_path: Path) -> None:
    p = probe(tmp_path)
    p.tegra_release.write_text("# R38 (release), REVISION: 2.0, GCID: 1, BOARD: generic, EABI: aarch64, DATE: x\n")
    p.cuda_version.write_text(json.dumps({"cuda": {"name": "CUDA SDK", "version": "13.0.48"}}))
    c = check_stack(p)
    assert c.evidence[:2] == ("L4T 38.2.0 (JetPack 7.0)", f"CUDA 13.0.48 ({p.cuda_version})")
    assert parse_tegra_release("# R36 (release), REVISION: 4.7, GCID") == "36.4.7"
    assert (jetpack_for("36.4.7"), jetpack_for("39.2.0"), jetpack_for("30.1")) == ("6.1/6.2", "7.2", None)


def test_tiktoken(tmp_path: Path) -> None:
    p = probe(tmp_path)
    assert check_tiktoken(p).status == SKIP
    p.env["TIKTOKEN_ENCODINGS_BASE"] = str(tmp_path)
    (tmp_path / "o200k_base.tiktoken").write_text("x")
    c = check_tiktoken(p)
    assert c.status == FAIL and "missing: cl100k_base.tiktoken" in c.evidence
    (tmp_path / "cl100k_base.tiktoken").write_text("x")
    assert check_tiktoken(p).status == OK


def test_disk_thresholds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from console.doctor import checks

    p = probe(tmp_path, docker_info={"DockerRootDir": str(tmp_path / "docker")})
    free = {"value": 200.0}
    monkeypatch.setattr(checks.shutil, "disk_usage", lambda _path: type("U", (), {"free": free["value"] * checks.GIB}))
    assert check_disk(p).status == OK
    free["value"] = 20.0
    assert check_disk(p).status == WARN
    free["value"] = 5.0
    c = check_disk(p)
    assert c.status == FAIL and "docker image prune" in c.fix
    assert any(line.startswith(f"Docker data root {tmp_path / 'docker'}: 5.0 GiB free") for line in c.evidence)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "--config", "/dev/null", "doctor", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=60,
    )


def test_doctor_json_without_docker_fails_with_exit_2(tmp_path: Path) -> None:
    done = run_cli("--json", env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    out = json.loads(done.stdout)
    assert done.returncode == 2 == out["exit_code"]
    docker = out["checks"][0]
    assert (docker["id"], docker["status"]) == ("docker", "fail") and "no Docker socket" in docker["evidence"][0]
    assert [c["id"] for c in out["checks"]] == ["docker", "daemon-json", "stack", "tiktoken", "disk", "memory", "power"]


def test_fix_refuses_a_malformed_file_and_dry_run_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "daemon.json"
    target.write_text("{oops")
    done = run_cli("--fix", "daemon-json", "--daemon-json", str(target), env={})
    assert done.returncode == 2 and f"refused: {target}:1:2" in done.stderr and target.read_text() == "{oops"
    target.write_text('{"log-level": "info"}\n')
    done = run_cli("--fix", "daemon-json", "--dry-run", "--daemon-json", str(target), env={})
    assert done.returncode == 1 and '+    "default-runtime": "nvidia"' in done.stdout and "plan: back up" in done.stdout
    assert target.read_text() == '{"log-level": "info"}\n' and sorted(p.name for p in tmp_path.iterdir()) == [
        "daemon.json"
    ]


def test_gpu_reading_sums_devices_and_processes() -> None:
    from console.doctor.memory import GIB, gpu_from_reading

    reading = {
        "devices": [
            {"memory": {"used": 2 * GIB, "total": 80 * GIB}, "processes": [{"pid": 10, "used": 2 * GIB}]},
            {
                "memory": {"used": GIB, "total": 80 * GIB},
                "processes": [{"pid": 10, "used": GIB}, {"pid": 11, "used": None}],
            },
        ]
    }
    gpu = gpu_from_reading(reading)
    assert gpu is not None and (gpu.used, gpu.total) == (3 * GIB, 160 * GIB)
    assert gpu.processes == {10: 3 * GIB, 11: 0}
    assert gpu_from_reading({"devices": [{"memory": None, "processes": []}]}) is None  # unified (GB10)


def test_memory_held_counts_the_gpu_where_nvml_reports_it() -> None:
    from console.doctor.memory import GIB, GpuMemory, MemoryFigures
    from console.doctor.recovery import freed, held

    idle = MemoryFigures(64 * GIB, 60 * GIB, None, GpuMemory(0, 80 * GIB))
    stuck = MemoryFigures(64 * GIB, 60 * GIB, None, GpuMemory(40 * GIB, 80 * GIB))
    assert not held(idle, 6) and held(stuck, 6)
    assert held(MemoryFigures(64 * GIB, 50 * GIB, None), 6)  # 14 GiB used, no GPU reading
    assert freed(stuck, idle) == "+0.00 GiB freed, GPU +40.00 GiB freed"
    assert "GPU 40.00 GiB of 80.0 GiB (NVML)" in stuck.line()


def test_memory_figures_give_the_engine_the_answer_fit_and_preflight_give() -> None:
    """The doctor's "free for an engine" is ``fit.device.engine_memory``: the discrete GPU's own memory where
    NVML reports one, else the system RAM (Jetson, Spark)."""
    from console.doctor.memory import GIB, GpuMemory, MemoryFigures

    discrete = MemoryFigures(256 * GIB, 240 * GIB, None, GpuMemory(30 * GIB, 80 * GIB))
    assert discrete.engine is not None and not discrete.engine.unified
    assert (discrete.engine.total, discrete.engine.available) == (80 * GIB, 50 * GIB)
    assert discrete.line().endswith("; 50.0 GiB free for an engine (GPU 0)")
    unified = MemoryFigures(64 * GIB, 20 * GIB, 30 * GIB, shared=30 * GIB)
    assert unified.engine is not None and unified.engine.unified
    assert (unified.engine.total, unified.engine.available) == (64 * GIB, 20 * GIB)


def test_driver_cuda_from_one_nvml_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    from console.doctor.checks import driver_cuda
    from console.telemetry import nvml_source
    from console.telemetry.source import SourceUnavailable

    monkeypatch.setattr(nvml_source, "read_once", lambda: {"driver": "580.95", "cuda": "13.0", "devices": []})
    assert driver_cuda() == "13.0"

    def no_driver() -> dict:
        raise SourceUnavailable("NVML unavailable")

    monkeypatch.setattr(nvml_source, "read_once", no_driver)
    assert driver_cuda() is None


def test_jtop_shared_gpu_memory_in_the_line_and_the_freed_figure() -> None:
    from console.doctor.memory import GIB, MemoryFigures
    from console.doctor.recovery import freed

    before = MemoryFigures(64 * GIB, 20 * GIB, 30 * GIB, shared=30 * GIB)
    after = MemoryFigures(64 * GIB, 58 * GIB, 2 * GIB, shared=2 * GIB)
    assert before.line() == (
        "used 44.00 GiB of 64.0 GiB (MemTotal - MemAvailable), NvMap 30.0 GiB, GPU shared 30.00 GiB (jtop); "
        "20.0 GiB free for an engine (system RAM)"
    )
    assert freed(before, after) == "+38.00 GiB freed, GPU shared +28.00 GiB freed"
    assert "GPU shared" not in MemoryFigures(64 * GIB, 20 * GIB, None).line()  # no jtop service: not shown
