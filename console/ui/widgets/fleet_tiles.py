"""The Fleet screen's grid: one boxed tile per device, as many side by side as the width takes.

Arrow keys or h/j/k/l (``fleet_tiles.*``), or a click, move the selection; a double click says which
device to open (Enter is the screen's ``fleet.open``).  The whole grid is one Text, drawn again only
when a tile's text changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import set_cell_size
from rich.text import Text
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.widget import Widget

from console.fleet.tiles import TILE_LINES, shape, tile_lines
from console.fleet.view import UP, FleetRow
from console.keymap import FLEET_TILES_BINDINGS
from console.ui.bindings import bindings

BOX_ROWS = TILE_LINES + 2


class FleetTiles(Widget, can_focus=True):
    """Tiles of the rows given to ``show``, flags first as the rows come."""

    DEFAULT_CSS = "FleetTiles { height: auto; }"
    BINDINGS = bindings(FLEET_TILES_BINDINGS)

    @dataclass
    class Opened(Message):
        index: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[FleetRow] = []
        self.selected = 0
        self._drawn: tuple[object, ...] = ()
        self._text = Text()

    def show(self, rows: list[FleetRow]) -> None:
        self.rows = rows
        self.selected = min(self.selected, max(0, len(rows) - 1))
        self._draw()

    def _draw(self) -> None:
        width = self.size.width or 120
        grid = shape(width)
        inner = grid.tile_width - 3  # a box's two sides and a gap
        tiles = [tile_lines(r, inner) for r in self.rows]
        key = (width, self.selected, tuple(map(tuple, tiles)), tuple((r.flag, r.condition) for r in self.rows))
        if key == self._drawn:
            return
        lines_before = len(self._text.plain.split("\n")) if self._text.plain else 0
        self._drawn = key
        text = Text()
        for start in range(0, len(tiles), grid.columns):
            chunk = range(start, min(start + grid.columns, len(tiles)))
            for line in range(BOX_ROWS):
                for i in chunk:
                    text.append_text(self._box_line(i, tiles[i], line, inner))
                    text.append(" ")
                text.append("\n")
        self._text = text
        lines_after = len(text.plain.split("\n")) if text.plain else 0
        self.refresh(layout=lines_after != lines_before)

    def _box_line(self, index: int, lines: list[str], line: int, inner: int) -> Text:
        row = self.rows[index]
        border = "bold red" if row.flag else ("" if row.condition == UP else "dim")
        if index == self.selected and self.has_focus:
            border = f"{border} reverse".strip()
        if line == 0:
            return Text(f"╭{'─' * inner}╮", style=border)
        if line == BOX_ROWS - 1:
            return Text(f"╰{'─' * inner}╯", style=border)
        body = set_cell_size(lines[line - 1], inner)
        style = "bold" if line == 1 else ("bold red" if row.flag and line == TILE_LINES else "")
        if row.condition != UP and not row.flag:
            style = f"{style} dim".strip()
        return Text.assemble(("│", border), (body, style), ("│", border))

    def render(self) -> Text:
        return self._text

    def on_resize(self) -> None:
        self._draw()

    def on_focus(self) -> None:
        self._drawn = ()
        self._draw()

    def on_blur(self) -> None:
        self._drawn = ()
        self._draw()

    def action_move(self, dx: int, dy: int) -> None:
        if not self.rows:
            return
        columns = shape(self.size.width or 120).columns
        self.selected = max(0, min(len(self.rows) - 1, self.selected + dx + dy * columns))
        self._draw()
        top = (self.selected // columns) * BOX_ROWS
        self.scroll_visible_region(top)

    def scroll_visible_region(self, top: int) -> None:
        self.scroll_to_region(Region(0, top, self.size.width, BOX_ROWS), animate=False)

    def action_open(self) -> None:
        if self.rows:
            self.post_message(self.Opened(self.selected))

    def on_click(self, event: events.Click) -> None:
        grid = shape(self.size.width or 120)
        index = (event.y // BOX_ROWS) * grid.columns + event.x // grid.tile_width
        if 0 <= index < len(self.rows) and event.x % grid.tile_width < grid.tile_width - 1:
            self.selected = index
            self._draw()
            if event.chain >= 2:
                self.action_open()
