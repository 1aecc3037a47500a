"""The one answer to "how much memory can the engine budget on this device?" (``engine_memory``).

On a unified-memory device (Jetson, DGX Spark's GB10: ``Gpu.unified``), or with no GPU at all, it is
the system RAM, which the GPU shares; on a discrete GPU it is that GPU's own memory (GPU 0, as vLLM
sizes its first device).  The launch preflight, ``jetconsole fit``, the Fit screen and the doctor all
ask ``engine_memory`` of a telemetry snapshot: the runtime's merged one where a runtime runs, else the
one-shot reading ``device_memory`` takes.  ``$JETCONSOLE_MEMINFO`` (or a path) reads a meminfo file
instead of the device.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from console.fit.model import FitError
from console.telemetry.model import Gpu, TelemetrySnapshot
from console.telemetry.procfs import memory_from_meminfo, parse_meminfo

MEMINFO_ENV = "JETCONSOLE_MEMINFO"  # a meminfo file to read instead of the device (tests, what-ifs)
SYSTEM_RAM = "system RAM, which the GPU shares on Jetson and DGX Spark"


@dataclass(frozen=True)
class DeviceMemory:
    total: int
    available: int
    source: str  # in words, for the output
    unified: bool  # system RAM shared with the GPU (or no GPU at all)


def _gpu_source(gpu: Gpu, count: int, sources: tuple[str, ...]) -> str:
    index, _, name = gpu.name.partition(": ")  # NVML names its GPUs "0: NVIDIA H100 …"
    if not index.isdigit():
        index, name = "0", gpu.name
    of = f" of {count}" if count > 1 else ""
    where = ", from NVML" if "nvml" in sources else ""
    return f"GPU {index}{of} ({name}){where}"


def engine_memory(snapshot: TelemetrySnapshot | None) -> DeviceMemory | None:
    """The memory the engine budgets on the device ``snapshot`` describes; None where it cannot tell.

    A discrete GPU (not ``unified``, its memory known): that GPU's total and what it has free
    (``total - used``; NVML's used keeps the driver's reserved memory out, so this is at most a few
    hundred MiB above what the engine will find).  Otherwise the system RAM and what is available of it.
    """
    if snapshot is None:
        return None
    discrete = [g for g in snapshot.gpus if not g.unified and g.mem_total]
    if discrete:
        gpu = discrete[0]
        total = gpu.mem_total or 0
        free = max(0, total - (gpu.mem_used or 0))
        return DeviceMemory(total, free, _gpu_source(gpu, len(discrete), snapshot.sources), unified=False)
    mem = snapshot.memory
    if mem is None or not mem.total:
        return None
    available = mem.available if mem.available is not None else max(0, mem.total - mem.used)
    return DeviceMemory(mem.total, available, SYSTEM_RAM, unified=True)


def _nvml_snapshot() -> TelemetrySnapshot | None:
    """One NVML reading as a snapshot; None without NVML (no driver, no GPU)."""
    from console.telemetry.nvml_source import read_once, snapshot_from_nvml  # deferred: nothing to load without a GPU
    from console.telemetry.source import SourceUnavailable

    try:
        return snapshot_from_nvml(read_once())
    except SourceUnavailable:
        return None


def _meminfo_snapshot(path: str | Path) -> TelemetrySnapshot:
    try:
        info = parse_meminfo(Path(path).read_text())
    except OSError as exc:
        raise FitError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not info.get("MemTotal"):
        raise FitError(f"{path} has no MemTotal")
    return TelemetrySnapshot(time=time.time(), sources=("procfs",), memory=memory_from_meminfo(info))


def _answer(snapshot: TelemetrySnapshot, path: str | Path) -> DeviceMemory:
    mem = engine_memory(snapshot)
    if mem is None:  # a meminfo with MemTotal always answers
        raise FitError(f"{path} has no MemTotal")
    return mem


def device_memory(meminfo: str | Path | None = None) -> DeviceMemory:
    """``engine_memory`` of a one-shot reading (for callers with no runtime): NVML's GPUs and /proc/meminfo.

    ``meminfo`` (or ``$JETCONSOLE_MEMINFO``) names a meminfo file to read instead, and skips NVML.
    """
    path = meminfo or os.environ.get(MEMINFO_ENV)
    if path:
        mem = _answer(_meminfo_snapshot(path), path)
        return replace(mem, source=f"{path}: {mem.source}")
    gpu = _nvml_snapshot()
    ram = _meminfo_snapshot("/proc/meminfo")
    snapshot = replace(ram, sources=(*gpu.sources, *ram.sources), gpus=gpu.gpus) if gpu is not None else ram
    mem = _answer(snapshot, "/proc/meminfo")
    return mem if not mem.unified else replace(mem, source=f"/proc/meminfo: {mem.source}")
