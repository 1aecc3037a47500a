"""Messages posted from worker threads to the app (the only way data reaches the UI)."""

from __future__ import annotations

from textual.message import Message

from console.telemetry.discovery import Discovery
from console.telemetry.model import TelemetrySnapshot


class SourcesDiscovered(Message):
    def __init__(self, discovery: Discovery) -> None:
        super().__init__()
        self.discovery = discovery


class TelemetrySampled(Message):
    def __init__(self, snapshot: TelemetrySnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class SourceFailed(Message):
    def __init__(self, source: str, error: str) -> None:
        super().__init__()
        self.source = source
        self.error = error
