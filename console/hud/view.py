"""What the HUD shows, computed from the app's state (pure): the host, the served model and its
state, and six figures.  Each figure has a fixed-width template so the layout does not jump as
values change, and values are rounded so an idle machine repaints little.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.containers.launcher import LaunchEvent
    from console.servers.registry import ServerRow
    from console.servers.status import ServerStatus
    from console.telemetry.model import TelemetrySnapshot

GIB = 1 << 30
READY, STARTING, ERROR, DOWN, NONE = "READY", "STARTING", "ERROR", "DOWN", "NO SERVER"


@dataclass(frozen=True)
class Tile:
    """One figure: ``value`` drawn big (digits, ``.``, ``/``, ``%``, ``-``), ``unit`` and ``label`` in normal type."""

    key: str
    label: str
    value: str
    unit: str
    template: str  # the widest value expected: the layout sizes the tile for it
    level: str = ""  # "" | "warn" | "crit": how the value is coloured


@dataclass(frozen=True)
class HudView:
    host: str
    ip: str
    model: str
    state: str  # READY | STARTING | ERROR | DOWN | NO SERVER
    detail: str  # "45% loading weights", the one-line cause of an error, …
    tiles: tuple[Tile, ...]
    help: bool = False

    @property
    def head(self) -> str:
        return f"{self.host}  {self.ip}".strip()

    @property
    def status(self) -> str:
        model = f"  {self.model}" if self.model else ""
        return f"{self.state}{model}" + (f"  {self.detail}" if self.detail else "")


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def _level(value: float | None, warn: float, crit: float) -> str:
    if value is None:
        return ""
    return "crit" if value >= crit else "warn" if value >= warn else ""


def tiles(snap: TelemetrySnapshot | None, status: ServerStatus | None) -> tuple[Tile, ...]:
    """The six figures; "-" where a source does not give one."""
    metrics = status.metrics if status is not None and status.reachable else None
    tps = metrics.gen_tps if metrics else None
    running = metrics.running if metrics else None
    waiting = metrics.waiting if metrics else None
    gpu = snap.gpus[0] if snap and snap.gpus else None
    load = gpu.load if gpu else None
    mem = snap.memory if snap else None
    used: int | None
    total: int | None
    if gpu is not None and not gpu.unified and gpu.mem_total:
        used, total = gpu.mem_used, gpu.mem_total
    else:
        used, total = (mem.used, mem.total) if mem else (None, None)
    hot = snap.hottest if snap else None
    temp = hot.celsius if hot else None
    watts = (
        snap.power.total_w if snap and snap.power and snap.power.total_w is not None else (gpu.power_w if gpu else None)
    )
    requests = "-" if running is None else f"{running}/{waiting or 0}"
    memory = "-" if used is None or not total else f"{used / GIB:.0f}/{total / GIB:.0f}"
    mem_pct = 100 * used / total if used is not None and total else None
    return (
        Tile("tps", "GEN TOK/S", _num(tps, "{:.0f}" if tps is None or tps >= 10 else "{:.1f}"), "tok/s", "8888"),
        Tile("requests", "RUN/WAIT", requests, "req", "88/888"),
        Tile("gpu", "GPU", _num(load), "%", "100", _level(load, 90, 101)),
        Tile("memory", "MEMORY GiB", memory, "GiB", "888/888", _level(mem_pct, 85, 95)),
        Tile("temp", "TEMP", _num(temp), "°C", "888", _level(temp, 80, 90)),
        Tile("power", "POWER", _num(watts), "W", "888"),
    )


def server_state(
    row: ServerRow | None, status: ServerStatus | None, startup: LaunchEvent | None
) -> tuple[str, str, str]:
    """(state, model, detail) of the server the HUD follows."""
    if row is None:
        return NONE, "", "no inference container or endpoint"
    model = (status.model if status is not None else None) or ""
    c = row.container
    if c is not None and not c.running:
        cause = startup.diagnosis.title if startup and startup.diagnosis else c.status
        return ERROR if "Exited (0)" not in c.status else DOWN, model or c.name, cause
    if status is not None and status.ready:
        return READY, model, ""
    if status is not None and status.reachable and status.health not in (None, 200):
        return ERROR, model or row.name, f"/health answered {status.health}"
    if startup is not None:
        if startup.kind in ("exited", "timeout"):
            return ERROR, model or row.name, (startup.diagnosis.title if startup.diagnosis else startup.message)
        if startup.kind != "ready":
            cause = f" · {startup.diagnosis.title}" if startup.diagnosis else ""
            return STARTING, model or row.name, f"{startup.state.progress:.0%} {startup.state.title}{cause}"
    if c is not None:
        return STARTING, model or row.name, "container running, server not answering yet"
    return (
        DOWN,
        model or row.name,
        "not answering" + (f" ({status.error.split(': ', 1)[-1]})" if status is not None and status.error else ""),
    )


def pick_server(rows: list[ServerRow], selected_url: str | None) -> ServerRow | None:
    """The server the HUD follows: a running inference container first, else the selected endpoint."""
    running = [r for r in rows if r.container is not None and r.container.running and r.url]
    if running:
        return running[0]
    with_url = [r for r in rows if r.url]
    return next((r for r in with_url if r.url == selected_url), with_url[0] if with_url else None)


def build(
    snap: TelemetrySnapshot | None,
    row: ServerRow | None,
    status: ServerStatus | None,
    startup: LaunchEvent | None,
    host: str,
    ip: str,
    help_flag: bool,
) -> HudView:
    state, model, detail = server_state(row, status, startup)
    return HudView(host, ip, model, state, detail, tiles(snap, status), help_flag)
