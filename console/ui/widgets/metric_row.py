"""One telemetry line: label, value text, sparkline of its history."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from console.telemetry.history import History
from console.telemetry.view import sparkline
from console.ui.widgets.sparkline import SparkLine
from console.ui.widgets.text import LiveText

# Samples per cell, at least: a row that moves every second rewrote ~70 cells of each telemetry row every
# second (~2 kB/s over SSH); every 3 s the dashboard's idle output is below what it was with the old 2-5-cell
# lines (benchmarks/README.md, issue 15), and the row still fills in 3.5 minutes at 120 columns.
MIN_BUCKET = 3


def spark_points(history: History, series: str, width: int) -> list[float]:
    """The last ``width`` points a ``width``-cell sparkline draws: the max of each bucket of ``MIN_BUCKET``
    samples while they fit, then of buckets as small as still fill the row.

    A line of the whole window's buckets was a few cells at the right of an empty row for minutes
    (issue 15); this one fills its row after ``MIN_BUCKET * width`` samples and then spans more time as
    samples come, up to the history's capacity.  Buckets are aligned to the absolute sample count and only
    complete ones are drawn, so the line moves once per bucket.
    """
    least = MIN_BUCKET if history.capacity >= MIN_BUCKET * width else 1  # a short history still fills the row
    return history.buckets(series, width, max(least, len(history.values(series)) // max(width, 1)))


class MetricRow(Horizontal):
    DEFAULT_CLASSES = "metric-row"

    def __init__(
        self, label: str, *, scale: tuple[float | None, float | None] = (0.0, 100.0), id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self._label = label
        self._scale = scale
        self._value = LiveText("…", classes="metric-value")
        self._spark = SparkLine(classes="metric-spark")
        self._text = ""
        self._history: History | None = None
        self._series = ""
        self._drawn = ""
        self._value_width = 0

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

    @property
    def text(self) -> str:
        return self._text

    def fit_value(self, cells: int) -> None:
        """Give the value ``cells`` columns (the panel's widest value), the sparkline the rest of the row;
        0: the stylesheet's width."""
        if cells != self._value_width:
            self._value_width = cells
            if cells:
                self._value.styles.width = cells
            else:
                self._value.styles.clear_rule("width")
            self.call_after_refresh(self._draw)  # the sparkline's width changed with it: its points too

    def _draw(self) -> None:
        if self._history is None:
            return
        lo, hi = self._scale
        width = self._spark.size.width
        points = spark_points(self._history, self._series, width)
        # left-aligned while it grows: a new sample adds one cell, and only that cell is written
        line = sparkline(points, len(points), lo, hi).ljust(width)
        if line != self._drawn:
            self._drawn = line
            self._spark.set(line)

    def on_resize(self) -> None:
        self._draw()
