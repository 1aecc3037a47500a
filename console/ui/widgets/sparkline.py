"""One row of sparkline that repaints only up to the cells that changed.

A Static repaints its whole width at every change; a sparkline that takes its row (issue 15) then
rewrote ~70 cells of every telemetry row at each new point, trailing blanks included.
``SparkLine.set`` asks for the span from the first to the last changed cell; Textual writes a line
from the start of the segment that span falls in, so a line growing at its left-aligned end writes
its drawn cells, not the blanks after them.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


def changed_span(old: str, new: str) -> tuple[int, int] | None:
    """(first, end) of the cells where ``new`` differs from ``old`` (same length), None when equal."""
    if old == new:
        return None
    first = next(i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b)
    end = len(new) - next(i for i, (a, b) in enumerate(zip(reversed(old), reversed(new), strict=True)) if a != b)
    return first, end


class SparkLine(Widget):
    """One line of block characters (one cell each) in the widget's own style."""

    DEFAULT_CSS = "SparkLine { height: 1; }"

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._text = ""

    @property
    def text(self) -> str:
        return self._text

    def set(self, text: str) -> None:
        old, self._text = self._text, text
        if len(old) != len(text):
            self.refresh()
            return
        span = changed_span(old, text)
        if span is not None:
            self.refresh(Region(span[0], 0, span[1] - span[0], 1))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.rich_style
        if y:
            return Strip.blank(width, style)
        drawn = self._text[:width].rstrip(" ")
        return Strip([Segment(drawn, style), Segment(" " * (width - len(drawn)), style)], width)
