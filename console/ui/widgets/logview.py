"""A container log's lines on screen: only the visible rows are drawn (the Line API), from a copy of
the buffer's lines that each batch extends (the lines it added appended, those the buffer dropped cut
off the front), so a batch costs the view what the batch holds, not the whole buffer.  Error and
warning lines are marked (colour from the theme, and bold / italic so NO_COLOR still tells them
apart), the line a search or an error jump landed on is shown reversed, long lines wrap or scroll
sideways, and Docker's timestamps show or hide.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
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
        self._source: LogBuffer | None = None  # the buffer the lines were copied from
        self._total = 0  # its ``total`` when they were
        self._width = 1  # wrap: the width the rows were counted for
        self._ends: list[int] = []  # wrap: the visual row after each line's last, counted from ``_base``
        self._base = 0  # wrap: the rows the lines cut off the front took
        self._wide = 0  # no wrap: the widest line since the last full count; it never shrinks in between, as a
        # width that changed with every batch (the widest line dropped) laid the whole screen out again each time
        self._strips: LRUCache[tuple[int, int, int, bool, bool, bool], Strip] = LRUCache(1024)

    @property
    def line_count(self) -> int:
        return len(self._texts)

    # ---- content ------------------------------------------------------------------------------------
    def lines_changed(self) -> None:
        """The buffer changed (a batch, or a new buffer): add the new lines, cut those it dropped."""
        buffer, start = self.buffer, len(self._texts)
        added = buffer.total - self._total
        if buffer is not self._source or added < 0:
            self._texts, self._stamps, start = buffer.texts(), buffer.stamps(), -1
            self._source = buffer
        elif added:
            texts, stamps = buffer.newest(added)
            self._drop(len(self._texts) + len(texts) - len(buffer))
            start = len(self._texts)
            self._texts += texts
            self._stamps += stamps
        self._total, self._first = buffer.total, buffer.first_number
        if start < 0 or (self.wrap and self._wrap_width() != self._width):
            self._layout()
        elif start < len(self._texts):
            self._extend(start)
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

    def notify_style_update(self) -> None:
        """The theme changed: lines are drawn again in its colours."""
        super().notify_style_update()
        self._strips.clear()

    def on_resize(self) -> None:
        if self.wrap and self._wrap_width() != self._width:
            self._layout()

    def watch_show_vertical_scrollbar(self) -> None:
        """The scroll bar came or went: wrapped rows are counted for the width left."""
        self.on_resize()

    def _wrap_width(self) -> int:
        return max(1, self.scrollable_content_region.width)

    def _prefix(self, index: int) -> str:
        stamp = self._stamps[index] if self.timestamps and index < len(self._stamps) else ""
        return f"{stamp} " if stamp else ""

    def _layout(self) -> None:
        """Count every line again: on a new buffer, a resize, a wrap or timestamps toggle."""
        self._width = self._wrap_width()
        self._ends, self._base = [], 0
        self._wide = 0
        self._strips.clear()
        self._extend(0)

    def _extend(self, start: int) -> None:
        """Count the lines from index ``start`` on (those a batch added)."""
        if self.wrap:
            width = self._width
            rows = (
                max(1, -(-cell_len(self._prefix(i) + self._texts[i]) // width)) for i in range(start, len(self._texts))
            )
            ends = accumulate(rows, initial=self._ends[-1] if self._ends else self._base)
            next(ends)
            self._ends.extend(ends)
            self.virtual_size = Size(width, (self._ends[-1] - self._base) if self._ends else 0)
        else:
            if start < len(self._texts):
                self._wide = max(
                    self._wide, max(cell_len(self._prefix(i) + self._texts[i]) for i in range(start, len(self._texts)))
                )
            self.virtual_size = Size(self._wide, len(self._texts))
        self.refresh()

    def _drop(self, count: int) -> None:
        """Cut the ``count`` oldest lines (the buffer no longer keeps them): their counts go, the rest stay."""
        if count <= 0:
            return
        del self._texts[:count], self._stamps[:count]
        if self._ends:
            self._base = self._ends[count - 1]
            del self._ends[:count]

    def _row_of(self, index: int) -> int:
        if not self.wrap:
            return index
        return self._ends[index - 1] - self._base if 0 < index <= len(self._ends) else 0

    def _line_at(self, row: int) -> tuple[int, int] | None:
        """(line index, its row) at visual ``row``."""
        if not self.wrap:
            return (row, 0) if 0 <= row < len(self._texts) else None
        index = bisect_right(self._ends, row + self._base)
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
        number = self._first + index
        start = sub * width if self.wrap else scroll_x
        key = (number, start, width, number == self.current, self.timestamps, self.wrap)
        cached = self._strips.get(key)
        if cached is not None:
            return cached
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
        pad = style if number == self.current else Style.null() + base
        # one segment where the text and its padding share a style: a row is then one colour code, not two
        strip = Strip(segments).crop(start, start + width).adjust_cell_length(width, pad).simplify()
        self._strips[key] = strip  # a line is drawn again at each batch while it is in view: once is enough
        return strip
