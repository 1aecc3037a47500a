"""Frozen telemetry snapshots: what every source produces and every view reads.

Units are fixed so no view guesses: bytes, percent (0-100), MHz, watts, volts, amps,
degrees Celsius.  ``None`` means "this source cannot tell", never zero.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class CpuCore:
    index: int
    load: float | None
    freq_mhz: float | None = None
    max_freq_mhz: float | None = None
    governor: str | None = None
    online: bool = True


@dataclass(frozen=True)
class Cpu:
    load: float | None
    cores: tuple[CpuCore, ...] = ()
    model: str | None = None


@dataclass(frozen=True)
class Gpu:
    name: str
    load: float | None = None
    freq_mhz: float | None = None
    max_freq_mhz: float | None = None
    mem_used: int | None = None
    mem_total: int | None = None
    unified: bool = False  # memory is the system RAM (Jetson, GB10): see Memory
    temp_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    fan_pct: float | None = None
    governor: str | None = None


@dataclass(frozen=True)
class Memory:
    total: int
    used: int
    available: int | None = None
    cached: int | None = None
    buffers: int | None = None
    gpu_shared: int | None = None  # RAM the GPU holds (Jetson NvMap), when known
    swap_total: int = 0
    swap_used: int = 0
    swap_cached: int | None = None

    @property
    def used_pct(self) -> float:
        return 100.0 * self.used / self.total if self.total else 0.0


@dataclass(frozen=True)
class Emc:
    load: float | None
    freq_mhz: float | None = None
    max_freq_mhz: float | None = None


@dataclass(frozen=True)
class PowerRail:
    name: str
    watts: float
    volts: float | None = None
    amps: float | None = None
    avg_watts: float | None = None
    warn_amps: float | None = None
    crit_amps: float | None = None


@dataclass(frozen=True)
class Power:
    total_w: float | None
    avg_w: float | None = None
    rails: tuple[PowerRail, ...] = ()


@dataclass(frozen=True)
class TempSensor:
    name: str
    celsius: float
    max_c: float | None = None
    crit_c: float | None = None


@dataclass(frozen=True)
class Fan:
    name: str
    speed_pct: float | None = None
    rpm: int | None = None
    profile: str | None = None


@dataclass(frozen=True)
class PowerMode:
    name: str
    id: int | None = None
    modes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GpuProcess:
    pid: int
    name: str
    gpu_mem: int | None  # bytes; None where the driver cannot tell
    user: str | None = None
    cpu_pct: float | None = None
    rss: int | None = None
    gpu: str | None = None


@dataclass(frozen=True)
class Board:
    model: str | None = None
    module: str | None = None
    soc: str | None = None
    l4t: str | None = None
    jetpack: str | None = None
    cuda: str | None = None
    driver: str | None = None
    kernel: str | None = None
    hostname: str | None = None


@dataclass(frozen=True)
class TelemetrySnapshot:
    """One sample.  Sources fill what they can; ``merge`` combines them."""

    time: float
    sources: tuple[str, ...] = ()
    cpu: Cpu | None = None
    memory: Memory | None = None
    gpus: tuple[Gpu, ...] = ()
    emc: Emc | None = None
    power: Power | None = None
    temps: tuple[TempSensor, ...] = ()
    fans: tuple[Fan, ...] = ()
    power_mode: PowerMode | None = None
    jetson_clocks: bool | None = None
    board: Board | None = None
    processes: tuple[GpuProcess, ...] = ()
    uptime_s: float | None = None

    @property
    def hottest(self) -> TempSensor | None:
        return max(self.temps, key=lambda t: t.celsius, default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; the schema is documented in README ("snapshot --json")."""
        data = dataclasses.asdict(self)
        data["schema"] = SCHEMA_VERSION
        return data


@dataclass(frozen=True)
class SourceStatus:
    """Whether a source is in use, and if not, why and what to do."""

    name: str
    active: bool
    detail: str
    hint: str = ""


@dataclass(frozen=True)
class SourceReport:
    statuses: tuple[SourceStatus, ...] = field(default_factory=tuple)

    def to_list(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(s) for s in self.statuses]


_MERGE_FIELDS = [f.name for f in dataclasses.fields(TelemetrySnapshot) if f.name not in ("time", "sources")]


def merge(snapshots: list[TelemetrySnapshot]) -> TelemetrySnapshot:
    """Combine partial snapshots field by field; earlier ones win (pass in priority order)."""
    if not snapshots:
        raise ValueError("merge needs at least one snapshot")
    values: dict[str, Any] = {}
    for name in _MERGE_FIELDS:
        for snap in snapshots:
            value = getattr(snap, name)
            if value not in (None, ()):
                values[name] = value
                break
    sources = tuple(s for snap in snapshots for s in snap.sources)
    return TelemetrySnapshot(time=max(s.time for s in snapshots), sources=sources, **values)
