"""The contract every telemetry source keeps (no Textual, no threads here)."""

from __future__ import annotations

from typing import Protocol

from console.telemetry.model import TelemetrySnapshot


class SourceUnavailable(Exception):
    """A source cannot run here; the message says why, ``hint`` what to do."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.hint = hint


class TelemetrySource(Protocol):
    """Opened once, sampled by exactly one poller, closed at exit."""

    name: str
    #: True when ``sample()`` itself waits for the next reading (jtop's ``ok()``);
    #: the poller then does not sleep between samples.
    paced: bool

    def open(self) -> None:
        """Connect; raise SourceUnavailable with a reason when this source cannot work."""

    def sample(self) -> TelemetrySnapshot:
        """Read one partial snapshot; may block; raises on a dead source."""

    def close(self) -> None:
        """Release what open() took; safe to call twice."""
