"""One telemetry line: label, value text, sparkline of its history."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from console.formatting import sparkline
from console.ui.widgets.text import LiveText


class MetricRow(Horizontal):
    DEFAULT_CLASSES = "metric-row"

    def __init__(self, label: str, *, scale: tuple[float | None, float | None] = (0.0, 100.0),
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._label = label
        self._scale = scale
        self._value = LiveText("…", classes="metric-value")
        self._spark = LiveText("", classes="metric-spark")
        self._text = ""
        self._data: list[float] = []
        self._drawn = ""

    def compose(self) -> ComposeResult:
        yield Label(self._label, classes="metric-label")
        yield self._value
        yield self._spark

    def show(self, text: str, history: list[float] | None = None) -> None:
        """Update only what changed (keeps idle redraws and SSH bytes low)."""
        if text != self._text:
            self._text = text
            self._value.set(text)
        if history is not None:
            self.set_class(not history, "nospark")  # the value gets the row when there is no series
            self._data = history
            self._draw()

    def _draw(self) -> None:
        lo, hi = self._scale
        line = sparkline(self._data, self._spark.size.width, lo, hi)
        if line != self._drawn:
            self._drawn = line
            self._spark.set(line)

    def on_resize(self) -> None:
        self._draw()
