"""A Static that redraws only when its text changes (idle screens write nothing)."""

from __future__ import annotations

from rich.cells import cell_len
from textual.widgets import Static


class LiveText(Static):
    def __init__(self, text: str = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(text, id=id, classes=classes, markup=False)
        self._text = text

    def set(self, text: str) -> None:
        if text != self._text:
            same_room = self.same_room(self._text, text)
            self._text = text
            self.update(text, layout=not same_room)

    def same_room(self, old: str, new: str) -> bool:
        """True when ``new`` needs the very room ``old`` had: then only this widget is drawn again.

        A new reading changes a line's digits, not its size; laying the whole screen out again for it was
        most of the dashboard's idle CPU (a reflow of every widget each second, benchmarks/README.md). The
        room is the same when the width does not follow the text (not ``auto``) and both texts have as many
        lines, none wider than the widget (so none wraps)."""
        if not self.display:  # hidden (a panel's summary on a large screen): showing it lays it out
            return True
        width, styled = self.content_size.width, self.styles.width  # None: it fills its container
        if width <= 0 or (styled is not None and styled.is_auto):
            return False
        old_lines, new_lines = old.split("\n"), new.split("\n")
        return len(old_lines) == len(new_lines) and all(cell_len(line) <= width for line in (*old_lines, *new_lines))

    @property
    def text(self) -> str:
        return self._text
