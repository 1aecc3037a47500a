"""The dashboard's servers panel: one row per inference server, the chat bound to the selected one.

Rows are inference containers (vLLM, SGLang, Open WebUI…) and configured endpoints no
container answers on (``console.servers.registry``), each with its state or startup
phase, live /metrics figures (model, KV cache, running/waiting, tok/s, TTFT), CPU/MEM
and the GPU memory its processes hold.  ↑/↓ (or j/k) move the selection: the chat pane
follows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from textual.app import ComposeResult

from console.containers.model import ContainerInfo, ContainerStats
from console.containers.view import gpu_memory
from console.keymap import SERVERS_BINDINGS
from console.servers.registry import ServerRow
from console.servers.view import health_text, row_figures
from console.telemetry.model import GpuProcess
from console.telemetry.view import pct, size
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.widgets.panel import Panel
from console.ui.widgets.text import LiveText

if TYPE_CHECKING:  # types only: the launcher and its log patterns load with the first launch
    from console.containers.launcher import LaunchEvent
    from console.servers.status import ServerStatus


def state_text(c: ContainerInfo, event: LaunchEvent | None) -> str:
    """Docker's status, or the startup phase while a launch from here is being followed."""
    if event is None or not c.running:
        return c.status[:24]
    if event.kind == "ready":
        return "Ready"
    if event.kind in ("exited", "timeout"):
        return f"failed: {event.diagnosis.title if event.diagnosis else event.message}"[:24]
    return f"{event.state.title} {event.state.progress:.0%}"[:24]


def server_line(
    row: ServerRow,
    status: ServerStatus | None,
    stats: Mapping[str, ContainerStats],
    startups: Mapping[str, LaunchEvent],
    processes: tuple[GpuProcess, ...],
    selected: bool,
) -> str:
    mark = "›" if selected else " "
    c = row.container
    if c is None:
        return f"{mark} ◆ {row.name[:28]:<28} {'endpoint':<9} {health_text(status):<24} {row_figures(status)}"
    s = stats.get(c.id)
    figures = f"CPU {pct(s.cpu_pct)} MEM {size(s.mem_used)}" if s and c.running else ""
    gpu = gpu_memory(c, processes)
    if gpu is not None:
        figures += f" GPU {size(gpu)}"
    live = row_figures(status) if c.running else ""
    state = state_text(c, startups.get(c.id))
    if c.running and status is not None and status.ready and c.id not in startups:
        state = "Ready"
    tail = live or c.image[:40]
    return f"{mark} {'▶' if c.running else '■'} {c.name[:28]:<28} {c.state:<9} {state:<24} {figures}  {tail}"


class ServersPanel(Panel):
    BINDINGS = bindings(SERVERS_BINDINGS)

    def __init__(self, *, id: str | None = "servers") -> None:
        super().__init__("Servers", id=id)
        self.body = LiveText("", classes="body")
        self.rows: list[ServerRow] = []

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.body

    def show(
        self,
        rows: list[ServerRow],
        statuses: Mapping[str, ServerStatus],
        stats: Mapping[str, ContainerStats],
        docker_line: str,
        selected_url: str | None,
        startups: Mapping[str, LaunchEvent] | None = None,
        processes: tuple[GpuProcess, ...] = (),
    ) -> None:
        self.rows = rows
        startups = startups or {}
        lines = [
            server_line(
                r,
                statuses.get(r.url) if r.url else None,
                stats,
                startups,
                processes,
                r.url is not None and r.url == selected_url,
            )
            for r in rows
        ]
        running = sum(1 for r in rows if r.container is not None and r.container.running)
        ready = sum(1 for r in rows if r.url and statuses.get(r.url) and statuses[r.url].ready)
        self.set_summary(
            f"Servers: {running} running, {ready} ready of {len(rows)}" if rows else f"Servers: {docker_line}"
        )
        hint = "↑↓ choose the chat's server · Enter or c: all containers"
        if rows:
            self.body.set("\n".join(lines) + f"\n{hint}" + ("" if "running" in docker_line else f"\n{docker_line}"))
        else:
            self.body.set(f"No inference servers. {docker_line}\nEnter or c: all containers")

    def action_move(self, step: int) -> None:
        urls = [r.url for r in self.rows if r.url]
        if not urls:
            return
        current = host(self).state.servers.selected
        index = urls.index(current) if current in urls else -1
        host(self).chat_control.select_server(urls[(index + step) % len(urls)])
