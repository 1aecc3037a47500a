"""Big digits drawn from a 3x5 pixel font, as Unicode half blocks or as plain ASCII.

Half blocks (``▀▄█``) draw two pixel rows per text row; at scale 1 a digit is 3 columns by 3
rows.  Terminals that cannot show block characters (the Linux framebuffer console's default
font, ``TERM=linux``; a non-UTF-8 locale) get ASCII: a seven-segment font at scale 1 and ``#``
pixels when scaled up.  Characters without a glyph (letters, units) are left out: labels carry
them in normal type.
"""

from __future__ import annotations

FONT: dict[str, tuple[str, ...]] = {  # 5 pixel rows; "#" set
    "0": ("###", "# #", "# #", "# #", "###"),
    "1": (" # ", "## ", " # ", " # ", "###"),
    "2": ("###", "  #", "###", "#  ", "###"),
    "3": ("###", "  #", "###", "  #", "###"),
    "4": ("# #", "# #", "###", "  #", "  #"),
    "5": ("###", "#  ", "###", "  #", "###"),
    "6": ("###", "#  ", "###", "# #", "###"),
    "7": ("###", "  #", "  #", "  #", "  #"),
    "8": ("###", "# #", "###", "# #", "###"),
    "9": ("###", "# #", "###", "  #", "###"),
    ".": (" ", " ", " ", " ", "#"),
    ":": (" ", "#", " ", "#", " "),
    "-": ("   ", "   ", "###", "   ", "   "),
    "/": ("  #", "  #", " # ", "#  ", "#  "),
    "%": ("# #", "  #", " # ", "#  ", "# #"),
    " ": ("  ", "  ", "  ", "  ", "  "),
}
SEVEN: dict[str, tuple[str, str, str]] = {  # ASCII at scale 1: three rows
    "0": (" _ ", "| |", "|_|"),
    "1": ("   ", "  |", "  |"),
    "2": (" _ ", " _|", "|_ "),
    "3": (" _ ", " _|", " _|"),
    "4": ("   ", "|_|", "  |"),
    "5": (" _ ", "|_ ", " _|"),
    "6": (" _ ", "|_ ", "|_|"),
    "7": (" _ ", "  |", "  |"),
    "8": (" _ ", "|_|", "|_|"),
    "9": (" _ ", "|_|", " _|"),
    ".": (" ", " ", "."),
    ":": (" ", ".", "."),
    "-": ("   ", " _ ", "   "),
    "/": ("  ", " /", "/ "),
    "%": ("  ", "o/", "/o"),
    " ": ("  ", "  ", "  "),
}
HALF = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def glyph_text(text: str) -> str:
    """The characters of ``text`` that have a glyph (others are dropped)."""
    return "".join(c for c in text if c in FONT)


def pixels(text: str, scale: int = 1, tall: int = 0) -> list[list[bool]]:
    """The pixel rows of ``text`` (one blank pixel column between glyphs), each pixel ``scale`` wide and
    ``tall`` high (``scale`` when 0)."""
    chars = glyph_text(text)
    rows: list[list[bool]] = [[] for _ in range(5)]
    for i, c in enumerate(chars):
        for r in range(5):
            if i:
                rows[r].append(False)
            rows[r].extend(p == "#" for p in FONT[c][r])
    out: list[list[bool]] = []
    for row in rows:
        wide = [p for p in row for _ in range(scale)]
        out.extend(list(wide) for _ in range(tall or scale))
    return out


def render(text: str, scale: int = 1, ascii_only: bool = False, tall: int = 0) -> list[str]:
    """``text`` as lines of big digits, ``tall`` (``scale`` when 0) stretching them upward to fill a screen."""
    if ascii_only and scale == 1:
        chars = glyph_text(text)
        return [" ".join(SEVEN[c][r] for c in chars).rstrip() if chars else "" for r in range(3)]
    grid = pixels(text, scale, tall)
    if ascii_only:
        return ["".join("#" if p else " " for p in row).rstrip() for row in grid]
    if len(grid) % 2:
        grid.append([False] * len(grid[0]) if grid and grid[0] else [])
    return [
        "".join(HALF[(a, b)] for a, b in zip(top, bottom, strict=True)).rstrip()
        for top, bottom in zip(grid[::2], grid[1::2], strict=True)
    ]


def size(text: str, scale: int = 1, ascii_only: bool = False, tall: int = 0) -> tuple[int, int]:
    """(columns, rows) that ``render`` takes."""
    chars = glyph_text(text)
    if not chars:
        return 0, 0
    if ascii_only and scale == 1:
        return sum(len(SEVEN[c][0]) for c in chars) + len(chars) - 1, 3
    width = (sum(len(FONT[c][0]) for c in chars) + len(chars) - 1) * scale
    tall = tall or scale
    height = 5 * tall if ascii_only else (5 * tall + 1) // 2
    return width, height
