"""One poller per source: a blocking loop meant for a thread worker (no Textual).

It never overlaps polls (one loop, one source), reports each sample and each failure
through callbacks, and reopens a dead source with backoff instead of giving up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from console.telemetry.model import TelemetrySnapshot
from console.telemetry.source import SourceUnavailable, TelemetrySource

RETRY_MIN_S = 2.0
RETRY_MAX_S = 30.0


class Poller:
    def __init__(
        self,
        source: TelemetrySource,
        interval: float,
        on_sample: Callable[[TelemetrySnapshot], None],
        on_error: Callable[[str, str], None],
        opened: bool = False,
    ) -> None:
        self.source = source
        self.interval = interval
        self.on_sample = on_sample
        self.on_error = on_error
        self._opened = opened
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Loop until ``stop()``: sample, report, wait for the next tick."""
        retry = RETRY_MIN_S
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    if not self._opened:
                        self.source.open()
                        self._opened = True
                    snapshot = self.source.sample()
                except SourceUnavailable as exc:
                    self._fail(f"{exc}" + (f" — {exc.hint}" if exc.hint else ""))
                    self._stop.wait(retry)
                    retry = min(RETRY_MAX_S, retry * 2)
                    continue
                except Exception as exc:  # noqa: BLE001 - a dead source degrades its panel, never the app
                    self._fail(f"{type(exc).__name__}: {exc}")
                    self._stop.wait(retry)
                    retry = min(RETRY_MAX_S, retry * 2)
                    continue
                retry = RETRY_MIN_S
                if self._stop.is_set():
                    break
                self.on_sample(snapshot)
                if not self.source.paced:
                    self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))
        finally:
            self.source.close()

    def _fail(self, message: str) -> None:
        if self._opened:
            self.source.close()
            self._opened = False
        if not self._stop.is_set():
            self.on_error(self.source.name, message)
