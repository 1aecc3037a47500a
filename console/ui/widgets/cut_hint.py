"""A line under a wide table that says when columns are cut off and how to reach them.

A table wider than the screen was cut with no hint (issue 15): bench results, containers at 80
columns.  ``CutHint(table)`` follows the table's scrolling and size and reads, e.g.,
``→ 3 more columns (scroll →)``; it is empty while every column is in view.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import DataTable

from console.ui.widgets.text import LiveText


def hidden_columns(widths: Sequence[int], scroll_x: int, visible: int) -> tuple[int, int]:
    """(columns cut on the left, columns cut on the right) of columns ``widths`` wide, scrolled by
    ``scroll_x`` in a view ``visible`` cells wide; a column partly out of view counts as cut."""
    left = right = 0
    x = 0
    for width in widths:
        if x + width > scroll_x + visible and width:
            right += 1
        elif x < scroll_x and width:
            left += 1
        x += width
    return left, right


def cut_text(left: int, right: int) -> str:
    """What the hint says: "" when nothing is cut."""

    def columns(n: int) -> str:
        return f"{n} column{'s' if n > 1 else ''}"

    parts = []
    if left:
        parts.append(f"← {columns(left)} (scroll ←)")
    if right:
        parts.append(f"→ {columns(right).replace(' column', ' more column')} (scroll →)")
    return " · ".join(parts)


def table_cut(table: DataTable) -> tuple[int, int]:
    """The columns of ``table`` cut on each side as it is laid out now."""
    widths = [column.get_render_width(table) for column in table.ordered_columns]
    visible = table.scrollable_content_region.width
    if visible <= 0:
        return 0, 0
    return hidden_columns(widths, round(table.scroll_x), visible)


class CutHint(LiveText):
    """Put it right under ``table`` (same container); it hides itself while nothing is cut."""

    DEFAULT_CSS = "CutHint { height: 1; padding: 0 1; color: $text-muted; text-style: italic; }"

    def __init__(self, table: DataTable, *, id: str | None = None) -> None:
        super().__init__("", id=id, classes="cut-hint")
        self.table = table

    def on_mount(self) -> None:
        for attribute in ("scroll_x", "virtual_size", "show_horizontal_scrollbar"):
            self.watch(self.table, attribute, self.check, init=False)
        self.call_after_refresh(self.check)

    def on_resize(self) -> None:
        self.check()

    def check(self) -> None:
        """Say again what is cut (also callable by the screen after it changes the table's columns)."""
        text = cut_text(*table_cut(self.table)) if self.table.is_mounted else ""
        self.set(text)
        self.display = bool(text)
