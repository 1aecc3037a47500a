"""What a new reading asks Textual to repaint (issue 15's idle and flood bytes): the dashboard's value
column, a HUD tile and a followed log each ask for the cells that changed, or for a row drawn in one
colour code, not for the whole widget again."""

from __future__ import annotations

import dataclasses

from console.containers.logbuffer import LogBuffer
from console.hud.view import Tile
from console.ui.screens.hud import HudScreen, HudTile
from console.ui.widgets.logview import LogView
from console.ui.widgets.telemetry_panel import TelemetryPanel
from tests.app.helpers import frozen_app, ramp, wait_for
from tests.app.test_hud_screen import hud_app
from tests.app.test_logs_screen import ViewApp
from tests.app.test_snapshots import REPORT


def recorder(widget) -> list[tuple[tuple, dict]]:
    """Every ``refresh`` call of ``widget`` from now on (it still refreshes)."""
    calls: list[tuple[tuple, dict]] = []
    original = widget.refresh
    widget.refresh = lambda *a, **kw: (calls.append((a, kw)), original(*a, **kw))[1]
    return calls


async def test_the_value_column_does_not_narrow_when_a_figure_swings_back(orin_snapshot) -> None:
    """A power figure going 9.8 W -> 10.2 W -> 9.8 W moved the column between two widths and laid out every
    row (and wrote every sparkline whole) each time; the column keeps its widest width until a resize."""
    app = frozen_app(ramp(orin_snapshot, 5), REPORT)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.screen.query_one(TelemetryPanel)
        row = panel.rows["power"]
        await wait_for(pilot, lambda: row.text != "" and panel._value_cells > 0)
        narrow, history, series = panel._value_cells, row._history, row._series
        row.show("W" * (narrow + 2), history, series)  # wider than the column: it grows
        panel._fit_values()
        wide = panel._value_cells
        assert wide > narrow
        row.show("9.8 W", history, series)
        panel._fit_values()
        assert panel._value_cells == wide  # not back to the narrow width
        panel.on_resize()
        panel._fit_values()
        assert panel._value_cells == narrow


async def test_a_hud_figure_repaints_only_the_rows_of_the_digit_that_changed(orin_snapshot, tmp_path) -> None:
    app = hud_app(orin_snapshot, tmp_path / "flag")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HudScreen) and app.screen.plan is not None)
        hud = app.screen
        tile = next(t for t in hud.query(HudTile) if t.display)
        await wait_for(pilot, lambda: tile.size.height > 2)
        before = tile.render().plain
        key = tile._key
        shown: Tile = key[0]
        calls = recorder(tile)
        last = shown.value[-1]
        value = shown.value[:-1] + ("7" if last != "7" else "1")  # the last digit only
        tile.show(dataclasses.replace(shown, value=value), *key[1:])
        assert calls, "nothing asked to be repainted"
        regions = [a[0] for a, kw in calls if a]
        assert all(not kw.get("layout") for a, kw in calls) and len(regions) == len(calls)
        assert all(r.height == 1 and r.y >= 1 for r in regions)  # digit rows only, never the label's
        rows = len(tile.render().plain.split("\n"))
        digit_x = len(tile._rows[1]) - 4  # the last glyph's cells, at the right of the digit rows
        assert all(r.x >= digit_x - 2 for r in regions if r.y < rows - 1), regions
        assert tile.render().plain != before and tile.render().plain.split("\n")[0] == before.split("\n")[0]


async def test_a_followed_log_row_is_one_colour_code_from_text_to_edge() -> None:
    """A plain line and its padding share a style: drawn as one segment (a frame under a flood was 10%
    colour codes for the padding alone)."""
    buffer = LogBuffer(100, timestamps=True)
    app = ViewApp(buffer)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one("#incremental", LogView)
        buffer.feed("".join(f"2026-01-05T12:00:00.1Z {n}\n" for n in range(50)))
        view.lines_changed()
        await pilot.pause()
        strip = view.render_line(0)
        assert [s.text.strip() for s in strip] == [view._texts[int(view.scroll_offset.y)]]
        assert strip.cell_length == view.scrollable_content_region.width


async def test_a_shorter_unit_repaints_the_cells_of_the_longer_one(orin_snapshot, tmp_path) -> None:
    """A tile that shows another figure (pages rotate) with digits as wide: " °C" after " tok/s" must ask for
    the old unit's cells too, or "k/s" stays on screen."""
    app = hud_app(orin_snapshot, tmp_path / "flag")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HudScreen) and app.screen.plan is not None)
        tile = next(t for t in app.screen.query(HudTile) if t.display)
        await wait_for(pilot, lambda: tile.size.height > 2)
        shown, *rest = tile._key
        label = "A LABEL WIDER THAN ITS DIGITS AND UNIT"  # the tile's width does not change with the unit
        tile.show(dataclasses.replace(shown, label=label, value="42", unit="tok/s"), *rest)
        await pilot.pause()
        last = len(tile._rows) - 1
        digits = len(tile._rows[last])
        calls = recorder(tile)
        tile.show(dataclasses.replace(shown, label=label, value="43", unit="°C"), *rest)
        assert not any(kw.get("layout") for _, kw in calls)
        regions = [a[0] for a, kw in calls if a and a[0].y == last]
        assert any(r.x <= digits and r.right >= digits + len(" tok/s") for r in regions), regions
        assert tile.render().plain.endswith(" °C")
