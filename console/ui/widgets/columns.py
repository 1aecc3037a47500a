"""Rows of text columns fitted to a width: one line per row, what does not fit cut with "…" (pure).

A panel's rows wrapped when the terminal was narrower than their text (issue 15): here each column has
the width of its widest cell up to its ``most``; while the row is too wide the columns give up width in
``give`` order (highest first) down to their ``least``, and a cell cut short ends in "…" so the cut shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

ELLIPSIS = "…"


@dataclass(frozen=True)
class Column:
    most: int = 0  # widest it is drawn; 0: as wide as its widest cell
    least: int = 0  # narrowest it is squeezed to before the line itself is cut
    give: int = 0  # columns with a higher ``give`` lose width first; 0: never squeezed


def ellipsize(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, ending in "…" when cut."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1) + ELLIPSIS


def widths(rows: Sequence[Sequence[str]], columns: Sequence[Column], width: int, gap: int = 1) -> list[int]:
    """Each column's width so that a row takes at most ``width`` cells where the ``least`` widths allow."""
    natural = [max((cell_len(r[i]) for r in rows if i < len(r)), default=0) for i in range(len(columns))]
    out = [min(n, c.most) if c.most else n for n, c in zip(natural, columns, strict=True)]
    shown = [i for i, w in enumerate(out) if w]
    excess = sum(out) + gap * max(0, len(shown) - 1) - width
    for i in sorted((i for i, c in enumerate(columns) if c.give > 0), key=lambda i: -columns[i].give):
        if excess <= 0:
            break
        cut = min(excess, max(0, out[i] - columns[i].least))
        out[i] -= cut
        excess -= cut
    return out


def fit_rows(rows: Sequence[Sequence[str]], columns: Sequence[Column], width: int, gap: int = 1) -> list[str]:
    """One line per row, columns aligned, none wider than ``width`` (the last cut with "…" if need be)."""
    sizes = widths(rows, columns, width, gap)
    lines = []
    for row in rows:
        cells = [
            ellipsize(cell, size) + " " * max(0, size - cell_len(ellipsize(cell, size)))
            for cell, size in zip(row, sizes, strict=False)
            if size
        ]
        lines.append(ellipsize((" " * gap).join(cells).rstrip(), width))
    return lines
