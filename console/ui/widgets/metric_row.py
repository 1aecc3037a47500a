"""One telemetry line: label, value text, sparkline of its history."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from console.telemetry.history import History
from console.telemetry.view import sparkline
from console.ui.widgets.text import LiveText


class MetricRow(Horizontal):
    DEFAULT_CLASSES = "metric-row"

    def __init__(
        self, label: str, *, scale: tuple[float | None, float | None] = (0.0, 100.0), id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self._label = label
        self._scale = scale
        self._value = LiveText("…", classes="metric-value")
        self._spark = LiveText("", classes="metric-spark")
        self._text = ""
        self._history: History | None = None
        self._series = ""
        self._drawn = ""

    def compose(self) -> ComposeResult:
        yield Label(self._label, classes="metric-label")
        yield self._value
        yield self._spark

    def show(self, text: str, history: History | None = None, series: str = "") -> None:
        """Update only what changed (keeps idle redraws and SSH bytes low).

        Without a history (the source has no such figure) the value gets the whole row.
        """
        if text != self._text:
            self._text = text
            self._value.set(text)
        self.set_class(history is None, "nospark")
        self._history, self._series = history, series
        self._draw()

    def _draw(self) -> None:
        if self._history is None:
            return
        lo, hi = self._scale
        width = self._spark.size.width
        line = sparkline(self._history.buckets(self._series, width), width, lo, hi)
        if line != self._drawn:
            self._drawn = line
            self._spark.set(line)

    def on_resize(self) -> None:
        self._draw()
