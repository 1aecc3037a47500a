"""The dashboard's servers panel: one row per inference container (vLLM, SGLang, Open WebUI…)."""

from __future__ import annotations

from textual.app import ComposeResult

from console.containers.model import ContainerInfo, ContainerStats
from console.containers.view import is_inference
from console.formatting import pct, size
from console.ui.widgets.panel import Panel
from console.ui.widgets.text import LiveText


def server_lines(containers: tuple[ContainerInfo, ...], stats: dict[str, ContainerStats]) -> list[str]:
    lines = []
    for c in sorted((c for c in containers if is_inference(c)), key=lambda c: (not c.running, c.name)):
        s = stats.get(c.id)
        figures = f"CPU {pct(s.cpu_pct)} MEM {size(s.mem_used)}" if s and c.running else ""
        lines.append(f"{'▶' if c.running else '■'} {c.name[:28]:<28} {c.state:<9} {c.status[:24]:<24} "
                     f"{figures}  {c.image[:40]}")
    return lines


class ServersPanel(Panel):
    def __init__(self, *, id: str | None = "servers") -> None:
        super().__init__("Servers", id=id)
        self.body = LiveText("", classes="body")

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.body

    def show(self, containers: tuple[ContainerInfo, ...], stats: dict[str, ContainerStats],
             docker_line: str) -> None:
        lines = server_lines(containers, stats)
        running = sum(1 for c in containers if c.running and is_inference(c))
        self.set_summary(f"Servers: {running} running of {len(lines)}" if lines else f"Servers: {docker_line}")
        if lines:
            self.body.set("\n".join(lines) + "\nEnter or c: all containers")
        else:
            self.body.set(f"No inference containers. {docker_line}\nEnter or c: all containers")
