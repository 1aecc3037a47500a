"""What the console knows about telemetry: latest sample per source, merged view, history.

Pure and immutable (no I/O, no Textual): each change returns a new state, so the runtime's
reducer can hold it in the one ``ConsoleState`` and a paused screen can keep an old one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType

from console.telemetry.history import History
from console.telemetry.model import SourceReport, SourceStatus, TelemetrySnapshot, merge

_EMPTY: MappingProxyType[str, TelemetrySnapshot] = MappingProxyType({})
_NO_ERRORS: MappingProxyType[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class TelemetryState:
    history: History = field(default_factory=History)
    order: tuple[str, ...] = ()  # source names in priority order
    latest: MappingProxyType[str, TelemetrySnapshot] = field(default_factory=lambda: _EMPTY)
    errors: MappingProxyType[str, str] = field(default_factory=lambda: _NO_ERRORS)
    report: SourceReport = field(default_factory=SourceReport)
    merged: TelemetrySnapshot | None = None

    @classmethod
    def sized(cls, history_seconds: float = 300, interval: float = 1.0) -> TelemetryState:
        return cls(history=History.sized(history_seconds, interval))

    def with_sources(self, order: list[str] | tuple[str, ...], report: SourceReport) -> TelemetryState:
        return replace(self, order=tuple(order), report=report)

    def add(self, snapshot: TelemetrySnapshot) -> TelemetryState:
        """The state with one source's sample recorded (``merged`` is the new merged snapshot).

        History advances once per sample of the highest-priority live source, so two
        sources at 1 s do not write two points a second.
        """
        name = snapshot.sources[0] if snapshot.sources else "?"
        latest = {**self.latest, name: snapshot}
        errors = {k: v for k, v in self.errors.items() if k != name}
        parts = [latest[n] for n in self.order if n in latest and n not in errors]
        parts += [s for n, s in latest.items() if n not in self.order]
        merged = merge(parts)
        pacing = next((n for n in self.order if n in latest and n not in errors), name)
        history = self.history.add(merged) if name == pacing else self.history
        return replace(
            self,
            history=history,
            latest=MappingProxyType(latest),
            errors=MappingProxyType(errors),
            merged=merged,
        )

    def fail(self, source: str, message: str) -> TelemetryState:
        return replace(self, errors=MappingProxyType({**self.errors, source: message}))

    def statuses(self) -> tuple[SourceStatus, ...]:
        """The discovery report with live failures folded in."""
        out = []
        for s in self.report.statuses:
            if s.name in self.errors:
                out.append(SourceStatus(s.name, False, f"failed: {self.errors[s.name]}", "retrying"))
            else:
                out.append(s)
        return tuple(out)
