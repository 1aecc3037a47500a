"""Bounded history of the main series, for sparklines (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
_INDEX = {name: i for i, name in enumerate(SERIES)}


@dataclass(frozen=True)
class History:
    """The last ``capacity`` samples of each series (immutable: ``add`` returns a new history)."""

    capacity: int = 300
    series: tuple[tuple[float, ...], ...] = tuple(() for _ in SERIES)  # in SERIES order
    added: tuple[int, ...] = tuple(0 for _ in SERIES)  # samples ever added, per series

    @classmethod
    def sized(cls, seconds: float = 300, interval: float = 1.0) -> History:
        return cls(capacity=max(2, round(seconds / interval)))

    def add(self, snapshot: TelemetrySnapshot) -> History:
        series, added = list(self.series), list(self.added)
        for i, pick in enumerate(SERIES.values()):
            value = pick(snapshot)
            if value is not None:
                series[i] = (*series[i][-(self.capacity - 1) :], float(value))
                added[i] += 1
        return History(self.capacity, tuple(series), tuple(added))

    def values(self, name: str) -> list[float]:
        return list(self.series[_INDEX[name]])

    def buckets(self, name: str, width: int, size: int = 0) -> list[float]:
        """At most ``width`` points, the newest last: the max of each bucket of ``size`` samples (0: as many as
        spread the whole window over ``width``).

        Buckets are aligned to the absolute sample count and only complete ones are
        returned, so the result (and the sparkline drawn from it) changes once per
        bucket, not once per sample.
        """
        if width <= 0:
            return []
        size = size or max(1, -(-self.capacity // width))  # ceil
        values = self.series[_INDEX[name]]
        added = self.added[_INDEX[name]]
        first = added - len(values)  # absolute index of values[0]
        start, end = -(-first // size), added // size
        return [max(values[b * size - first : (b + 1) * size - first]) for b in range(max(start, end - width), end)]

    def __len__(self) -> int:
        return max(len(d) for d in self.series)
