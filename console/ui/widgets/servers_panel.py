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
from console.servers.metrics import summary_line
from console.servers.registry import ServerRow
from console.servers.view import badges, health_text
from console.telemetry.model import GpuProcess
from console.telemetry.view import pct, size
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.widgets.columns import Column, fit_rows
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


# mark and icon (▶ running, ■ not, ◆ an endpoint), name, state or phase, CPU/MEM/GPU, model, live figures:
# one line per server at any width; live figures, the model, the name, the phase, then CPU/MEM give up room
# in that order, and a cut ends in "…" (issue 15)
COLUMNS = (
    Column(least=3),
    Column(most=28, least=14, give=3),
    Column(most=24, least=10, give=2),
    Column(least=0, give=1),
    Column(least=16, give=4),
    Column(least=36, give=5),
)
Cells = tuple[str, str, str, str, str, str]


def live_cells(status: ServerStatus | None, command: str = "") -> tuple[str, str]:
    """The model a server serves, with what it takes ([img] images, [tools] tool_choice auto: from the model and
    its launch line ``command``), and its /metrics figures; "" for what is not known."""
    if status is None or not status.reachable:
        return "", ""
    model = status.model or ""
    if model:
        root = next((m.root for m in status.models if m.id == model), "")
        model += badges(model, root, command)
    return model, summary_line(status.metrics) if status.metrics is not None else ""


def server_cells(
    row: ServerRow,
    status: ServerStatus | None,
    stats: Mapping[str, ContainerStats],
    startups: Mapping[str, LaunchEvent],
    processes: tuple[GpuProcess, ...],
    selected: bool,
) -> Cells:
    """A server's row as ``COLUMNS`` cells."""
    mark = "›" if selected else " "
    c = row.container
    if c is None:
        return (f"{mark} ◆", row.name, health_text(status), "", *live_cells(status))
    s = stats.get(c.id)
    figures = f"CPU {pct(s.cpu_pct)} MEM {size(s.mem_used)}" if s and c.running else ""
    gpu = gpu_memory(c, processes)
    if gpu is not None:
        figures += f" GPU {size(gpu)}"
    model, live = live_cells(status, c.command) if c.running else ("", "")
    state = state_text(c, startups.get(c.id))
    if c.running and status is not None and status.ready and c.id not in startups:
        state = "Ready"
    icon = f"{mark} {'▶' if c.running else '■'}"
    return icon, c.name, state, figures.strip(), model or (c.image if not live else ""), live


class ServersPanel(Panel):
    BINDINGS = bindings(SERVERS_BINDINGS)

    def __init__(self, *, id: str | None = "servers") -> None:
        super().__init__("Servers", id=id)
        self.body = LiveText("", classes="body")
        self.rows: list[ServerRow] = []
        self._cells: list[Cells] = []
        self._tail = ""

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
        self._cells = [
            server_cells(
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
            self._tail = f"\n{hint}" + ("" if "running" in docker_line else f"\n{docker_line}")
        else:
            self._tail = f"No inference servers. {docker_line}\nEnter or c: all containers"
        self._draw()

    def _draw(self) -> None:
        """The rows, one line each in the body's width (before the first layout: the width of 120 columns)."""
        lines = fit_rows(self._cells, COLUMNS, self.body.content_size.width or 116)
        self.body.set("\n".join(lines) + self._tail)

    def on_resize(self) -> None:
        self._draw()

    def action_move(self, step: int) -> None:
        urls = [r.url for r in self.rows if r.url]
        if not urls:
            return
        current = host(self).state.servers.selected
        index = urls.index(current) if current in urls else -1
        host(self).chat_control.select_server(urls[(index + step) % len(urls)])
