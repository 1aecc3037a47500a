"""The dashboard's servers panel: one row per inference container (vLLM, SGLang, Open WebUI…)."""

from __future__ import annotations

from textual.app import ComposeResult

from console.containers.launcher import LaunchEvent
from console.containers.model import ContainerInfo, ContainerStats
from console.containers.view import gpu_memory, is_inference
from console.formatting import pct, size
from console.telemetry.model import GpuProcess
from console.ui.widgets.panel import Panel
from console.ui.widgets.text import LiveText


def state_text(c: ContainerInfo, event: LaunchEvent | None) -> str:
    """Docker's status, or the startup phase while a launch from here is being followed."""
    if event is None or not c.running:
        return c.status[:24]
    if event.kind == "ready":
        return "Ready"
    if event.kind in ("exited", "timeout"):
        return f"failed: {event.diagnosis.title if event.diagnosis else event.message}"[:24]
    return f"{event.state.title} {event.state.progress:.0%}"[:24]


def server_lines(containers: tuple[ContainerInfo, ...], stats: dict[str, ContainerStats],
                 startups: dict[str, LaunchEvent] | None = None,
                 processes: tuple[GpuProcess, ...] = ()) -> list[str]:
    lines = []
    startups = startups or {}
    for c in sorted((c for c in containers if is_inference(c)), key=lambda c: (not c.running, c.name)):
        s = stats.get(c.id)
        figures = f"CPU {pct(s.cpu_pct)} MEM {size(s.mem_used)}" if s and c.running else ""
        gpu = gpu_memory(c, processes)
        if gpu is not None:
            figures += f" GPU {size(gpu)}"
        lines.append(f"{'▶' if c.running else '■'} {c.name[:28]:<28} {c.state:<9} "
                     f"{state_text(c, startups.get(c.id)):<24} {figures}  {c.image[:40]}")
    return lines


class ServersPanel(Panel):
    def __init__(self, *, id: str | None = "servers") -> None:
        super().__init__("Servers", id=id)
        self.body = LiveText("", classes="body")

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.body

    def show(self, containers: tuple[ContainerInfo, ...], stats: dict[str, ContainerStats],
             docker_line: str, startups: dict[str, LaunchEvent] | None = None,
             processes: tuple[GpuProcess, ...] = ()) -> None:
        lines = server_lines(containers, stats, startups, processes)
        running = sum(1 for c in containers if c.running and is_inference(c))
        self.set_summary(f"Servers: {running} running of {len(lines)}" if lines else f"Servers: {docker_line}")
        if lines:
            self.body.set("\n".join(lines) + "\nEnter or c: all containers")
        else:
            self.body.set(f"No inference containers. {docker_line}\nEnter or c: all containers")
