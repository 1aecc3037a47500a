"""The Fleet screen driven by Pilot (issue 16): `F` opens it, raised flags first, a stale device keeps its
figures with their age, `o`/`O` sort, `/` filters, Enter shows a device; a bad hosts file is said."""

from __future__ import annotations

import time
from pathlib import Path

from textual.widgets import DataTable

from console.config import Config
from console.fleet.hosts import Device
from console.fleet.reading import Reading, ServerFigures
from console.fleet.state import Answer
from console.runtime import events as ev
from console.ui.screens.fleet import FleetScreen
from console.ui.screens.fleet_device import DeviceScreen
from console.ui.screens.hud import HudTile
from console.ui.widgets.fleet_tiles import FleetTiles
from tests.app.helpers import frozen_app, wait_for
from tests.app.test_snapshots import REPORT

DEVICES = tuple(
    Device(n, f"http://127.0.0.1:{9000 + i}", group="rack-a") for i, n in enumerate(("thor-01", "thor-02", "thor-03"))
)


def reading(tps: float, flag: bool = False) -> Reading:
    server = ServerFigures("vllm", "READY", "qwen3-8b", "", tps, 2, 1)
    return Reading(0.0, "", 55.0, 20 << 30, 122 << 30, 61.0, 42.5, flag, 1_800_000_000.0 if flag else None, (server,))


def names(app) -> list[str]:
    table = app.screen.query_one(DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def open_fleet(pilot, app) -> FleetScreen:
    await pilot.press("F")
    await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen))
    now = time.monotonic()
    app.runtime.emit(ev.FleetListed(DEVICES))
    app.runtime.emit(
        ev.FleetAnswered(
            (
                Answer("thor-01", reading(40.0), None, 0.01, now),
                Answer("thor-02", reading(12.5, flag=True), None, 0.01, now - 10),  # its last good answer: 10 s ago
                Answer("thor-03", None, "unreachable: Connection refused", 0.001, now),
            )
        )
    )
    app.runtime.emit(ev.FleetAnswered((Answer("thor-02", None, "no answer within 0.75 s", 0.75, now),)))
    await wait_for(pilot, lambda: len(app.screen._shown) == 3)
    await pilot.pause()
    return app.screen


async def test_flags_first_stale_and_unreachable_said(orin_snapshot) -> None:
    app = frozen_app([orin_snapshot], REPORT)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_fleet(pilot, app)
        assert names(app) == ["thor-02", "thor-01", "thor-03"]
        table = screen.query_one(DataTable)
        row = [str(c) for c in table.get_row_at(0)]
        assert row[1].startswith("stale ") and row[2] == "READY qwen3-8b" and row[-2:] == ["HELP", "agent"]
        assert [str(c) for c in table.get_row_at(2)][1] == "unreachable"
        assert "1/3 up · 1 Ready · 40 tok/s · 1 help flag" in screen.query_one("#title").text


async def test_sort_filter_and_open(orin_snapshot) -> None:
    app = frozen_app([orin_snapshot], REPORT)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_fleet(pilot, app)
        await pilot.press("o")  # name
        await wait_for(pilot, lambda: names(app) == ["thor-01", "thor-02", "thor-03"])
        await pilot.press("O")
        await wait_for(pilot, lambda: names(app) == ["thor-03", "thor-02", "thor-01"])
        await pilot.press("o", "o", "o")  # state, server, tok/s: the busiest first; no figure last
        await wait_for(pilot, lambda: screen.sort == "tok/s" and names(app) == ["thor-01", "thor-02", "thor-03"])
        await pilot.press("slash", *"thor-03")
        await wait_for(pilot, lambda: names(app) == ["thor-03"])
        await pilot.press("enter", "enter")  # leave the box, open the device
        await wait_for(pilot, lambda: isinstance(app.screen, DeviceScreen) and app.screen.device.name == "thor-03")
        assert app.runtime.state.fleet.watched == "thor-03"  # its agent is read while the view shows it
        status = app.screen.query_one("#device-status")
        await wait_for(pilot, lambda: "http://127.0.0.1:9002: unreachable" in status.text, timeout=10)
        assert "no ssh= for it: read-only" in status.text
        await pilot.press("s")  # no ssh=: said, nothing run
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen))
        await wait_for(pilot, lambda: app.runtime.state.fleet.watched is None)


async def test_a_click_on_a_header_sorts_by_that_column(orin_snapshot) -> None:
    app = frozen_app([orin_snapshot], REPORT)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_fleet(pilot, app)
        table = screen.query_one(DataTable)
        keys = list(table.columns)
        column = keys.index("temp")
        x = sum(table.columns[k].get_render_width(table) for k in keys[:column]) + 1
        await pilot.click(table, offset=(x, 0))
        await wait_for(pilot, lambda: screen.sort == "temp")
        assert names(app)[-1] == "thor-03"  # no figure: last whatever the order
        await pilot.click(table, offset=(x, 0))
        await wait_for(pilot, lambda: screen.reverse)
        assert "sort: temp ▲" in screen.query_one("#title").text


async def test_tiles_from_120x40_arrows_and_enter(orin_snapshot) -> None:
    app = frozen_app([orin_snapshot], REPORT)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fleet(pilot, app)
        tiles = screen.query_one(FleetTiles)
        assert screen.view == "tiles" and tiles.has_focus and not screen.query_one(DataTable).display
        await wait_for(pilot, lambda: "thor-02" in tiles.render().plain)
        lines = tiles.render().plain.split("\n")
        first = lines[1].split("│")[1]  # the first tile: the raised flag
        assert first.startswith("thor-02") and "stale" in first
        assert "READY qwen3-8b" in lines[2] and "HELP" in lines[5]
        assert "unreachable: Connection" in lines[2] and "│refused " in lines[3]  # thor-03 says why, wrapped
        assert len(lines[1]) <= 120 and lines[1].count("╭") == 0 and lines[0].count("╭") == 3  # side by side
        await pilot.press("right", "right")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DeviceScreen) and app.screen.device.name == "thor-03")


async def test_big_type_on_a_small_lcd_and_v_picks_the_view(orin_snapshot) -> None:
    app = frozen_app([orin_snapshot], REPORT)
    async with app.run_test(size=(64, 20)) as pilot:
        screen = await open_fleet(pilot, app)
        assert screen.view == "big"
        needs = screen.query_one("#fleet-needs")
        await wait_for(pilot, lambda: needs.text == "HELP: thor-02  ·  not up: thor-03")
        await wait_for(pilot, lambda: len([w for w in screen.query(HudTile) if w.display]) == 4)
        big = [w for w in screen.query(HudTile) if w.display]
        shown = [w.tile for w in big if w.tile is not None]
        assert [t.label for t in shown] == ["DEVICES UP", "SERVERS READY", "FLEET TOK/S", "HELP FLAGS"]
        assert shown[0].value == "1/3" and shown[3].value == "1" and shown[3].level == "crit"
        await pilot.press("v")  # auto -> list
        await wait_for(pilot, lambda: screen.view == "list" and screen.query_one(DataTable).row_count == 3)
        await pilot.press("v")
        await wait_for(pilot, lambda: screen.view == "tiles")
        await pilot.press("v", "v")  # big, then auto again: big at this size
        await wait_for(pilot, lambda: screen.chosen_view == "auto" and screen.view == "big")


async def test_a_bad_hosts_file_is_said_with_its_line(orin_snapshot, tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("thor-01 http://127.0.0.1:1\nthor-01 http://127.0.0.1:2\n")
    app = frozen_app([orin_snapshot], REPORT, Config(fleet_hosts=str(hosts)), start_screen="fleet")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen))
        status = app.screen.query_one("#fleet-status")
        await wait_for(pilot, lambda: "already on line 1" in status.text)
        assert f"{hosts}:2" in status.text and app.screen.query_one(DataTable).row_count == 0
