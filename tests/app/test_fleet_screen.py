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
    await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 3)
    return app.screen


async def test_flags_first_stale_and_unreachable_said(orin_snapshot) -> None:
    app = frozen_app([orin_snapshot], REPORT)
    async with app.run_test(size=(120, 40)) as pilot:
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
        await wait_for(pilot, lambda: "Fleet · thor-03" in str(getattr(app.screen, "_title", "")))
        assert "unreachable: Connection refused" in app.screen._text


async def test_a_click_on_a_header_sorts_by_that_column(orin_snapshot) -> None:
    app = frozen_app([orin_snapshot], REPORT)
    async with app.run_test(size=(120, 40)) as pilot:
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


async def test_a_bad_hosts_file_is_said_with_its_line(orin_snapshot, tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("thor-01 http://127.0.0.1:1\nthor-01 http://127.0.0.1:2\n")
    app = frozen_app([orin_snapshot], REPORT, Config(fleet_hosts=str(hosts)), start_screen="fleet")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen))
        status = app.screen.query_one("#fleet-status")
        await wait_for(pilot, lambda: "already on line 1" in status.text)
        assert f"{hosts}:2" in status.text and app.screen.query_one(DataTable).row_count == 0
