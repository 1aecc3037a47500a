"""Energy over a time window from power samples (pure, thread-safe).

Telemetry (jtop's total of the power rails on a Jetson, NVML's board power on a discrete
GPU) arrives about once a second; the meter keeps the samples with their arrival time
(``time.monotonic``) and integrates watts over a trial's window by the trapezoid rule,
holding the nearest reading flat at the window's edges.
"""

from __future__ import annotations

import itertools
import threading
from bisect import bisect_left, bisect_right

from console.telemetry.model import TelemetrySnapshot

KEEP_SECONDS = 7200.0


def watts_of(snap: TelemetrySnapshot) -> tuple[float | None, str]:
    """The device's power now and what it counts: the rails' total, else the GPUs' board power."""
    if snap.power is not None and snap.power.total_w is not None:
        return snap.power.total_w, "board power (sum of the rails)"
    gpu = [g.power_w for g in snap.gpus if g.power_w is not None]
    if gpu:
        return sum(gpu), "GPU board power (NVML)"
    return None, ""


class PowerMeter:
    """Power samples in; joules over a window out."""

    def __init__(self) -> None:
        self._t: list[float] = []
        self._w: list[float] = []
        self._lock = threading.Lock()
        self.what = ""  # what the watts count, for the report

    def add(self, t: float, watts: float, what: str = "") -> None:
        with self._lock:
            if self._t and t <= self._t[-1]:
                return  # out of order or repeated: keep the series monotonic
            self._t.append(t)
            self._w.append(watts)
            if what:
                self.what = what
            if t - self._t[0] > KEEP_SECONDS:
                cut = bisect_left(self._t, t - KEEP_SECONDS)
                del self._t[:cut], self._w[:cut]

    def add_snapshot(self, t: float, snap: TelemetrySnapshot) -> None:
        watts, what = watts_of(snap)
        if watts is not None:
            self.add(t, watts, what)

    @property
    def has_samples(self) -> bool:
        with self._lock:
            return bool(self._t)

    def joules(self, t0: float, t1: float, max_gap: float = 5.0) -> float | None:
        """Energy between t0 and t1; None without a sample within ``max_gap`` s of the window
        or with a gap longer than ``max_gap`` inside it (telemetry stalled: the figure would be a guess)."""
        if t1 <= t0:
            return None
        with self._lock:
            lo = max(bisect_right(self._t, t0) - 1, 0)
            hi = min(bisect_left(self._t, t1) + 1, len(self._t))
            ts, ws = self._t[lo:hi], self._w[lo:hi]
        if not ts or ts[0] > t0 + max_gap or ts[-1] < t1 - max_gap:
            return None
        if any(min(b, t1) - max(a, t0) > max_gap for a, b in itertools.pairwise(ts)):
            return None
        points = [(t, w) for t, w in zip(ts, ws, strict=True) if t0 < t < t1]
        start_w = _at(ts, ws, t0)
        end_w = _at(ts, ws, t1)
        series = [(t0, start_w), *points, (t1, end_w)]
        return sum((b[0] - a[0]) * (a[1] + b[1]) / 2 for a, b in itertools.pairwise(series))


def _at(ts: list[float], ws: list[float], t: float) -> float:
    """Watts at ``t``: linear between the samples around it, the nearest one outside them."""
    if t <= ts[0]:
        return ws[0]
    if t >= ts[-1]:
        return ws[-1]
    i = bisect_right(ts, t)
    t_a, t_b, w_a, w_b = ts[i - 1], ts[i], ws[i - 1], ws[i]
    return w_a + (w_b - w_a) * (t - t_a) / (t_b - t_a)
