"""What the app knows about telemetry: latest sample per source, merged view, history.

Pure (no I/O, no Textual), so it is the same for the dashboard, the HUD and tests.
"""

from __future__ import annotations

from console.telemetry.history import History
from console.telemetry.model import SourceReport, SourceStatus, TelemetrySnapshot, merge


class TelemetryState:
    def __init__(self, history_seconds: float = 300, interval: float = 1.0) -> None:
        self.history = History(history_seconds, interval)
        self.order: list[str] = []  # source names in priority order
        self.latest: dict[str, TelemetrySnapshot] = {}
        self.errors: dict[str, str] = {}
        self.report = SourceReport()
        self.merged: TelemetrySnapshot | None = None

    def set_sources(self, order: list[str], report: SourceReport) -> None:
        self.order = list(order)
        self.report = report

    def add(self, snapshot: TelemetrySnapshot) -> TelemetrySnapshot:
        """Record one source's sample; returns the new merged snapshot.

        History advances once per sample of the highest-priority live source, so two
        sources at 1 s do not write two points a second.
        """
        name = snapshot.sources[0] if snapshot.sources else "?"
        self.latest[name] = snapshot
        self.errors.pop(name, None)
        parts = [self.latest[n] for n in self.order if n in self.latest and n not in self.errors]
        parts += [s for n, s in self.latest.items() if n not in self.order]
        self.merged = merge(parts)
        pacing = next((n for n in self.order if n in self.latest and n not in self.errors), name)
        if name == pacing:
            self.history.add(self.merged)
        return self.merged

    def fail(self, source: str, message: str) -> None:
        self.errors[source] = message

    def statuses(self) -> tuple[SourceStatus, ...]:
        """The discovery report with live failures folded in."""
        out = []
        for s in self.report.statuses:
            if s.name in self.errors:
                out.append(SourceStatus(s.name, False, f"failed: {self.errors[s.name]}", "retrying"))
            else:
                out.append(s)
        return tuple(out)
