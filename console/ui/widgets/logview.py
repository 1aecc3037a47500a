"""A container log's lines on screen: only the visible rows are drawn (the Line API), from a snapshot
of the buffer taken once per batch.  Error and warning lines are marked (colour from the theme, and
bold / italic so NO_COLOR still tells them apart), the line a search or an error jump landed on is
shown reversed, long lines wrap or scroll sideways, and Docker's timestamps show or hide.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.containers.logbuffer import LogBuffer, level


class LogView(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"logview--error", "logview--warning", "logview--current", "logview--stamp"}
    DEFAULT_CSS = """
    LogView > .logview--error { color: $error; text-style: bold; }
    LogView > .logview--warning { color: $warning; text-style: italic; }
    LogView > .logview--current { text-style: reverse bold; }
    LogView > .logview--stamp { color: $text-muted; }
    """

    def __init__(self, buffer: LogBuffer, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.buffer = buffer
        self.wrap = False
        self.timestamps = False
        self.auto_scroll = True
        self.current: int | None = None  # absolute number of the line shown reversed
        self._texts: list[str] = []
        self._stamps: list[str] = []
        self._first = 1
        self._ends: list[int] = []  # wrap: the visual row after each line's last

    @property
    def line_count(self) -> int:
        return len(self._texts)

    # ---- content ------------------------------------------------------------------------------------
    def lines_changed(self) -> None:
        """The buffer changed (a batch, a clear): take a new snapshot and lay it out."""
        self._texts, self._stamps = self.buffer.texts(), self.buffer.stamps()
        self._first = self.buffer.first_number
        self._layout()
        if self.auto_scroll:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def set_options(self, *, wrap: bool | None = None, timestamps: bool | None = None) -> None:
        top = self._line_at(round(self.scroll_y))
        if wrap is not None:
            self.wrap = wrap
        if timestamps is not None:
            self.timestamps = timestamps
        self._layout()
        if self.auto_scroll:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        elif top is not None:
            self.scroll_to(x=0, y=self._row_of(top[0]), animate=False, immediate=True)

    def show_line(self, number: int) -> None:
        """Mark line ``number`` (absolute) and scroll it into view with two lines of context above."""
        self.current = number
        index = number - self._first
        if 0 <= index < len(self._texts):
            self.scroll_to(x=0, y=max(0, self._row_of(index) - 2), animate=False, immediate=True)
        self.refresh()

    def on_resize(self) -> None:
        self._layout()

    def _prefix(self, index: int) -> str:
        stamp = self._stamps[index] if self.timestamps and index < len(self._stamps) else ""
        return f"{stamp} " if stamp else ""

    def _layout(self) -> None:
        width = max(1, self.scrollable_content_region.width)
        if self.wrap:
            rows = (max(1, -(-cell_len(self._prefix(i) + text) // width)) for i, text in enumerate(self._texts))
            self._ends = list(accumulate(rows))
            self.virtual_size = Size(width, self._ends[-1] if self._ends else 0)
        else:
            self._ends = []
            stamp = max((len(self._prefix(i)) for i in range(len(self._stamps))), default=0) if self.timestamps else 0
            longest = max(map(len, self._texts), default=0) + stamp
            self.virtual_size = Size(longest, len(self._texts))
        self.refresh()

    def _row_of(self, index: int) -> int:
        if not self.wrap:
            return index
        return self._ends[index - 1] if index > 0 and index - 1 < len(self._ends) else 0

    def _line_at(self, row: int) -> tuple[int, int] | None:
        """(line index, its row) at visual ``row``."""
        if not self.wrap:
            return (row, 0) if 0 <= row < len(self._texts) else None
        index = bisect_right(self._ends, row)
        if index >= len(self._texts):
            return None
        return index, row - self._row_of(index)

    # ---- drawing ------------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        found = self._line_at(scroll_y + y)
        if found is None:
            return Strip.blank(width, base)
        index, sub = found
        text = self._texts[index]
        style = base
        kind = level(text)
        if kind is not None:
            style += self.get_component_rich_style(f"logview--{kind}", partial=True)
        if self._first + index == self.current:
            style += self.get_component_rich_style("logview--current", partial=True)
        segments = []
        prefix = self._prefix(index)
        if prefix:
            segments.append(Segment(prefix, style + self.get_component_rich_style("logview--stamp", partial=True)))
        segments.append(Segment(text, style))
        strip = Strip(segments)
        start = sub * width if self.wrap else scroll_x
        pad = style if self._first + index == self.current else Style.null() + base
        return strip.crop(start, start + width).adjust_cell_length(width, pad)
