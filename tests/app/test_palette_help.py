"""The palette and ``?`` offer what the screen underneath can do, then the global actions; never another
screen's, and nothing that leaves the dashboard for Textual's blank default screen (issue 15, items 1 and 19)."""

from __future__ import annotations

from textual.widgets import DataTable

from console.containers.model import ContainerInfo
from console.keymap import (
    APP_BINDINGS,
    CHAT_BINDINGS,
    CONTAINERS_BINDINGS,
    DASHBOARD_BINDINGS,
    DETAIL_BINDINGS,
    SERVERS_BINDINGS,
    BindingSpec,
)
from console.runtime import events as ev
from console.telemetry.model import TelemetrySnapshot
from console.ui.screens.dashboard import DashboardScreen
from console.ui.screens.help import HelpScreen
from console.ui.screens.telemetry import TelemetryScreen
from tests.app.helpers import live_app, wait_for


def ids(*tables: tuple[BindingSpec, ...]) -> set[str]:
    return {s.id for t in tables for s in t}


def palette_ids(app) -> set[str]:
    """The binding ids the palette offers on the current screen (its help text is "id (key)")."""
    return {c.help.split(" (")[0] for c in app.get_system_commands(app.screen) if not c.title.startswith("Theme")}


async def help_rows(app, pilot) -> list[str]:
    """Open ``?`` over the current screen; the ids it lists, section rows as "section-…", in order; close it."""
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
    table = app.screen.query_one(DataTable)
    rows = [str(key.value) for key in table.rows]
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
    return rows


async def test_each_screen_offers_its_own_actions_and_the_global_ones(orin_snapshot: TelemetrySnapshot) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(120, 40)) as pilot:
        on_dashboard = palette_ids(app)
        # the dashboard's, its servers panel's and chat pane's, the app's: no other screen's "back"
        assert on_dashboard == ids(DASHBOARD_BINDINGS, SERVERS_BINDINGS, CHAT_BINDINGS, APP_BINDINGS) - {"app.palette"}
        assert "Back" not in {c.title for c in app.get_system_commands(app.screen)}
        rows = await help_rows(app, pilot)
        assert set(rows) - {"section-screen", "section-global"} == on_dashboard
        assert rows.index("section-screen") == 0 and rows.index("section-global") > rows.index("dashboard.bench")
        assert all(r.startswith("app.") for r in rows[rows.index("section-global") + 1 :])

        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TelemetryScreen))
        assert palette_ids(app) == ids(DETAIL_BINDINGS, APP_BINDINGS) - {"app.palette"}
        rows = await help_rows(app, pilot)
        assert rows[:3] == ["section-screen", "detail.back", "detail.filter"]  # this screen's, first
        assert not any(r.startswith("dashboard.") for r in rows)  # not the dashboard's keys, as before

        back = next(c for c in app.get_system_commands(app.screen) if c.title == "Back")
        back.callback()
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))


async def test_container_actions_are_in_the_palette_and_help(orin_snapshot: TelemetrySnapshot) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(120, 40)) as pilot:
        c = ContainerInfo(id="c" * 12, name="vllm", image="vllm/vllm-openai", state="running", status="Up")
        app.runtime.emit(ev.ContainersListed((c,)))
        await pilot.press("c")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ContainersScreen")
        await wait_for(pilot, lambda: "containers.logs" in palette_ids(app))
        offered = palette_ids(app)
        assert {"containers.stop", "containers.restart", "containers.logs", "containers.launch"} <= offered
        assert offered <= ids(CONTAINERS_BINDINGS, APP_BINDINGS)
        assert {"containers.stop", "containers.launch"} <= set(await help_rows(app, pilot))


async def test_back_never_leaves_a_blank_screen(orin_snapshot: TelemetrySnapshot) -> None:
    """The palette offered seven "Back"s on the dashboard; each ran the app's back and popped the dashboard,
    leaving Textual's blank default screen. None is offered now, and the app's back stops at the dashboard."""
    app = live_app([orin_snapshot])
    async with app.run_test(size=(120, 40)) as pilot:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert not titles & {"Back", "Back/cancel", "Dashboard", "Cancel", "Close", "Close help"}
        await app.run_action("back")  # Textual's own back (app.back), however it is reached
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen) and len(app.screen_stack) == 2
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TelemetryScreen))
        await app.run_action("back")  # from another screen it still goes back
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))


async def test_a_remap_written_as_characters_with_spaces_works(orin_snapshot: TelemetrySnapshot) -> None:
    from console.config import Config

    app = live_app([orin_snapshot], Config(refresh_interval=0.2, keys={"dashboard.telemetry": "x, %"}))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("percent_sign")  # the key that types %: Textual names it percent_sign
        await wait_for(pilot, lambda: isinstance(app.screen, TelemetryScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, TelemetryScreen))
        command = next(c for c in app.get_system_commands(app.screen) if c.help.startswith("app.quit"))
        assert command.help == "app.quit (q)"
