"""The fleet as rows and totals: what a tile, a list row and ``jetconsole fleet`` show (pure).

A device is *up* while its latest good answer is at most ``STALE_TICKS`` refresh intervals old, *stale*
once it is older (its last figures stay, with their age), *unreachable* when it never gave a good answer
(no answer, or one that is not an agent's or speaks a newer schema: the row's error says which).  Raised
help flags sort first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.fleet.state import DeviceStatus, FleetState

STALE_TICKS = 3
UP, STALE, DOWN, WAITING = "up", "stale", "unreachable", "waiting"
GIB = 1 << 30


@dataclass(frozen=True)
class FleetRow:
    name: str
    group: str
    condition: str  # up | stale | unreachable | waiting
    age_s: float | None  # how old the figures are
    error: str  # why the latest try failed ("" when it did not)
    model: str
    phase: str  # READY | STARTING | ERROR | DOWN | "" (no server)
    gen_tps: float | None
    running: int | None
    waiting: int | None
    gpu_pct: float | None
    mem_used_gib: float | None
    mem_total_gib: float | None
    temp_c: float | None
    power_w: float | None
    flag: bool
    flag_since: float | None  # Unix time
    via: str  # how the figures were read: agent | prometheus | ssh ("" before any answer)


def condition(status: DeviceStatus | None, now: float, interval: float) -> tuple[str, float | None]:
    """(condition, age of the figures in seconds) of one device at ``now`` (time.monotonic()): a missed
    answer or two keep it up; ``STALE_TICKS`` intervals without a good one make it stale."""
    if status is None or status.last is None:
        return WAITING, None
    if status.good is None:
        return DOWN, None
    age = max(0.0, now - status.good.at)
    return (UP if age <= STALE_TICKS * interval else STALE), age


def rows(fleet: FleetState, now: float, interval: float) -> list[FleetRow]:
    out = []
    for device in fleet.devices:
        status = fleet.status.get(device.name)
        state, age = condition(status, now, interval)
        r = status.good.reading if status is not None and status.good is not None else None
        latest = (status.good or status.last) if status is not None else None
        server = r.servers[0] if r is not None and r.servers else None
        out.append(
            FleetRow(
                name=device.name,
                group=device.group,
                condition=state,
                age_s=age,
                error=(status.error or "") if status is not None else "",
                model=server.model if server else "",
                phase=server.phase if server else "",
                gen_tps=server.gen_tps if server else None,
                running=server.running if server else None,
                waiting=server.waiting if server else None,
                gpu_pct=r.gpu_load if r else None,
                mem_used_gib=r.memory_used / GIB if r and r.memory_used is not None else None,
                mem_total_gib=r.memory_total / GIB if r and r.memory_total is not None else None,
                temp_c=r.hottest_c if r else None,
                power_w=r.power_w if r else None,
                flag=bool(r and r.help_flag),
                flag_since=r.help_since if r else None,
                via=latest.via if latest is not None else "",
            )
        )
    return sorted(out, key=lambda row: (not row.flag, row.flag_since or 0.0, row.name))


@dataclass(frozen=True)
class Totals:
    devices: int
    up: int
    ready: int  # servers Ready
    gen_tps: float
    flags: int


def totals(fleet_rows: list[FleetRow]) -> Totals:
    return Totals(
        devices=len(fleet_rows),
        up=sum(r.condition == UP for r in fleet_rows),
        ready=sum(r.phase == "READY" and r.condition == UP for r in fleet_rows),
        gen_tps=sum(r.gen_tps or 0.0 for r in fleet_rows if r.condition == UP),
        flags=sum(r.flag for r in fleet_rows),
    )


def totals_line(t: Totals) -> str:
    return (
        f"{t.up}/{t.devices} up · {t.ready} Ready · {t.gen_tps:,.0f} tok/s · {t.flags} help flag{'s' * (t.flags != 1)}"
    )


def _num(value: float | None, fmt: str) -> str:
    return fmt.format(value) if value is not None else "–"


def cells(row: FleetRow) -> list[str]:
    """One row of the list: name, state, server, tok/s, run/wait, GPU, memory, temperature, power, flag, and how it
    was read."""
    state = row.condition if row.condition != STALE else f"stale {row.age_s:.0f}s"
    server = f"{row.phase} {row.model}".strip() if row.phase else "no server"
    run_wait = f"{_num(row.running, '{:.0f}')}/{_num(row.waiting, '{:.0f}')}" if row.phase else "–"
    memory = f"{_num(row.mem_used_gib, '{:.1f}')}/{_num(row.mem_total_gib, '{:.0f}')} GiB"
    return [
        row.name,
        state,
        server,
        _num(row.gen_tps, "{:.1f}"),
        run_wait,
        _num(row.gpu_pct, "{:.0f}%"),
        memory,
        _num(row.temp_c, "{:.0f}°C"),
        _num(row.power_w, "{:.1f} W"),
        "HELP" if row.flag else "",
        row.via,
    ]


HEADERS = ("device", "state", "server", "tok/s", "run/wait", "GPU", "memory", "temp", "power", "flag", "via")


def as_dict(row: FleetRow) -> dict[str, Any]:
    return {k: getattr(row, k) for k in FleetRow.__dataclass_fields__}
