"""The HUD's digits stretch upward into rows a screen leaves over (issue 15 item 21: half of 120x40 was empty)."""

from __future__ import annotations

from console.hud import bigdigits
from console.hud.layout import plan
from console.hud.view import tiles

TILES = tiles(None, None)


def test_tall_digits_keep_their_width() -> None:
    assert bigdigits.size("42", 2, tall=4) == (14, 10)
    lines = bigdigits.render("42", 2, tall=4)
    assert len(lines) == 10 and max(map(len, lines)) == 14
    assert bigdigits.render("8", 1, tall=1) == bigdigits.render("8", 1)
    assert bigdigits.size("8", 2, ascii_only=True, tall=3) == (6, 15)  # ASCII pixels: one row each


def test_plan_stretches_into_the_height_and_never_past_it() -> None:
    p = plan(TILES, 120, 38)  # 120x40 less the two header rows
    assert (p.scale, p.tall, p.columns) == (2, 4, 2)
    assert 30 <= 3 * p.tile_height - 1 <= 38  # nearly all rows used, none past them
    assert plan(TILES, 120, 20).tall == 0  # no room to stretch: square pixels as before (0: the scale)
    assert plan(TILES, 40, 10).tall == 0  # paged: not stretched
    assert plan(TILES, 80, 22, ascii_only=True).tall == 0  # seven-segment ASCII digits do not stretch


def test_the_tests_reader_reads_stretched_digits_back() -> None:
    """tests/hud_reader.py (the real-terminal HUD tests read tmux captures with it) follows the stretch."""
    from console.hud.bigdigits import render
    from tests.hud_reader import decode

    for scale, tall in ((1, 1), (1, 2), (2, 3), (2, 4), (3, 5)):
        assert decode(render("12.5/64", scale, tall=tall), scale, tall) == "12.5/64"
