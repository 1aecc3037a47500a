"""One row of sparkline that repaints only the piece and the cells that changed.

A Static repaints its whole width at every change; a sparkline that takes its row (issue 15) then
rewrote ~70 cells of every telemetry row at each new point, trailing blanks included.  Textual writes a
changed line from the left edge of the widget the change falls in, up to the change's end, so the line
is drawn by a few pieces side by side (``PIECES``): a point added at the left-aligned line's end
rewrites the drawn cells of its own piece, not those of the whole row.  More pieces write fewer bytes
but cost start-up and layout time (8-cell pieces, ~90 widgets, cost 0.08 s of start-up).
"""

from __future__ import annotations

from rich.segment import Segment
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

PIECES = 4


def changed_span(old: str, new: str) -> tuple[int, int] | None:
    """(first, end) of the cells where ``new`` differs from ``old`` (same length), None when equal."""
    if old == new:
        return None
    first = next(i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b)
    end = len(new) - next(i for i, (a, b) in enumerate(zip(reversed(old), reversed(new), strict=True)) if a != b)
    return first, end


class SparkPiece(Widget):
    """A stretch of the line: block characters (one cell each) in the line's style."""

    DEFAULT_CSS = "SparkPiece { height: 1; width: 1fr; }"

    def __init__(self) -> None:
        super().__init__()
        self._text = ""

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


class SparkLine(Horizontal):
    """One line of block characters, dealt out to ``PIECES`` pieces by their widths."""

    DEFAULT_CSS = "SparkLine { height: 1; }"

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._text = ""
        self.pieces = [SparkPiece() for _ in range(PIECES)]

    def compose(self) -> ComposeResult:
        yield from self.pieces

    @property
    def text(self) -> str:
        return self._text

    def set(self, text: str) -> None:
        self._text = text
        self._deal()

    def _deal(self) -> None:
        x = 0
        for piece in self.pieces:
            width = piece.size.width
            piece.set(self._text[x : x + width].ljust(width))
            x += width

    def render_text(self) -> str:
        """The line as the pieces draw it (for tests)."""
        return "".join(piece.render_line(0).text for piece in self.pieces)

    def on_resize(self) -> None:
        self.call_after_refresh(self._deal)  # the pieces' widths are known once laid out
