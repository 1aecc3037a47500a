"""The memory the engine will budget on this device: a discrete GPU's (NVML), else system RAM, which the GPU
shares on Jetson and DGX Spark.  ``$JETCONSOLE_MEMINFO`` (or a path) reads a meminfo file instead."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from console.fit.model import FitError
from console.telemetry.procfs import parse_meminfo

MEMINFO_ENV = "JETCONSOLE_MEMINFO"  # a meminfo file to read instead of the device (tests, what-ifs)


@dataclass(frozen=True)
class DeviceMemory:
    total: int
    available: int
    source: str  # in words, for the output
    unified: bool  # system RAM shared with the GPU (or no GPU at all)


def _nvml_memory() -> DeviceMemory | None:
    """GPU 0 of a discrete NVIDIA GPU; None without NVML or where memory is unified (NOT_SUPPORTED)."""
    from console.telemetry.nvml_source import read_once  # deferred: nothing to load on boxes without a GPU
    from console.telemetry.source import SourceUnavailable

    try:
        devices = read_once()["devices"]
    except SourceUnavailable:
        return None
    mem = devices[0].get("memory") if devices else None
    if mem is None:
        return None
    of = f" of {len(devices)}" if len(devices) > 1 else ""
    return DeviceMemory(mem["total"], mem["free"], f"GPU 0{of} ({devices[0]['name']}), from NVML", unified=False)


def device_memory(meminfo: str | Path | None = None) -> DeviceMemory:
    """The memory vLLM will budget: a discrete GPU's through NVML, else system RAM (unified on Jetson/Spark).

    ``meminfo`` (or ``$JETCONSOLE_MEMINFO``) names a meminfo file to read instead, and skips NVML.
    """
    path = meminfo or os.environ.get(MEMINFO_ENV)
    if not path:
        gpu = _nvml_memory()
        if gpu is not None:
            return gpu
        path = "/proc/meminfo"
    try:
        info = parse_meminfo(Path(path).read_text())
    except OSError as exc:
        raise FitError(f"cannot read {path}: {exc.strerror or exc}") from None
    total = info.get("MemTotal")
    if not total:
        raise FitError(f"{path} has no MemTotal")
    available = info.get("MemAvailable", info.get("MemFree", 0))
    return DeviceMemory(
        total, available, f"{path}: system RAM, which the GPU shares on Jetson and DGX Spark", unified=True
    )
