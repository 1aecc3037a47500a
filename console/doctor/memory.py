"""Stuck memory: who holds it, and ending exactly the holders that were listed.

On Jetson and DGX Spark the GPU shares system RAM, so memory "stuck" after a server stopped
shows as ``MemTotal - MemAvailable`` (and ``NvMapMemUsed`` on Orin) far above the baseline.
The usual holders are ``VLLM::EngineCore`` / ``VLLM::Worker`` processes whose API server is gone
(domain.md §5.5).  A holder is identified by pid *and* start time, so a pid reused by another
process after listing is never signalled.  No Textual; reads ``/proc`` (a parameter for tests).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from console.telemetry.procfs import parse_meminfo

GIB = 1 << 30
HOLDER_PREFIXES = ("VLLM::EngineCore", "VLLM::Worker", "VLLM::EngineCore_")  # vLLM's setproctitle names
SERVER_MARKS = ("vllm serve", "vllm.entrypoints", "sglang.launch_server")


@dataclass(frozen=True)
class MemoryFigures:
    total: int
    available: int
    nvmap: int | None  # NvMapMemUsed (Orin); None elsewhere

    @property
    def used(self) -> int:
        return self.total - self.available

    def line(self) -> str:
        nvmap = f", NvMap {self.nvmap / GIB:.1f} GiB" if self.nvmap is not None else ""
        return f"used {self.used / GIB:.2f} GiB of {self.total / GIB:.1f} GiB (MemTotal - MemAvailable){nvmap}"


def figures(proc: Path = Path("/proc")) -> MemoryFigures:
    info = parse_meminfo((proc / "meminfo").read_text())
    return MemoryFigures(info.get("MemTotal", 0), info.get("MemAvailable", 0), info.get("NvMapMemUsed"))


@dataclass(frozen=True)
class Holder:
    """A process that holds memory and may be ended: ``start`` (clock ticks since boot) pins its identity."""

    pid: int
    start: int
    name: str
    rss: int
    ppid: int
    parent: str  # the parent's command line, "" when gone

    def line(self) -> str:
        parent = f"parent {self.ppid} ({self.parent[:40]})" if self.parent else f"parent {self.ppid} gone/init"
        return f"pid {self.pid} {self.name}: RSS {self.rss / GIB:.2f} GiB, {parent}, no vLLM server above it"


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


def find_holders(proc: Path = Path("/proc"), include_served: bool = False) -> list[Holder]:
    """vLLM engine and worker processes with no vLLM server above them (their server died or was killed);
    ``include_served`` lists those under a live server too (not to be ended: stop the server)."""
    out = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        cmd = _cmdline(proc, pid)
        if not cmd.startswith(HOLDER_PREFIXES):
            continue
        st = _stat(proc, pid)
        if st is None:
            continue
        ppid, start = st
        parent = _cmdline(proc, ppid) if ppid > 1 else ""
        if not include_served and any(mark in parent for mark in SERVER_MARKS):
            continue  # a live server's engine: stopping the server is the way, not killing its engine
        out.append(Holder(pid, start, cmd.split()[0], _rss(proc, pid), ppid, parent))
    return sorted(out, key=lambda h: -h.rss)


def end_holder(holder: Holder, wait_s: float = 10.0, proc: Path = Path("/proc"),
               log: Callable[[str], None] = lambda _line: None) -> str:
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
