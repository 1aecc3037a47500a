"""One row of sparkline in chunks of a few cells, so a new point repaints its chunk, not the row.

Textual repaints a widget's whole line when its text changes; a sparkline across its row (issue 15)
then rewrote ~70 cells of every telemetry row at each new point (~0.5 to 1 kB/s over SSH at idle).
Split into ``CHUNK``-cell pieces, a line growing at its right end rewrites only the last piece; a
line that scrolls still rewrites them all, once per bucket (every 2 to 4 s).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal

from console.ui.widgets.text import LiveText

CHUNK = 8  # cells per piece


def chunks(text: str, n: int) -> list[str]:
    """``text`` cut into ``n`` pieces of ``CHUNK`` cells (one cell per character), the last ones empty."""
    return [text[i * CHUNK : (i + 1) * CHUNK] for i in range(n)]


class SparkLine(Horizontal):
    """A line of block characters (one cell each) in the widget's own colour."""

    DEFAULT_CSS = f"""
    SparkLine {{ height: 1; overflow: hidden; }}
    SparkLine > LiveText {{ width: {CHUNK}; height: 1; }}
    """

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._text = ""

    @property
    def text(self) -> str:
        return self._text

    def compose(self) -> ComposeResult:
        for _ in range(self._needed(self.app.size.width)):
            yield LiveText("")

    @staticmethod
    def _needed(width: int) -> int:
        return -(-max(width, 1) // CHUNK)

    def on_resize(self) -> None:
        pieces = list(self.query_children(LiveText))
        more = self._needed(self.size.width) - len(pieces)
        if more > 0:  # a wider terminal than at start: pieces for the new cells
            self.mount_all([LiveText("") for _ in range(more)])

    def set(self, text: str) -> None:
        self._text = text
        pieces = list(self.query_children(LiveText))
        for piece, part in zip(pieces, chunks(text, len(pieces)), strict=True):
            piece.set(part)
