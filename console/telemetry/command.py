"""``jetconsole snapshot``: one merged sample for scripts and SSH one-liners (no Textual)."""

from __future__ import annotations

import json
import time
from typing import Any

from console.telemetry import view as fmt
from console.telemetry.discovery import Discovery
from console.telemetry.model import TelemetrySnapshot, merge
from console.telemetry.procfs import ProcfsSource

CPU_WINDOW_S = 0.5  # /proc CPU load is a difference of two readings


def take(discovery: Discovery) -> TelemetrySnapshot | None:
    """Sample every open source once (procfs twice, CPU_WINDOW_S apart) and merge."""
    parts = []
    try:
        if any(isinstance(s, ProcfsSource) for s in discovery.sources):
            time.sleep(CPU_WINDOW_S)  # open() took the first /proc/stat reading
        for source in discovery.sources:
            try:
                parts.append(source.sample())
            except Exception:  # noqa: BLE001 - reported as missing below, never fatal
                continue
    finally:
        for source in discovery.sources:
            source.close()
    return merge(parts) if parts else None


def as_json(discovery: Discovery, snap: TelemetrySnapshot | None) -> str:
    doc: dict[str, Any] = {
        "schema": 1,
        "sources": discovery.report.to_list(),
        "telemetry": snap.to_dict() if snap else None,
    }
    return json.dumps(doc, indent=2, sort_keys=False)


def as_text(discovery: Discovery, s: TelemetrySnapshot | None) -> str:
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
    for st in discovery.report.statuses:
        lines.append(
            f"source {st.name}: {'ok' if st.active else 'missing'} - {st.detail}"
            + (f" ({st.hint})" if st.hint and not st.active else "")
        )
    return "\n".join(lines)
