"""``jetconsole snapshot``: one merged sample for scripts and SSH one-liners (no Textual).

It runs the runtime headless with its telemetry alone: discovery, one polling service per source, and
the merged snapshot of the state once every source has answered (``/proc`` twice, ``CPU_WINDOW_S``
apart: its CPU load is a difference of two readings).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from console.telemetry import view as fmt
from console.telemetry.model import SourceReport, TelemetrySnapshot

if TYPE_CHECKING:
    from console.config import Config
    from console.telemetry.discovery import Discovery

CPU_WINDOW_S = 0.5  # /proc CPU load is a difference of two readings
WAIT_S = 15.0  # a source that never answers (a jtop service that hangs) is left out after this


def take(
    config: Config, discover_fn: Callable[[], Discovery] | None = None, timeout: float = WAIT_S
) -> tuple[SourceReport, TelemetrySnapshot | None]:
    """Run the runtime's telemetry until each source has answered (or failed); the sources' report with
    live failures folded in, and the merged snapshot (None: no source produced a sample)."""
    from console.runtime.runtime import Runtime  # deferred: the import-light CLI path stays light
    from console.runtime.services.headless import FirstSamples

    runtime = Runtime(
        replace(config, refresh_interval=CPU_WINDOW_S),
        discover_fn=discover_fn,
        watch_docker=False,
        poll_servers=False,
        hud_sources=False,
    )
    first = FirstSamples(wanted=lambda name: 2 if name == "procfs" else 1)
    runtime.subscribe(first)
    runtime.start()
    try:
        first.wait(timeout)
        telemetry = runtime.state.telemetry
        return SourceReport(telemetry.statuses()), telemetry.merged
    finally:
        runtime.stop(1.0)


def as_json(report: SourceReport, snap: TelemetrySnapshot | None) -> str:
    doc: dict[str, Any] = {
        "schema": 1,
        "sources": report.to_list(),
        "telemetry": snap.to_dict() if snap else None,
    }
    return json.dumps(doc, indent=2, sort_keys=False)


def as_text(report: SourceReport, s: TelemetrySnapshot | None) -> str:
    lines = []
    if s is not None:
        lines.append(fmt.board_line(s))
        lines.append(fmt.summary_line(s))
        if s.cpu and s.cpu.cores:
            lines.append("cores " + " ".join(fmt.pct(c.load) for c in s.cpu.cores))
        for g in s.gpus:
            lines.append(
                f"gpu {g.name}: {fmt.pct(g.load)} {fmt.mhz(g.freq_mhz)} mem {fmt.gpu_memory_text(g)}"
                f" {fmt.celsius(g.temp_c)} {fmt.watts(g.power_w)}"
            )
        lines.append(f"ram {fmt.memory_text(s.memory)}  swap {fmt.swap_text(s.memory)}")
        if s.power:
            lines.append(
                f"power {fmt.watts(s.power.total_w)} " + " ".join(f"{r.name}={r.watts:.1f}W" for r in s.power.rails)
            )
        for t in s.temps:
            lines.append(f"temp {t.name} {fmt.celsius(t.celsius)}")
        for p in s.processes:
            lines.append(f"gpu-proc {p.pid} {p.name} {fmt.size(p.gpu_mem)}")
    else:
        lines.append("no telemetry source produced a sample")
    for st in report.statuses:
        lines.append(
            f"source {st.name}: {'ok' if st.active else 'missing'} - {st.detail}"
            + (f" ({st.hint})" if st.hint and not st.active else "")
        )
    return "\n".join(lines)


def run(config: Config, as_json_output: bool) -> int:
    """``jetconsole snapshot [--json]``: 0 with a sample, 1 without."""
    report, snap = take(config)
    print(as_json(report, snap) if as_json_output else as_text(report, snap))
    return 0 if snap is not None else 1
