"""Stuck memory: who holds it, and ending exactly the holders that were listed.

On Jetson and DGX Spark the GPU shares system RAM, so memory "stuck" after a server stopped
shows as ``MemTotal - MemAvailable`` (and ``NvMapMemUsed`` on Orin) far above the baseline.
The usual holders are ``VLLM::EngineCore`` / ``VLLM::Worker`` processes whose API server is gone
(domain.md §5.5).  On a discrete GPU the memory is the GPU's own: NVML gives its use and the
processes holding it, and any GPU process outside a live server and outside a container is a
holder too.  A holder is identified by pid *and* start time, so a pid reused by another
process after listing is never signalled.  No Textual; reads ``/proc`` (a parameter for tests)
and NVML (``gpu_reading``; None where there is no driver).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.doctor.jtop_client import JTOP_SOCKET, PowerUnavailable, connect
from console.fit.device import DeviceMemory, engine_memory
from console.runtime.sanitise import clean
from console.runtime.secrets import mask_command
from console.telemetry.model import Gpu, Memory, TelemetrySnapshot
from console.telemetry.procfs import parse_meminfo

GIB = 1 << 30
HOLDER_PREFIXES = ("VLLM::EngineCore", "VLLM::Worker", "VLLM::EngineCore_")  # vLLM's setproctitle names
SERVER_MARKS = ("vllm serve", "vllm.entrypoints", "sglang.launch_server")


@dataclass(frozen=True)
class GpuMemory:
    """What NVML says about the discrete GPUs: memory used (like nvidia-smi) and per process."""

    used: int
    total: int
    processes: dict[int, int] = field(default_factory=dict)  # pid -> bytes; 0 where NVML gives no figure


def gpu_from_reading(reading: dict[str, Any]) -> GpuMemory | None:
    """Sum ``nvml_reading``'s devices; None where no device reports its own memory (unified: GB10)."""
    used = total = 0
    procs: dict[int, int] = {}
    for dev in reading.get("devices", []):
        mem = dev.get("memory")
        if mem:
            used, total = used + mem["used"], total + mem["total"]
        for p in dev.get("processes", []):
            procs[p["pid"]] = procs.get(p["pid"], 0) + (p.get("used") or 0)
    return GpuMemory(used, total, procs) if total or procs else None


def gpu_reading() -> GpuMemory | None:
    """One NVML reading; None where there is no NVIDIA driver (a Jetson, a plain box)."""
    from console.telemetry.nvml_source import read_once
    from console.telemetry.source import SourceUnavailable

    try:
        return gpu_from_reading(read_once())
    except SourceUnavailable:
        return None


SharedRead = Callable[[], "int | None"]


def jtop_shared(socket_path: str = JTOP_SOCKET) -> int | None:
    """jtop's shared CPU/GPU memory in bytes (its ``RAM.shared``: NvMapMemUsed, else the GPU processes'
    total from the nvmap table); None where there is no jtop service (not a Jetson) or it does not answer."""
    if not os.path.exists(socket_path):
        return None
    try:
        with connect(socket_path=socket_path) as j:
            ram = (dict(j.memory or {}).get("RAM")) or {}
    except (PowerUnavailable, Exception):  # noqa: BLE001 - evidence only: a jtop glitch must not fail the check
        return None
    shared = ram.get("shared")
    return int(shared) * 1024 if shared else None  # jtop reports kB


def no_shared() -> int | None:
    return None


@dataclass(frozen=True)
class MemoryFigures:
    total: int
    available: int
    nvmap: int | None  # NvMapMemUsed (Orin); None elsewhere
    gpu: GpuMemory | None = None  # discrete GPUs through NVML; None without a driver
    shared: int | None = None  # jtop's shared GPU memory (Jetson); None without the jtop service

    @property
    def used(self) -> int:
        return self.total - self.available

    @property
    def engine(self) -> DeviceMemory | None:
        """What an engine started now could budget: ``fit.device.engine_memory``, the answer the launch
        preflight and ``jetconsole fit`` give (a discrete GPU's own memory, else the system RAM)."""
        gpus = (Gpu("0: GPU", mem_used=self.gpu.used, mem_total=self.gpu.total),) if self.gpu and self.gpu.total else ()
        ram = Memory(self.total, self.used, self.available)
        return engine_memory(TelemetrySnapshot(0.0, ("nvml",) if gpus else (), memory=ram, gpus=gpus))

    def line(self) -> str:
        nvmap = f", NvMap {self.nvmap / GIB:.1f} GiB" if self.nvmap is not None else ""
        gpu = (
            f"; GPU {self.gpu.used / GIB:.2f} GiB of {self.gpu.total / GIB:.1f} GiB (NVML)"
            if self.gpu is not None and self.gpu.total
            else ""
        )
        shared = f", GPU shared {self.shared / GIB:.2f} GiB (jtop)" if self.shared is not None else ""
        engine = self.engine
        free = (
            f"; {engine.available / GIB:.1f} GiB free for an engine ({'system RAM' if engine.unified else 'GPU 0'})"
            if engine is not None
            else ""
        )
        return (
            f"used {self.used / GIB:.2f} GiB of {self.total / GIB:.1f} GiB (MemTotal - MemAvailable){nvmap}"
            f"{shared}{gpu}{free}"
        )


GpuRead = Callable[[], "GpuMemory | None"]


def figures(proc: Path = Path("/proc"), gpu: GpuRead = gpu_reading, shared: SharedRead = jtop_shared) -> MemoryFigures:
    """Memory now: /proc/meminfo, NVML's GPUs (``gpu``) and jtop's shared GPU memory (``shared``)."""
    info = parse_meminfo((proc / "meminfo").read_text())
    return MemoryFigures(
        info.get("MemTotal", 0), info.get("MemAvailable", 0), info.get("NvMapMemUsed"), gpu(), shared()
    )


@dataclass(frozen=True)
class Holder:
    """A process that holds memory and may be ended: ``start`` (clock ticks since boot) pins its identity."""

    pid: int
    start: int
    name: str
    rss: int
    ppid: int
    parent: str  # the parent's command line, "" when gone
    gpu: int = 0  # GPU memory NVML counts for it (bytes)
    kind: str = "orphan"  # "orphan": vLLM engine/worker with no server; "gpu": another process holding GPU memory

    def line(self) -> str:
        parent = f"parent {self.ppid} ({self.parent[:40]})" if self.parent else f"parent {self.ppid} gone/init"
        gpu = f"GPU {self.gpu / GIB:.2f} GiB (NVML), " if self.gpu else ""
        what = "no vLLM server above it" if self.kind == "orphan" else "a GPU process outside any container"
        return f"pid {self.pid} {self.name}: {gpu}RSS {self.rss / GIB:.2f} GiB, {parent}, {what}"


def _stat(proc: Path, pid: int) -> tuple[int, int] | None:
    """(ppid, start time) from /proc/PID/stat; None when the process is gone (a zombie counts as gone)."""
    try:
        fields = (proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else (int(fields[1]), int(fields[19]))


def _cmdline(proc: Path, pid: int) -> str:
    try:
        return (proc / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _rss(proc: Path, pid: int) -> int:
    try:
        for line in (proc / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def in_container(proc: Path, pid: int) -> bool:
    """Whether the process lives in a Docker/containerd/podman cgroup other than init's (stop its
    container instead).  Where jetconsole itself runs in a container, everything shares init's."""
    try:
        text = (proc / str(pid) / "cgroup").read_text()
        init = (proc / "1" / "cgroup").read_text()
    except OSError:
        return False
    return text != init and any(mark in text for mark in ("docker", "containerd", "libpod", "kubepods"))


def _served(proc: Path, ppid: int) -> tuple[str, bool]:
    """The parent's command line, and whether a live server is anywhere above: a ``VLLM::Worker``'s parent
    is its ``VLLM::EngineCore``, whose parent is the API server, so the parent alone does not tell."""
    parent = _cmdline(proc, ppid) if ppid > 1 else ""
    pid, seen = ppid, set[int]()
    while pid > 1 and pid not in seen and len(seen) < 64:
        seen.add(pid)
        if any(mark in _cmdline(proc, pid) for mark in SERVER_MARKS):
            return parent, True
        st = _stat(proc, pid)
        if st is None:
            break
        pid = st[0]
    return parent, False


def find_holders(
    proc: Path = Path("/proc"), include_served: bool = False, gpu: GpuMemory | None = None
) -> list[Holder]:
    """vLLM engine and worker processes with no vLLM server above them (their server died or was killed),
    and, with an NVML reading ``gpu``, every other process holding GPU memory that is neither under a live
    server nor in a container.  ``include_served`` lists engines under a live server too (not to be
    ended: stop the server).  GPU pids not visible in ``proc`` (another PID namespace) are left out:
    their identity cannot be pinned."""
    out = []
    gpu_pids = dict(gpu.processes) if gpu is not None else {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        cmd = _cmdline(proc, pid)
        vllm = cmd.startswith(HOLDER_PREFIXES)
        if not vllm and pid not in gpu_pids:
            continue
        st = _stat(proc, pid)
        if st is None or pid == os.getpid():
            continue
        ppid, start = st
        parent, served = _served(proc, ppid)
        if served and not include_served:
            continue  # a live server's engine: stopping the server is the way, not killing its engine
        if not vllm and (served or in_container(proc, pid)):
            continue  # the containers step handles it
        name = cmd.split()[0] if vllm else (mask_command(cmd)[:60] or f"pid {pid}")  # --api-key X in it: masked
        out.append(
            Holder(
                pid,
                start,
                clean(name),  # command lines are whatever the process chose
                _rss(proc, pid),
                ppid,
                clean(mask_command(parent)),  # masked whole before line() cuts it
                gpu_pids.get(pid, 0),
                "orphan" if vllm else "gpu",
            )
        )
    return sorted(out, key=lambda h: (-h.gpu, -h.rss))


def end_holder(
    holder: Holder, wait_s: float = 10.0, proc: Path = Path("/proc"), log: Callable[[str], None] = lambda _line: None
) -> str:
    """SIGTERM, then SIGKILL after ``wait_s``; only if pid and start time still name the listed process."""

    def same() -> bool:
        st = _stat(proc, holder.pid)
        return st is not None and st[1] == holder.start

    if not same():
        return f"pid {holder.pid}: already gone (or the pid now names another process: left alone)"
    os.kill(holder.pid, signal.SIGTERM)
    log(f"SIGTERM {holder.pid} {holder.name}")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not same():
            return f"pid {holder.pid} {holder.name}: ended by SIGTERM"
        time.sleep(0.1)
    if not same():
        return f"pid {holder.pid} {holder.name}: ended by SIGTERM"
    os.kill(holder.pid, signal.SIGKILL)
    log(f"SIGKILL {holder.pid} {holder.name}")
    deadline = time.monotonic() + 5.0
    while same() and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"pid {holder.pid} {holder.name}: ignored SIGTERM for {wait_s:.0f} s, ended by SIGKILL"


def drop_caches(proc: Path = Path("/proc")) -> str:
    """``sync; echo 3 > /proc/sys/vm/drop_caches`` (what jtop's clear_cache does); needs root."""
    os.sync()
    try:
        (proc / "sys" / "vm" / "drop_caches").write_text("3\n")
    except OSError as exc:
        return f"drop_caches failed ({exc.strerror}): run as root"
    return "page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches)"
