"""Pilot tests: the dashboard driven by keys, data arriving through the real poller path."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from textual.widgets import DataTable, Input

from console.config import Config, load
from console.runtime import events as ev
from console.telemetry.model import TelemetrySnapshot
from console.themes import theme_names
from console.ui.messages import StateChanged
from console.ui.screens.dashboard import DashboardScreen
from console.ui.screens.help import HelpScreen
from console.ui.screens.telemetry import TelemetryScreen
from console.ui.widgets.chat_pane import ChatPane
from console.ui.widgets.servers_panel import ServersPanel
from console.ui.widgets.sources_panel import SourcesPanel
from console.ui.widgets.telemetry_panel import TelemetryPanel
from tests.app.helpers import live_app, wait_for
from tests.conftest import FixedSource, fixed_discovery


def gpu_row(app) -> str:
    return app.screen.query_one(TelemetryPanel).rows["gpu"]._value.text


async def test_live_samples_reach_the_dashboard(orin_snapshot: TelemetrySnapshot) -> None:
    posted: list[type] = []
    app = live_app([orin_snapshot])
    async with app.run_test(size=(120, 40), message_hook=lambda m: posted.append(type(m))) as pilot:
        await wait_for(pilot, lambda: "90%" in gpu_row(app))
        assert isinstance(app.screen, DashboardScreen)
        panel = app.screen.query_one(TelemetryPanel)
        assert "816 MHz" in gpu_row(app)
        assert panel.rows["power"]._value.text.startswith("11.5 W")
        assert "NVIDIA Jetson AGX Orin (emulated)" in panel.board.text and "JetPack 6.1" in panel.board.text
        assert "telemetry: jtop" in app.screen.query_one("#title").text
        assert " 8 ███▎·· 55%" in panel.cores.text  # core 8 at 55%: 3.3 of 6 cells
        assert "GPU memory: 1 process" in panel.procs.text and "1.0 GiB  python3" in panel.procs.text
        assert "11.5 W  GPU_SOC 6.0 VIN_SYS_5V0 3.5" in panel.rows["power"]._value.text  # biggest rails first
    assert StateChanged in posted  # the runtime's events reach the screen as state changes


async def test_zoom_tables_filter_and_back(orin_snapshot: TelemetrySnapshot) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.telemetry.merged is not None)
        await pilot.press("t")
        assert isinstance(app.screen, TelemetryScreen)
        screen = app.screen
        assert screen.query_one("#t-cores", DataTable).row_count == 8
        assert screen.query_one("#t-rails", DataTable).row_count == 3
        procs = screen.query_one("#t-processes", DataTable)
        assert procs.row_count == 1 and procs.get_row_at(0)[2] == "python3"
        await pilot.press("slash")
        assert screen.query_one("#filter", Input).has_focus
        await pilot.press(*"zzz")
        assert procs.row_count == 0
        assert "no process matches 'zzz'" in screen.query_one("#processes-empty").text
        await pilot.press("escape")  # first Esc clears the filter
        assert procs.row_count == 1 and isinstance(app.screen, TelemetryScreen)
        await pilot.press("escape")  # second goes back
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("enter")  # zoom of the focused (telemetry) panel
        assert isinstance(app.screen, TelemetryScreen)


async def test_help_lists_bindings_and_user_keymap_applies(orin_snapshot: TelemetrySnapshot) -> None:
    app = live_app([orin_snapshot], Config(refresh_interval=0.2, keys={"dashboard.telemetry": "g"}))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        rows = {table.get_row_at(i)[2]: table.get_row_at(i)[0] for i in range(table.row_count)}
        assert rows["dashboard.telemetry"] == "g" and rows["app.quit"] == "q"
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("t")
        assert isinstance(app.screen, DashboardScreen)  # t was remapped away
        await pilot.press("g")
        assert isinstance(app.screen, TelemetryScreen)


async def test_palette_switches_theme_and_remembers_it(tmp_path: Path, orin_snapshot: TelemetrySnapshot) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# my settings\n[ui]\ntheme = "jetconsole-dark"\n')
    config = dataclasses.replace(load(str(path), themes=theme_names()), refresh_interval=0.2)
    app = live_app([orin_snapshot], config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Theme: high")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.theme == "high-contrast")
        await wait_for(pilot, lambda: "high-contrast" in path.read_text())
    assert path.read_text().startswith("# my settings")
    assert load(str(path), themes=theme_names()).theme == "high-contrast"


async def test_compact_layout_at_80x24(orin_snapshot: TelemetrySnapshot) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.state.telemetry.merged is not None)
        await pilot.pause(0.1)
        screen = app.screen
        assert screen.has_class("compact")
        sources = screen.query_one(SourcesPanel)
        assert sources.summary.display and not sources.body.display  # unfocused: one line
        assert sources.outer_size.height == 3
        telemetry = screen.query_one(TelemetryPanel)
        assert telemetry.board.display and not telemetry.summary.display  # focused: full
        await pilot.press("tab")  # the servers panel
        await pilot.pause(0.1)
        servers = screen.query_one(ServersPanel)
        assert servers.body.display and telemetry.summary.display and not telemetry.board.display
        await pilot.press("tab")  # the chat pane's input line
        await pilot.pause(0.1)
        chat = screen.query_one(ChatPane)
        assert chat.input.has_focus and chat.chat_log.display and not chat.summary.display
        assert servers.summary.display and not servers.body.display
        await pilot.press("tab")
        await pilot.pause(0.1)
        assert sources.body.display and chat.summary.display and not chat.chat_log.display
    app = live_app([orin_snapshot])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        assert not app.screen.has_class("compact")


async def test_pause_freezes_the_screen_not_the_history(orin_snapshot: TelemetrySnapshot) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.telemetry.merged is not None)
        await pilot.press("p")
        assert "PAUSED" in app.screen.query_one("#title").text
        before = len(app.runtime.state.telemetry.history)
        await wait_for(pilot, lambda: len(app.runtime.state.telemetry.history) > before + 1)
        await pilot.press("p")
        assert "PAUSED" not in app.screen.query_one("#title").text


async def test_pause_holds_every_panel_whatever_event_arrives(orin_snapshot: TelemetrySnapshot) -> None:
    """Pause renders the frozen state: a new sample, container stats or a server poll arriving while
    paused repaint nothing with newer figures (before, a stats or server message repainted the
    telemetry panel with the newest sample under a PAUSED title)."""
    from console.containers.model import ContainerInfo, ContainerStats
    from console.servers.status import ServerStatus

    app = live_app([orin_snapshot], Config(refresh_interval=0.2, servers=()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "90%" in gpu_row(app))
        await pilot.press("p")
        shown = gpu_row(app)
        hot = dataclasses.replace(orin_snapshot, gpus=(dataclasses.replace(orin_snapshot.gpus[0], load=12.0),))
        app.runtime.runner.stop("poll")  # the fixed source would keep sending the old sample
        app.runtime.runner.stop("poll:jtop")
        c = ContainerInfo(id="c" * 12, name="vllm", image="vllm/vllm-openai", state="running", status="Up")
        for event in (
            ev.Sampled(hot),
            ev.ContainersListed((c,)),
            ev.StatsUpdated((("c" * 12, ContainerStats("c" * 12, 50.0, 1, 2)),)),
            ev.ServerPolled(ServerStatus("http://127.0.0.1:8000", False, error="refused")),
        ):
            app.runtime.emit(event)
        await wait_for(pilot, lambda: app.handled_version == app.runtime.state.version)
        assert app.runtime.state.telemetry.merged.gpus[0].load == 12.0
        assert gpu_row(app) == shown and "90%" in shown and "PAUSED" in app.screen.query_one("#title").text
        await pilot.press("p")
        await wait_for(pilot, lambda: "12%" in gpu_row(app))


class _Broken(FixedSource):
    def sample(self) -> TelemetrySnapshot:
        raise ConnectionError("jtop service stopped")


async def test_dead_source_degrades_its_panel_not_the_app(orin_snapshot: TelemetrySnapshot) -> None:
    posted: list[object] = []
    discovery = fixed_discovery([orin_snapshot])
    discovery.sources = [_Broken("jtop", [orin_snapshot])]
    from console.themes import load_themes
    from console.ui.app import JetconsoleApp

    app = JetconsoleApp(Config(refresh_interval=0.2), load_themes(), discover_fn=lambda: discovery, watch_docker=False)
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        await wait_for(pilot, lambda: "jtop" in app.runtime.state.telemetry.errors)
        await pilot.pause(0.1)
        body = app.screen.query_one(SourcesPanel).body.text
        assert "failed: ConnectionError: jtop service stopped" in body
        await pilot.press("t")  # still usable
        assert isinstance(app.screen, TelemetryScreen)


async def test_discovery_that_raises_is_reported_not_fatal() -> None:
    from console.themes import load_themes
    from console.ui.app import JetconsoleApp

    def broken():
        raise PermissionError("cannot open /dev/nvidiactl")

    app = JetconsoleApp(
        Config(refresh_interval=0.2), load_themes(), discover_fn=broken, remember_theme=False, watch_docker=False
    )
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.screen.query_one(SourcesPanel)
        await wait_for(pilot, lambda: "discovery failed: PermissionError" in panel.body.text)
        await pilot.press("t")
        assert isinstance(app.screen, TelemetryScreen)


async def test_up_and_down_in_the_servers_panel_choose_the_chats_server(orin_snapshot: TelemetrySnapshot) -> None:
    """The servers panel's keys read the selection from the state (they read an app attribute that
    no longer existed: AttributeError on the first key)."""
    urls = ("http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1")
    app = live_app([orin_snapshot], config=Config(refresh_interval=0.2, servers=urls))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.screen.query_one(ServersPanel)
        await wait_for(pilot, lambda: len([r for r in panel.rows if r.url]) == 2)
        first = app.state.servers.selected
        panel.focus()
        await pilot.press("down")
        await wait_for(pilot, lambda: app.state.servers.selected not in (None, first))
        await pilot.press("up")
        await wait_for(pilot, lambda: app.state.servers.selected == first)
