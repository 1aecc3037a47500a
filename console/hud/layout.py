"""Where the HUD's tiles go on a terminal of a given size (pure).

A tile is a label row over its big value.  ``plan`` picks the largest digit scale at which all
tiles fit on one page, then stretches the digits upward (up to twice as tall) into the rows left
over, so a 120x40 screen is filled rather than half empty; if no scale fits on one page, scale 1
with pages that the HUD rotates through; if not even one big tile fits (a very short screen),
figures as one text row each, paged the same way.  Portrait screens simply get one column.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.hud import bigdigits
from console.hud.view import Tile

GAP_X = 2  # columns between tiles
MAX_SCALE = 4


@dataclass(frozen=True)
class Plan:
    scale: int  # 0: text rows, no big digits
    columns: int
    tile_width: int
    tile_height: int
    pages: tuple[tuple[int, ...], ...]  # tile indexes per page
    tall: int = 0  # pixel height of the digits (``scale`` when 0): taller fills the screen's height

    @property
    def rotating(self) -> bool:
        return len(self.pages) > 1


def tile_size(tile: Tile, scale: int, ascii_only: bool, tall: int = 0) -> tuple[int, int]:
    """(columns, rows) of a tile at ``scale``: the label row over the template drawn big, the unit beside it."""
    width, height = bigdigits.size(tile.template, scale, ascii_only, tall)
    value = bigdigits.size(tile.value, scale, ascii_only, tall)[0]  # a value wider than its template still fits
    return max(max(width, value) + 1 + len(tile.unit), len(tile.label)), 1 + height


def plan(tiles: tuple[Tile, ...] | list[Tile], width: int, height: int, ascii_only: bool = False) -> Plan:
    """Lay ``tiles`` out in ``width`` x ``height`` cells (the area below the header lines)."""
    n = len(tiles)
    if n == 0:
        return Plan(0, 1, width, 1, ((),))
    for scale in range(MAX_SCALE, 0, -1):
        tw = max(tile_size(t, scale, ascii_only)[0] for t in tiles) + GAP_X
        th = max(tile_size(t, scale, ascii_only)[1] for t in tiles) + 1  # a blank row under each
        if tw - GAP_X > width:
            continue
        columns = max(1, min(n, (width + GAP_X) // tw))
        rows = (height + 1) // th  # the last row needs no blank row under it
        if rows == 0:
            continue
        if columns * rows >= n:
            return _stretched(tiles, Plan(scale, columns, tw, th, (tuple(range(n)),)), height, ascii_only)
        if scale == 1:
            return Plan(1, columns, tw, th, _pages(n, columns * rows))
    # not even one big tile: one text row per figure
    per_page = max(1, height)
    return Plan(0, 1, width, 1, _pages(n, per_page))


def _stretched(tiles: tuple[Tile, ...] | list[Tile], p: Plan, height: int, ascii_only: bool) -> Plan:
    """``p`` with its digits as tall as the rows of tiles allow, up to twice their width's scale (the
    seven-segment ASCII digits of scale 1 do not stretch)."""
    if ascii_only and p.scale == 1:
        return p
    rows = -(-len(tiles) // p.columns)
    best = p
    for tall in range(p.scale + 1, 2 * p.scale + 1):
        th = max(tile_size(t, p.scale, ascii_only, tall)[1] for t in tiles) + 1
        if rows * th - 1 > height:
            break
        best = Plan(p.scale, p.columns, p.tile_width, th, p.pages, tall)
    return best


def _pages(n: int, per_page: int) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(range(i, min(n, i + per_page))) for i in range(0, n, per_page))


def text_row(tile: Tile, width: int = 0) -> str:
    """A figure in normal type, for screens too small for big digits (cut to ``width`` when given)."""
    text = f"{tile.label} {tile.value} {tile.unit}".strip()
    return text[:width] if width > 0 else text
