"""jetconsole's NVML telemetry against a real NVIDIA GPU (GPU-host tier, not part of CI).

Run on a machine with an NVIDIA driver and nvidia-ml-py::

    PYTHONPATH=. python -m pytest tests/gpu -v

Everywhere else every test here is skipped with the reason below.  The figures the tests
check are also read straight from pynvml (and nvidia-smi where it is installed), so a
mapping slip in ``console.telemetry.nvml_source`` shows as a mismatch, not as a pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.telemetry.model import Gpu, TelemetrySnapshot
from console.telemetry.nvml_source import NvmlSource
from console.telemetry.source import SourceUnavailable
from tests.gpu.holder import GIB, Unavailable, start_holder

NO_NVML = "no NVIDIA driver/NVML here; run on a GPU host"
REPO = Path(__file__).resolve().parents[2]
HOLD_GIB = 2.0
MIN_SEEN = int(1.5 * GIB)  # what the holder's pid must show at least
RELEASE_SLACK = 256 << 20  # mem_used after the kill may sit this far above the level before
SHOW_TIMEOUT_S = 15.0
RELEASE_TIMEOUT_S = 10.0


def _nvml_missing() -> str | None:
    source = NvmlSource()
    try:
        source.open()
    except SourceUnavailable as exc:
        return f"{NO_NVML} ({exc})"
    source.close()
    return None


_MISSING = _nvml_missing()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")


@pytest.fixture(scope="module")
def nvml() -> Iterator[NvmlSource]:
    source = NvmlSource()
    source.open()
    yield source
    source.close()


@pytest.fixture(scope="module")
def nv() -> Iterator[Any]:
    """pynvml itself, for independent readings."""
    import pynvml

    pynvml.nvmlInit()
    yield pynvml
    pynvml.nvmlShutdown()


def _gpu0(snap: TelemetrySnapshot) -> Gpu:
    assert snap.gpus, "NVML snapshot holds no GPU"
    return snap.gpus[0]


def _mem_used0(snap: TelemetrySnapshot) -> int:
    used = _gpu0(snap).mem_used
    if used is None:
        pytest.skip("GPU 0 reports no memory figure (unified memory): process memory test needs a discrete GPU")
    return used


def test_sample_reports_every_gpu(nvml: NvmlSource, nv: Any) -> None:
    snap = nvml.sample()
    assert snap.sources == ("nvml",)
    assert len(snap.gpus) >= 1
    assert len(snap.gpus) == nv.nvmlDeviceGetCount()
    for index, gpu in enumerate(snap.gpus):
        handle = nv.nvmlDeviceGetHandleByIndex(index)
        raw_name = nv.nvmlDeviceGetName(handle)
        raw_name = raw_name.decode() if isinstance(raw_name, bytes) else raw_name
        assert gpu.name == f"{index}: {raw_name}"
        assert raw_name.strip()
        assert gpu.load is not None and 0.0 <= gpu.load <= 100.0, gpu
        try:
            raw_mem = nv.nvmlDeviceGetMemoryInfo(handle)
        except nv.NVMLError_NotSupported:
            assert gpu.unified and gpu.mem_used is None and gpu.mem_total is None, gpu
        else:
            assert not gpu.unified, gpu
            assert gpu.mem_total == raw_mem.total > 0
            # used excludes driver-reserved memory, like nvidia-smi: an idle GPU reads 0
            assert gpu.mem_used is not None and 0 <= gpu.mem_used <= gpu.mem_total, gpu
            v2 = nv.nvmlDeviceGetMemoryInfo(handle, version=nv.nvmlMemory_v2)
            assert abs(gpu.mem_used - v2.used) <= 256 * 2**20, (gpu.mem_used, v2.used)
        assert gpu.temp_c is not None and 5 <= gpu.temp_c <= 105, gpu
        assert gpu.power_w is not None and 1 <= gpu.power_w <= 2000, gpu
        assert gpu.power_limit_w is not None and 50 <= gpu.power_limit_w <= 2000, gpu
        assert gpu.max_freq_mhz is not None and 100 <= gpu.max_freq_mhz <= 5000, gpu
        assert gpu.freq_mhz is not None and 0 < gpu.freq_mhz <= gpu.max_freq_mhz * 1.05, gpu
        assert gpu.fan_pct is None or 0 <= gpu.fan_pct <= 100, gpu  # SXM boards have no fan NVML reads
    assert snap.board is not None
    assert snap.board.driver and re.fullmatch(r"\d+\.\d+(\.\d+)*", snap.board.driver), snap.board
    assert snap.board.cuda and re.fullmatch(r"\d+\.\d+", snap.board.cuda), snap.board
    if shutil.which("nvidia-smi"):
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version,name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.splitlines()
        assert smi[0].split(",")[0].strip() == snap.board.driver
        assert [line.split(",", 1)[1].strip() for line in smi] == [g.name.split(": ", 1)[1] for g in snap.gpus]


@pytest.mark.parametrize("backend", ["torch", "cuda"])
def test_process_memory_shows_then_goes(nvml: NvmlSource, backend: str) -> None:
    before = _mem_used0(nvml.sample())
    try:
        child, used_backend = start_holder(HOLD_GIB, backend)
    except Unavailable as exc:
        pytest.skip(f"{backend} holder cannot run here: {exc}")
    assert used_backend == backend
    try:
        deadline = time.monotonic() + SHOW_TIMEOUT_S
        entry = None
        while time.monotonic() < deadline:
            snap = nvml.sample()
            entry = next((p for p in snap.processes if p.pid == child.pid), None)
            if entry is not None and (entry.gpu_mem or 0) >= MIN_SEEN:
                break
            time.sleep(0.25)
        assert entry is not None, f"pid {child.pid} never listed; processes: {snap.processes}"
        assert entry.gpu_mem is not None and entry.gpu_mem >= MIN_SEEN, entry
        assert entry.gpu == "0"
        assert entry.name and "holder.py" in entry.name, entry
        assert entry.user, entry
        assert _mem_used0(snap) >= before + MIN_SEEN, (before, _gpu0(snap))
    finally:
        child.kill()
        child.wait(timeout=30)
    deadline = time.monotonic() + RELEASE_TIMEOUT_S
    while True:
        snap = nvml.sample()
        gone = all(p.pid != child.pid for p in snap.processes)
        released = _mem_used0(snap) <= before + RELEASE_SLACK
        if (gone and released) or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert gone, f"pid {child.pid} still listed {RELEASE_TIMEOUT_S:.0f} s after the kill: {snap.processes}"
    assert released, f"mem_used {_gpu0(snap).mem_used} did not drop back to {before} (+{RELEASE_SLACK})"


def test_discover_auto_picks_nvml_and_procfs() -> None:
    from console.config import Config
    from console.telemetry import command as snapshot
    from console.telemetry.discovery import discover

    found = discover("auto")
    try:
        names = [s.name for s in found.sources]
        statuses = {s.name: s for s in found.report.statuses}
        assert names == ["nvml", "procfs"], found.report
        assert not statuses["jtop"].active
        assert statuses["nvml"].active and statuses["procfs"].active
    finally:
        _report, snap = snapshot.take(Config(), discover_fn=lambda: found)  # the runtime samples, merges, closes
    assert snap is not None
    assert snap.sources == ("nvml", "procfs")
    assert snap.gpus and snap.memory is not None and snap.cpu is not None
    assert snap.board is not None and snap.board.driver


def test_cli_snapshot_json() -> None:
    env = {k: v for k, v in os.environ.items() if k != "JETCONSOLE_CONFIG"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    out = subprocess.run(
        [sys.executable, "-m", "console", "--source", "auto", "snapshot", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    active = {s["name"] for s in doc["sources"] if s["active"]}
    assert {"nvml", "procfs"} <= active, doc["sources"]
    tel = doc["telemetry"]
    assert tel["sources"] == ["nvml", "procfs"]
    assert tel["gpus"] and tel["gpus"][0]["name"]
    gpu = tel["gpus"][0]
    assert gpu["unified"] or gpu["mem_total"] > 0
    assert tel["board"]["driver"]
