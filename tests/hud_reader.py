"""Reading the HUD's big digits back from a captured screen (tmux), to check the figures it shows.

A capture can catch a frame half drawn (the terminal has taken part of the app's output): digits from two
frames, or a glyph cut in two.  ``read_tile`` reads only a complete frame: the tile parses whole, and the
capture before it showed the very same tile (the app had stopped writing there between the two).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from console.hud.bigdigits import FONT, HALF

ORDER = [c for c in FONT if c != " "] + [" "]
FROM_HALF = {v: k for k, v in HALF.items()}


def pixels(lines: list[str]) -> list[list[bool]]:
    """Half-block text rows back to pixel rows (two per text row)."""
    width = max((len(line) for line in lines), default=0)
    grid: list[list[bool]] = []
    for line in lines:
        top, bottom = [], []
        for ch in line.ljust(width):
            t, b = FROM_HALF.get(ch, (False, False))
            top.append(t)
            bottom.append(b)
        grid += [top, bottom]
    return grid


def decode(lines: list[str], scale: int = 1, tall: int = 0) -> str:
    """The text drawn by ``bigdigits.render(text, scale, tall=tall)`` (half blocks; pixels ``scale`` wide and
    ``tall`` high, ``scale`` when 0: the HUD stretches its digits upward to fill the screen)."""
    tall = tall or scale
    grid = pixels(lines)[: 5 * tall]
    small = [row[::scale] for row in grid[::tall]]
    width = max((len(r) for r in small), default=0)
    small = [r + [False] * (width - len(r)) for r in small]
    out, x = "", 0
    while x < width:
        if not any(row[x] for row in small):
            x += 1
            continue
        for c in ORDER:
            glyph = FONT[c]
            w = len(glyph[0])
            if (
                x + w <= width
                and all(small[r][x : x + w] == [p == "#" for p in glyph[r]] for r in range(5))
                and (x + w == width or not any(row[x + w] for row in small))
            ):
                out += c
                x += w
                break
        else:
            raise ValueError(f"no glyph at column {x}")
    return out


def read_tile(
    capture: Callable[[], str],
    label: str,
    scale: int = 1,
    until: Callable[[str], bool] | None = None,
    tall: int = 0,
    timeout: float = 30.0,
    poll: float = 0.1,
) -> tuple[str, str]:
    """``(value, screen)``: the value under ``label`` read from a complete frame, the first such reading
    that ``until`` accepts (any, without one).  ``capture`` returns the screen now.  A frame is complete when
    two captures in a row show the same tile (its label row and the rows of its digits) and those digits
    parse whole, at least one glyph.  Fails (AssertionError, with the last screen and what was wrong with
    it) when no such reading comes within ``timeout``; ``poll`` is the pause between captures."""
    deadline = time.monotonic() + timeout
    previous: list[str] | None = None
    why = "no capture yet"
    screen = ""
    while True:
        screen = capture()
        region = tile_rows(screen, label, scale, tall)
        if region is None:
            why = f"{label!r} not on the screen"
        elif region != previous:
            why = "the tile changed since the capture before (a frame being drawn)"
        else:
            try:
                value = tile(screen, label, scale, tall)
            except ValueError as exc:
                why = f"the digits do not parse: {exc}"
            else:
                if not value:
                    why = "no digits under the label"
                elif until is None or until(value):
                    return value, screen
                else:
                    why = f"a complete frame reads {value!r}"
        previous = region
        if time.monotonic() > deadline:
            raise AssertionError(f"{label!r}: no complete reading wanted within {timeout:.0f} s ({why}):\n{screen}")
        time.sleep(poll)


def tile_rows(screen: str, label: str, scale: int = 1, tall: int = 0) -> list[str] | None:
    """The rows ``tile`` reads (the label's row and the digits' rows, whole), None where the label is not on
    the screen."""
    rows = screen.splitlines()
    for i, row in enumerate(rows):
        if label in row:
            return rows[i : i + 1 + (5 * (tall or scale) + 1) // 2]
    return None


def tile(screen: str, label: str, scale: int = 1, tall: int = 0) -> str:
    """The value under ``label`` on a captured screen."""
    rows = screen.splitlines()
    for i, row in enumerate(rows):
        col = row.find(label)
        if col >= 0:
            rest = row[col + len(label) :]
            end = col + len(label) + (len(rest) - len(rest.lstrip())) if rest.strip() else None  # the next label
            height = (5 * (tall or scale) + 1) // 2
            body = [r[col:end] for r in rows[i + 1 : i + 1 + height]]
            return decode([_digits_only(r) for r in body], scale, tall)
    raise ValueError(f"{label!r} not on the screen")


def _digits_only(row: str) -> str:
    """Keep the block characters up to the unit (letters after the digits are not glyph pixels)."""
    out = []
    for ch in row:
        if ch in FROM_HALF:
            out.append(ch)
        else:
            break
    return "".join(out)
