"""The stuck-memory recovery wizard: one confirmed step at a time, figures before and after each.

Steps, in order (``STEPS``): stop the inference containers, remove them, end the orphaned vLLM
holders listed at the start, drop the page cache, restart Docker; then measure against the
baseline and, if memory is still held, say that a reboot is needed (the caller reboots only on
a typed confirmation).  It never touches a process or container it did not list.  ``ask``
decides each step (the CLI asks y/N; ``--dry-run`` says no to all and prints the plan).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from console.doctor.memory import (
    GIB,
    GpuRead,
    Holder,
    MemoryFigures,
    SharedRead,
    drop_caches,
    end_holder,
    figures,
    find_holders,
    gpu_reading,
    jtop_shared,
)

STEPS = ("containers", "holders", "caches", "docker")
DEFAULT_BASELINE_GIB = 6.0  # Thor/Orin with nothing served: 3-6 GB used (workshop notes, domain.md §5.5)
GPU_BASELINE_GIB = 1.0  # a discrete GPU with nothing on it: NVML's used (reserved memory excluded) reads ~0


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    image: str


@dataclass
class Recovery:
    """What was found at the start, and the record of what was done."""

    before: MemoryFigures
    holders: list[Holder]
    containers: list[Container]
    log: list[str] = field(default_factory=list)

    def plan(self, steps: tuple[str, ...], restart: str | None) -> list[tuple[str, str]]:
        """(step, what it would do) for the steps that have something to do."""
        out = []
        names = ", ".join(c.name for c in self.containers)
        if "containers" in steps and self.containers:
            out.append(("stop", f"stop the inference containers: {names}"))
            out.append(("remove", f"remove them: {names}"))
        if "holders" in steps and self.holders:
            out.append(
                (
                    "holders",
                    "end the listed holders (SIGTERM, SIGKILL after 10 s): "
                    + "; ".join(h.line() for h in self.holders),
                )
            )
        if "caches" in steps:
            out.append(("caches", "drop the page cache (sync; echo 3 > /proc/sys/vm/drop_caches)"))
        if "docker" in steps:
            out.append(
                (
                    "docker",
                    f"restart Docker ({restart})"
                    if restart
                    else "restart Docker: no way known here (no systemd; pass --restart-cmd): skipped",
                )
            )
        return out


def survey(
    docker_containers: Callable[[], list[Container]] | None,
    proc: Path = Path("/proc"),
    gpu: GpuRead = gpu_reading,
    shared: SharedRead = jtop_shared,
) -> Recovery:
    """Measure and list the holders and inference containers (``docker_containers`` None: Docker unreachable)."""
    before = figures(proc, gpu, shared)
    return Recovery(before, find_holders(proc, gpu=before.gpu), docker_containers() if docker_containers else [])


def held(now: MemoryFigures, baseline_gib: float, gpu_baseline_gib: float = GPU_BASELINE_GIB) -> bool:
    """Whether memory is above the baseline: system memory, and the GPU's own where NVML reports it."""
    gpu = now.gpu is not None and now.gpu.total > 0 and now.gpu.used > gpu_baseline_gib * GIB
    return now.used > baseline_gib * GIB or gpu


def run(
    rec: Recovery,
    steps: tuple[str, ...],
    ask: Callable[[str, str], bool],
    act: dict[str, Callable[[], str]],
    say: Callable[[str], None],
    restart: str | None = None,
    proc: Path = Path("/proc"),
    baseline_gib: float = DEFAULT_BASELINE_GIB,
    gpu: GpuRead = gpu_reading,
    shared: SharedRead = jtop_shared,
) -> bool:
    """Run the planned steps that ``ask`` confirms; returns True when memory is back under the baseline.

    ``act``: "stop", "remove", "docker" -> a callable doing it and saying what it did.
    """
    for step, what in rec.plan(steps, restart):
        if step == "docker" and not restart:
            say(f"· {what}")
            continue
        if not ask(step, what):
            say(f"· skipped: {what}")
            continue
        before = figures(proc, gpu, shared)
        if step == "holders":
            results = [end_holder(h, proc=proc, log=rec.log.append) for h in rec.holders]
            done = "; ".join(results)
            settle_gpu({h.pid for h in rec.holders if h.gpu}, gpu)
        elif step == "caches":
            done = drop_caches(proc)
        else:
            done = act[step]()
        after = figures(proc, gpu, shared)
        rec.log.append(f"{step}: {done}")
        say(f"✓ {done}\n    before: {before.line()}\n    after:  {after.line()} ({freed(before, after)})")
    final = figures(proc, gpu, shared)
    ok = not held(final, baseline_gib)
    gpu_base = f", GPU {GPU_BASELINE_GIB:g} GiB" if final.gpu is not None and final.gpu.total else ""
    kept = find_holders(proc, gpu=final.gpu) if not ok else []
    verdict = (
        "memory is back to the baseline"
        if ok
        else "memory is still held by holders left running: "
        + "; ".join(h.line() for h in kept)
        + " (end them, or reboot)"
        if kept
        else "memory is still held: a reboot is needed to free it"
    )
    say(f"now {final.line()}; baseline {baseline_gib:g} GiB{gpu_base}: {verdict}")
    return ok


def freed(before: MemoryFigures, after: MemoryFigures) -> str:
    out = f"{(before.used - after.used) / GIB:+.2f} GiB freed"
    if before.shared is not None and after.shared is not None:
        out += f", GPU shared {(before.shared - after.shared) / GIB:+.2f} GiB freed"
    if before.gpu is not None and after.gpu is not None and before.gpu.total:
        out += f", GPU {(before.gpu.used - after.gpu.used) / GIB:+.2f} GiB freed"
    return out


def settle_gpu(pids: set[int], gpu: GpuRead, wait_s: float = 10.0) -> None:
    """Wait until NVML no longer lists ``pids``: the driver frees an ended process's memory a moment later."""
    deadline = time.monotonic() + wait_s
    while pids and time.monotonic() < deadline:
        now = gpu()
        if now is None or not pids & set(now.processes):
            return
        time.sleep(0.2)
