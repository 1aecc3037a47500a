"""Bounded history of the main series, for sparklines (pure, no I/O)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from console.telemetry.model import TelemetrySnapshot


def _gpu_load(s: TelemetrySnapshot) -> float | None:
    return s.gpus[0].load if s.gpus else None


def _ram_pct(s: TelemetrySnapshot) -> float | None:
    return s.memory.used_pct if s.memory else None


def power_total(s: TelemetrySnapshot) -> float | None:
    """Board total where the board reports one, else the sum of GPU power."""
    if s.power and s.power.total_w is not None:
        return s.power.total_w
    watts = [g.power_w for g in s.gpus if g.power_w is not None]
    return sum(watts) if watts else None


def hottest_c(s: TelemetrySnapshot) -> float | None:
    """The hottest sensor, else the hottest GPU."""
    hottest = s.hottest
    if hottest is not None:
        return hottest.celsius
    temps = [g.temp_c for g in s.gpus if g.temp_c is not None]
    return max(temps) if temps else None


SERIES: dict[str, Callable[[TelemetrySnapshot], float | None]] = {
    "cpu": lambda s: s.cpu.load if s.cpu else None,
    "gpu": _gpu_load,
    "ram": _ram_pct,
    "power": power_total,
    "temp": hottest_c,
    "emc": lambda s: s.emc.load if s.emc else None,
}


class History:
    """The last ``seconds`` of each series at one sample per ``interval``."""

    def __init__(self, seconds: float = 300, interval: float = 1.0) -> None:
        self.capacity = max(2, round(seconds / interval))
        self._series: dict[str, deque[float]] = {name: deque(maxlen=self.capacity) for name in SERIES}
        self._added: dict[str, int] = dict.fromkeys(SERIES, 0)  # samples ever added, per series

    def add(self, snapshot: TelemetrySnapshot) -> None:
        for name, pick in SERIES.items():
            value = pick(snapshot)
            if value is not None:
                self._series[name].append(float(value))
                self._added[name] += 1

    def values(self, name: str) -> list[float]:
        return list(self._series[name])

    def buckets(self, name: str, width: int) -> list[float]:
        """The whole window in at most ``width`` points: the max of each bucket of samples.

        Buckets are aligned to the absolute sample count and only complete ones are
        returned, so the result (and the sparkline drawn from it) changes once per
        bucket, not once per sample: at 120 columns a 5-minute line moves every 5 s.
        """
        if width <= 0:
            return []
        size = max(1, -(-self.capacity // width))  # ceil
        series = self._series[name]
        added = self._added[name]
        first = added - len(series)  # absolute index of series[0]
        start_bucket = -(-first // size)
        end_bucket = added // size
        values = list(series)
        return [max(values[b * size - first : (b + 1) * size - first]) for b in range(start_bucket, end_bucket)]

    def __len__(self) -> int:
        return max(len(d) for d in self._series.values())
