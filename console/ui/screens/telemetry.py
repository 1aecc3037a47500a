"""Telemetry zoomed: device facts, per-core, per-rail, per-sensor and per-process tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Input

from console.keymap import DETAIL_BINDINGS
from console.telemetry import view as fmt
from console.telemetry.model import TelemetrySnapshot
from console.ui.bindings import bindings
from console.ui.screens.filtering import FilterScreen
from console.ui.widgets.cut_hint import CutHint
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.tables import sync_rows
from console.ui.widgets.text import LiveText

if TYPE_CHECKING:
    from console.runtime.state import ConsoleState

TABLES = {
    "device": ("Device", ("item", "value")),
    "cores": ("CPU cores", ("core", "load", "bar", "freq", "max", "governor")),
    "gpus": ("GPUs", ("gpu", "load", "freq", "memory", "temp", "power")),
    "rails": ("Power rails", ("rail", "volts", "amps", "watts", "avg W", "warn A", "crit A")),
    "sensors": ("Temperatures and fans", ("sensor", "value", "max", "crit")),
    "processes": ("GPU processes", ("pid", "user", "name", "GPU mem", "CPU", "RSS")),
}


def device_rows(s: TelemetrySnapshot) -> list[tuple[str, list[object]]]:
    b = s.board
    items: list[tuple[str, object]] = []
    if b:
        items += [
            ("model", b.model),
            ("module", b.module),
            ("SoC", b.soc),
            ("L4T", b.l4t),
            ("JetPack", b.jetpack),
            ("CUDA", b.cuda),
            ("driver", b.driver),
            ("kernel", b.kernel),
            ("host", b.hostname),
        ]
    if s.power_mode:
        modes = ", ".join(s.power_mode.modes)
        items.append(("power mode", f"{s.power_mode.name} (id {s.power_mode.id})" + (f" of {modes}" if modes else "")))
    items.append(("jetson_clocks", fmt.NA if s.jetson_clocks is None else ("on" if s.jetson_clocks else "off")))
    m = s.memory
    if m:
        items += [
            ("RAM", fmt.memory_text(m)),
            ("RAM available", f"{fmt.gib(m.available)} GiB"),
            ("GPU shared RAM", f"{fmt.gib(m.gpu_shared)} GiB" if m.gpu_shared is not None else fmt.NA),
            ("swap", fmt.swap_text(m)),
        ]
    if s.emc:
        items.append(("EMC", f"{fmt.pct(s.emc.load)} at {fmt.mhz(s.emc.freq_mhz)} (max {fmt.mhz(s.emc.max_freq_mhz)})"))
    if s.power and s.power.total_w is not None:
        items.append(("power total", f"{fmt.watts(s.power.total_w)} (avg {fmt.watts(s.power.avg_w)})"))
    items.append(("uptime", fmt.uptime(s.uptime_s)))
    items.append(("sources", "+".join(s.sources)))
    return [(k, [k, str(v) if v is not None else fmt.NA]) for k, v in items if v is not None or k == "jetson_clocks"]


def table_rows(s: TelemetrySnapshot, name: str, needle: str = "") -> list[tuple[str, list[object]]]:
    if name == "device":
        return device_rows(s)
    if name == "cores":
        return [
            (
                f"c{c.index}",
                [
                    str(c.index + 1),
                    fmt.pct(c.load) if c.online else "off",
                    fmt.bar(c.load, 10),
                    fmt.mhz(c.freq_mhz),
                    fmt.mhz(c.max_freq_mhz),
                    c.governor or "",
                ],
            )
            for c in (s.cpu.cores if s.cpu else ())
        ]
    if name == "gpus":
        return [
            (
                g.name,
                [
                    g.name,
                    fmt.pct(g.load),
                    fmt.mhz(g.freq_mhz),
                    fmt.gpu_memory_text(g),
                    fmt.celsius(g.temp_c),
                    fmt.watts(g.power_w),
                ],
            )
            for g in s.gpus
        ]
    if name == "rails":

        def num(v: float | None, unit: str) -> str:
            return fmt.NA if v is None else f"{v:.2f}{unit}"

        return [
            (
                r.name,
                [
                    r.name,
                    num(r.volts, " V"),
                    num(r.amps, " A"),
                    num(r.watts, " W"),
                    num(r.avg_watts, " W"),
                    num(r.warn_amps, " A"),
                    num(r.crit_amps, " A"),
                ],
            )
            for r in (s.power.rails if s.power else ())
        ]
    if name == "sensors":
        rows: list[tuple[str, list[object]]] = [
            (f"t:{t.name}", [t.name, fmt.celsius(t.celsius), fmt.celsius(t.max_c), fmt.celsius(t.crit_c)])
            for t in s.temps
        ]
        rows += [
            (
                f"f:{f.name}",
                [
                    f"fan {f.name}",
                    " ".join(
                        x
                        for x in (
                            f"{f.speed_pct:.0f}%" if f.speed_pct is not None else "",
                            f"{f.rpm} rpm" if f.rpm is not None else "",
                        )
                        if x
                    )
                    or fmt.NA,
                    "",
                    "",
                ],
            )
            for f in s.fans
        ]
        return rows
    if name == "processes":
        needle = needle.lower()
        return [
            (str(p.pid), [str(p.pid), p.user or "", p.name, fmt.size(p.gpu_mem), fmt.pct(p.cpu_pct), fmt.size(p.rss)])
            for p in s.processes
            if not needle or needle in f"{p.pid} {p.user or ''} {p.name}".lower()
        ]
    raise KeyError(name)


class TelemetryScreen(FilterScreen):
    BINDINGS = bindings(DETAIL_BINDINGS)
    FILTERED_TABLE = "#t-processes"

    def compose(self) -> ComposeResult:
        yield LiveText("Telemetry · Esc back · / filter processes · Tab next table", id="title")
        with VerticalScroll(id="detail"):
            for key, (title, columns) in TABLES.items():
                yield LiveText(title, classes="table-title")
                if key == "processes":
                    yield Input(placeholder="filter by pid, user or name (Esc clears)", id="filter")
                table: DataTable = DataTable(id=f"t-{key}", cursor_type="row", zebra_stripes=False)
                table.add_columns(*columns)
                yield table
                yield CutHint(table)  # says when the table is wider than the screen
                if key == "processes":
                    yield LiveText("", id="processes-empty")
        yield KeyHints()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#t-device", DataTable).focus()

    def show_state(self, state: ConsoleState) -> None:
        s = state.telemetry.merged
        if s is None:
            return
        for key in TABLES:
            sync_rows(self.query_one(f"#t-{key}", DataTable), table_rows(s, key, self.needle))
        empty = self.query_one("#processes-empty", LiveText)
        if not s.processes:
            empty.set("no process holds GPU memory (or this source cannot see them)")
        elif not self.query_one("#t-processes", DataTable).row_count:
            empty.set(f"no process matches {self.needle!r}")
        else:
            empty.set("")
