"""Discrete-GPU and DGX Spark telemetry from NVML (nvidia-ml-py).

``nvml_reading`` collects plain values, turning each unsupported or failing query into
``None``; ``snapshot_from_nvml`` maps them and is pure.  On unified-memory parts (GB10)
NVML answers NOT_SUPPORTED for memory: the GPU is then marked ``unified`` and its
memory is reported as unknown, never as zero; the Memory panel shows system RAM.
GPU names, the driver version and process names and users (command lines from /proc) are
cleaned in both: the mapping keeps nothing raw, and ``read_once``'s callers get clean text.

One NVML reader per process: while an ``NvmlSource`` is open (the runtime's telemetry), ``read_once``
reads through it instead of initialising NVML a second time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from console.runtime.sanitise import clean, clean_opt
from console.telemetry.model import Board, Gpu, GpuProcess, TelemetrySnapshot
from console.telemetry.source import SourceUnavailable


def snapshot_from_nvml(reading: dict[str, Any], now: float | None = None) -> TelemetrySnapshot:
    """Map an NVML reading (see ``nvml_reading``) to a partial snapshot."""
    gpus = []
    procs: list[GpuProcess] = []
    for dev in reading.get("devices", []):
        mem = dev.get("memory")
        power_mw = dev.get("power_mw")
        limit_mw = dev.get("power_limit_mw")
        gpus.append(
            Gpu(
                name=clean(f"{dev['index']}: {dev['name']}"),
                load=dev.get("util"),
                freq_mhz=dev.get("clock_mhz"),
                max_freq_mhz=dev.get("max_clock_mhz"),
                mem_used=mem["used"] if mem else None,
                mem_total=mem["total"] if mem else None,
                unified=dev.get("unified", mem is None),
                temp_c=dev.get("temp_c"),
                power_w=power_mw / 1000 if power_mw is not None else None,
                power_limit_w=limit_mw / 1000 if limit_mw is not None else None,
                fan_pct=dev.get("fan_pct"),
            )
        )
        seen: set[int] = set()
        for proc in dev.get("processes", []):
            if proc["pid"] in seen:  # compute and graphics lists overlap
                continue
            seen.add(proc["pid"])
            procs.append(
                GpuProcess(
                    pid=proc["pid"],
                    name=clean(str(proc.get("name") or "?")),
                    gpu_mem=proc.get("used"),
                    user=_opt(proc.get("user")),
                    gpu=str(dev["index"]),
                )
            )
    return TelemetrySnapshot(
        time=now if now is not None else time.time(),
        sources=("nvml",),
        gpus=tuple(gpus),
        processes=tuple(sorted(procs, key=lambda p: -(p.gpu_mem or 0))),
        board=Board(driver=_opt(reading.get("driver")), cuda=_opt(reading.get("cuda"))),
    )


def _opt(value: Any) -> str | None:
    return None if value is None else clean(str(value))


def _not_supported(nv: Any, exc: Exception) -> bool:
    return getattr(exc, "value", None) == getattr(nv, "NVML_ERROR_NOT_SUPPORTED", 3)


def _proc_name(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\x00")
        if argv and argv[0]:
            return clean(" ".join(a.decode(errors="replace") for a in argv if a)[:200])
        with open(f"/proc/{pid}/comm", errors="replace") as f:
            return clean(f.read().strip())
    except OSError:
        return None


def _proc_user(pid: int) -> str | None:
    try:
        import pwd

        return clean(pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name)
    except (OSError, KeyError):
        return None


def nvml_reading(nv: Any) -> dict[str, Any]:
    """Query every device through the pynvml module ``nv``; failures become None."""

    def q(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except nv.NVMLError:
            return None

    def text(value: Any) -> str | None:
        return clean_opt(value.decode(errors="replace") if isinstance(value, bytes) else value)

    def memory(h: Any) -> tuple[dict[str, int] | None, bool]:
        """(used/total like nvidia-smi, and free, unified?).  v2 keeps driver-reserved memory out of
        "used" (an idle H100: 0 MiB, not 480) but not out of "free"; GB10 answers NOT_SUPPORTED:
        unified memory."""
        try:
            m = nv.nvmlDeviceGetMemoryInfo(h, version=nv.nvmlMemory_v2)
            return {"used": int(m.used), "total": int(m.total), "free": int(m.free)}, False
        except (AttributeError, TypeError):
            pass  # bindings without v2
        except nv.NVMLError as exc:
            if _not_supported(nv, exc):
                return None, True
            # other codes: old drivers reject v2; ask v1 below
        try:
            m = nv.nvmlDeviceGetMemoryInfo(h)
        except nv.NVMLError as exc:
            return None, _not_supported(nv, exc)
        return {"used": int(m.used), "total": int(m.total), "free": int(m.free)}, False

    devices = []
    for index in range(nv.nvmlDeviceGetCount()):
        h = q(nv.nvmlDeviceGetHandleByIndex, index)
        if h is None:  # one lost GPU must not hide the others
            devices.append({"index": index, "name": "GPU (not answering)", "memory": None, "processes": []})
            continue
        util = q(nv.nvmlDeviceGetUtilizationRates, h)
        mem, unified = memory(h)
        processes = []
        for getter in (nv.nvmlDeviceGetComputeRunningProcesses, nv.nvmlDeviceGetGraphicsRunningProcesses):
            for p in q(getter, h) or []:
                used = p.usedGpuMemory
                processes.append(
                    {
                        "pid": p.pid,
                        "used": used if isinstance(used, int) and used < 2**63 else None,
                        "name": _proc_name(p.pid),
                        "user": _proc_user(p.pid),
                    }
                )
        devices.append(
            {
                "index": index,
                "name": text(q(nv.nvmlDeviceGetName, h)) or "NVIDIA GPU",
                "util": float(util.gpu) if util is not None else None,
                "clock_mhz": q(nv.nvmlDeviceGetClockInfo, h, nv.NVML_CLOCK_GRAPHICS),
                "max_clock_mhz": q(nv.nvmlDeviceGetMaxClockInfo, h, nv.NVML_CLOCK_GRAPHICS),
                "memory": mem,
                "unified": unified,
                "temp_c": q(nv.nvmlDeviceGetTemperature, h, nv.NVML_TEMPERATURE_GPU),
                "power_mw": q(nv.nvmlDeviceGetPowerUsage, h),
                "power_limit_mw": q(nv.nvmlDeviceGetEnforcedPowerLimit, h),
                "fan_pct": q(nv.nvmlDeviceGetFanSpeed, h),
                "processes": processes,
            }
        )
    cuda = q(nv.nvmlSystemGetCudaDriverVersion)
    return {
        "driver": text(q(nv.nvmlSystemGetDriverVersion)),
        "cuda": f"{cuda // 1000}.{cuda % 1000 // 10}" if cuda else None,
        "devices": devices,
    }


_live: list[NvmlSource] = []  # the open sources of this process, the runtime's first
_live_lock = threading.Lock()


class NvmlSource:
    """Reads NVML every poll; used where there is an NVIDIA driver and no jtop service."""

    name = "nvml"
    paced = False

    def __init__(self) -> None:
        self._nv: Any = None
        self._lock = threading.Lock()  # a reading through ``read_once`` never meets a shutdown

    def open(self) -> None:
        try:
            import pynvml as nv  # deferred: costs nothing on boxes without a GPU
        except ImportError as exc:
            raise SourceUnavailable("nvidia-ml-py is not installed", "pip install nvidia-ml-py") from exc
        try:
            nv.nvmlInit()
        except nv.NVMLError as exc:
            raise SourceUnavailable(
                f"NVML unavailable: {exc}",
                "no NVIDIA driver here (libnvidia-ml.so.1); install the driver or run on the GPU host",
            ) from exc
        try:
            count = nv.nvmlDeviceGetCount()
        except nv.NVMLError as exc:
            nv.nvmlShutdown()
            raise SourceUnavailable(f"NVML found no devices: {exc}") from exc
        if count == 0:
            nv.nvmlShutdown()
            raise SourceUnavailable("NVML reports no GPUs")
        self._nv = nv
        with _live_lock:
            _live.append(self)

    def sample(self) -> TelemetrySnapshot:
        return snapshot_from_nvml(self.reading())

    def reading(self) -> dict[str, Any]:
        """One ``nvml_reading`` through this open source."""
        with self._lock:
            if self._nv is None:
                raise SourceUnavailable("NVML source not open")
            return nvml_reading(self._nv)

    def close(self) -> None:
        with _live_lock:
            if self in _live:
                _live.remove(self)
        with self._lock:
            nv, self._nv = self._nv, None
        if nv is not None:
            try:
                nv.nvmlShutdown()
            except nv.NVMLError:
                pass


def read_once() -> dict[str, Any]:
    """One NVML reading (``nvml_reading``'s shape): through the runtime's open source where there is one,
    else opening and closing NVML around it.

    Raises SourceUnavailable where there is no driver or no GPU (the doctor's one-shot use).
    """
    with _live_lock:
        live = _live[0] if _live else None
    if live is not None:
        try:
            return live.reading()
        except SourceUnavailable:
            pass  # it closed meanwhile: a reading of our own
    src = NvmlSource()
    src.open()
    try:
        return src.reading()
    finally:
        src.close()
