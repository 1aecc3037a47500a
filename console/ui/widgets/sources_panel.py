"""Which telemetry and control sources are live, and for each missing one why and what to do."""

from __future__ import annotations

from textual.app import ComposeResult

from console.telemetry.model import SourceStatus
from console.ui.widgets.panel import Panel
from console.ui.widgets.text import LiveText


def status_lines(statuses: tuple[SourceStatus, ...]) -> str:
    lines = []
    for s in statuses:
        mark = "[ok]" if s.active else "[--]"
        line = f"{mark} {s.name:<7} {s.detail}"
        if s.hint and not s.active:
            line += f"  → {s.hint}"
        lines.append(line)
    return "\n".join(lines) if lines else "detecting sources…"


def status_summary(statuses: tuple[SourceStatus, ...]) -> str:
    if not statuses:
        return "detecting sources…"
    return "Sources: " + "  ".join(f"{s.name} {'ok' if s.active else '--'}" for s in statuses)


class SourcesPanel(Panel):
    def __init__(self, *, id: str | None = "sources") -> None:
        super().__init__("Sources", id=id)
        self.body = LiveText("detecting sources…", classes="body")

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.body

    def show(self, statuses: tuple[SourceStatus, ...]) -> None:
        self.set_summary(status_summary(statuses))
        self.body.set(status_lines(statuses))
