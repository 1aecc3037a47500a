"""The dashboard's telemetry panel: main series with sparklines, per-core bars."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult

from console.telemetry import view as fmt
from console.telemetry.history import History, hottest_c, power_total
from console.telemetry.model import TelemetrySnapshot
from console.ui.widgets.metric_row import MetricRow
from console.ui.widgets.panel import Panel
from console.ui.widgets.text import LiveText


def core_bars(snapshot: TelemetrySnapshot, width: int) -> str:
    """Per-core load as small bars, as many per line as ``width`` allows."""
    if not snapshot.cpu or not snapshot.cpu.cores:
        return ""
    cells = []
    for core in snapshot.cpu.cores:
        label = f"{core.index + 1:>2}"
        if not core.online:
            cells.append(f"{label} {'off':<10}")
        else:
            cells.append(f"{label} {fmt.bar(core.load, 6)}{fmt.pct(core.load):>4}")
    per_line = max(1, (width + 1) // 15)
    rows = [" ".join(cells[i : i + per_line]) for i in range(0, len(cells), per_line)]
    return "\n".join(rows)


def process_lines(snapshot: TelemetrySnapshot, limit: int = 3) -> str:
    """The processes holding the most GPU memory (all of them: press t)."""
    procs = snapshot.processes
    if not procs:
        return ""
    lines = [
        f"GPU memory: {len(procs)} process{'es' if len(procs) > 1 else ''}"
        + (f", top {limit} (t for all)" if len(procs) > limit else "")
    ]
    for p in procs[:limit]:
        lines.append(f"  {p.pid:>7}  {fmt.size(p.gpu_mem):>10}  {p.name[:60]}")
    return "\n".join(lines)


class TelemetryPanel(Panel):
    def __init__(self, *, id: str | None = "telemetry") -> None:
        super().__init__("Telemetry", id=id)
        self.board = LiveText("waiting for the first sample…", classes="board")
        self.rows = {
            "cpu": MetricRow("CPU"),
            "gpu": MetricRow("GPU"),
            "ram": MetricRow("RAM"),
            "emc": MetricRow("EMC"),
            "power": MetricRow("POWER", scale=(0.0, None)),
            "temp": MetricRow("TEMP", scale=(20.0, 100.0)),
        }
        self.extra = LiveText("", classes="extra")
        self.cores = LiveText("", classes="cores")
        self.procs = LiveText("", classes="procs")
        self._last: TelemetrySnapshot | None = None
        self._value_cells = 0  # the values' column: only grows, until the panel is resized

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.board
        yield from self.rows.values()
        yield self.extra
        yield self.cores
        yield self.procs

    def show(self, s: TelemetrySnapshot, history: History, missing: dict[str, str]) -> None:
        self._last = s
        self.set_summary(fmt.summary_line(s))
        self.board.set(fmt.board_line(s))
        cpu = s.cpu
        if cpu:
            freqs = [c.freq_mhz for c in cpu.cores if c.freq_mhz]
            cpu_text = f"{fmt.pct(cpu.load):>4} {len(cpu.cores)} cores"
            if freqs:
                cpu_text += f" @{fmt.mhz(sum(freqs) / len(freqs))}"
        else:
            cpu_text = "n/a"
        self.rows["cpu"].show(cpu_text, history, "cpu")
        if s.gpus:
            g = s.gpus[0]
            text = f"{fmt.pct(g.load):>4} {fmt.mhz(g.freq_mhz)}"
            if g.mem_total is not None or not g.unified:
                text += f" mem {fmt.gpu_memory_text(g)}"
            if len(s.gpus) > 1:
                text += f" (+{len(s.gpus) - 1} GPUs)"
            self.rows["gpu"].show(text, history, "gpu")
        else:
            self.rows["gpu"].show(missing.get("gpu", "no GPU source"))
        m = s.memory
        self.rows["ram"].show(f"{fmt.pct(m.used_pct if m else None):>4} {fmt.memory_text(m)}", history, "ram")
        if s.emc:
            self.rows["emc"].show(f"{fmt.pct(s.emc.load):>4} {fmt.mhz(s.emc.freq_mhz)}", history, "emc")
        else:
            self.rows["emc"].show("n/a (Jetson only)")
        total = power_total(s)
        if total is not None:
            top = sorted(s.power.rails if s.power else (), key=lambda r: -r.watts)[:2]
            rails = " ".join(f"{r.name.removeprefix('VDD_')} {r.watts:.1f}" for r in top)
            self.rows["power"].show(f"{fmt.watts(total)}" + (f"  {rails}" if rails else ""), history, "power")
        else:
            self.rows["power"].show(missing.get("power", "n/a (no power sensors)"))
        hot = hottest_c(s)
        if hot is not None:
            where = s.hottest.name if s.hottest else (s.gpus[0].name if s.gpus else "")
            self.rows["temp"].show(f"{fmt.celsius(hot)} hottest {where}", history, "temp")
        else:
            self.rows["temp"].show("n/a (no thermal sensors readable)")
        self._fit_values()
        extra = [f"SWAP {fmt.swap_text(m)}"]
        for fan in s.fans:
            speed = f"{fan.speed_pct:.0f}%" if fan.speed_pct is not None else ""
            rpm = f"{fan.rpm} rpm" if fan.rpm is not None else ""
            extra.append(f"FAN {fan.name} {speed} {rpm}".strip())
        self.extra.set("   ".join(extra))
        self.procs.set(process_lines(s))
        self.cores.set(core_bars(s, self.cores.size.width or 80))

    def _fit_values(self) -> None:
        """Values as wide as the widest one with a sparkline has been since the last resize (in steps of 4),
        the sparklines the rest of their row (issue 15).

        A column that followed the widest value went back and forth between two widths as a power figure
        swung between "9.8 W" and "10.2 W": each time every row was laid out and every sparkline written
        whole again, most of the dashboard's idle output (benchmarks/README.md, issue 15)."""
        sparked = [r for r in self.rows.values() if not r.has_class("nospark")]
        widest = max((cell_len(r.text) for r in sparked), default=0)
        self._value_cells = cells = max(self._value_cells, 20, -(-(widest + 2) // 4) * 4)
        for row in self.rows.values():
            row.fit_value(cells if row in sparked else 0)

    def on_resize(self) -> None:
        self._value_cells = 0
        if self._last is not None:
            self.cores.set(core_bars(self._last, self.cores.size.width or 80))
