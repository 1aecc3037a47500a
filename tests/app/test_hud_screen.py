"""The HUD driven by Pilot: sizes from a 40x12 LCD to 160x48, pages that rotate on their own, the
help flag from the key and from the file (as ``jetconsole help-flag`` writes it), and a server that
goes away and comes back, all without a keypress; SVG snapshots at each size with the flag on and off."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from console.chat.wire import ModelInfo
from console.config import Config
from console.hud import helpflag
from console.runtime import events as ev
from console.runtime.state import server_rows
from console.servers.metrics import ServerMetrics
from console.servers.status import ServerStatus
from console.telemetry.model import TempSensor
from console.ui.screens.dashboard import DashboardScreen
from console.ui.screens.hud import HudScreen, HudTile
from tests.app.helpers import frozen_app, ramp, wait_for
from tests.app.test_snapshots import REPORT

READY = ServerStatus(
    "http://127.0.0.1:8000",
    True,
    200,
    version="0.32.0",
    models=(ModelInfo("qwen3-8b"),),
    metrics=ServerMetrics(running=3, waiting=1, gen_tps=41.7),
)
GONE = ServerStatus("http://127.0.0.1:8000", False, error="ConnectError: [Errno 111] Connection refused")


def hud_app(orin_snapshot, flag: Path, status: ServerStatus | None = READY, help_on: bool = False, **config):
    snap = dataclasses.replace(orin_snapshot, temps=(TempSensor("cpu", 51.4), TempSensor("gpu", 63.6)))
    app = frozen_app(
        ramp(snap), REPORT, Config(hud_help_flag_file=str(flag), **config), start_screen="hud", hud_sources=False
    )
    app.runtime.emit(ev.HostRead("thor-07", "10.20.0.107"))
    app.runtime.emit(ev.HelpFlagRead(help_on))
    if status is not None:
        set_server(app, status)
    return app


def set_server(app, status: ServerStatus, url: str | None = None) -> str:
    """The server's probe reported ``status`` (as the runtime's ServerWatch would emit it)."""
    url = url or server_rows(app.runtime.state)[0].url
    app.runtime.emit(ev.ServersWatched(app.runtime.state.servers.watched | {url}))
    app.runtime.emit(ev.ServerPolled(status))
    return url


def screen_text(app) -> str:
    hud = app.screen
    parts = [hud.query_one("#hud-head").text, hud.query_one("#hud-status").text]
    parts += [str(t.render()) for t in hud.query(HudTile) if t.display]
    return "\n".join(parts)


@pytest.mark.parametrize("size", [(40, 12), (80, 24), (160, 48)])
@pytest.mark.parametrize("help_on", [False, True], ids=["help-off", "help-on"])
def test_hud_snapshot(snap_compare, orin_snapshot, tmp_path: Path, size: tuple[int, int], help_on: bool) -> None:
    assert snap_compare(hud_app(orin_snapshot, tmp_path / "flag", help_on=help_on), terminal_size=size)


async def test_figures_and_state_at_80x24(orin_snapshot, tmp_path: Path) -> None:
    app = hud_app(orin_snapshot, tmp_path / "flag")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HudScreen) and app.screen.plan is not None)
        hud = app.screen
        assert hud.plan.scale == 1 and not hud.plan.rotating
        assert hud.query_one("#hud-head").text == "thor-07  10.20.0.107"
        assert hud.query_one("#hud-status").text == "READY  qwen3-8b"
        assert hud.query_one("#hud-status").has_class("-ready")
        labels = [str(t.render()).split("\n")[0] for t in hud.query(HudTile)]
        assert labels == ["GEN TOK/S", "RUN/WAIT", "GPU", "MEMORY GiB", "TEMP", "POWER"]
        assert {t.key: t.value for t in hud.view.tiles}["tps"] == "42"
        assert {t.key: t.value for t in hud.view.tiles}["requests"] == "3/1"
        assert not hud.query_one("#hud-help").has_class("-on")


async def test_pages_rotate_without_a_key_at_40x12(orin_snapshot, tmp_path: Path) -> None:
    app = hud_app(orin_snapshot, tmp_path / "flag", hud_page_seconds=1)
    async with app.run_test(size=(40, 12)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HudScreen) and app.screen.plan is not None)
        hud = app.screen
        assert len(hud.plan.pages) == 3 and hud.page == 0
        assert hud.query_one("#hud-head").text.endswith("page 1/3")
        first = screen_text(app)
        await wait_for(pilot, lambda: hud.page == 1, timeout=4)
        assert hud.query_one("#hud-head").text.endswith("page 2/3") and screen_text(app) != first
        await wait_for(pilot, lambda: hud.page == 0, timeout=6)  # round again
        await pilot.press("space")
        assert hud.page == 1


async def test_server_goes_away_and_comes_back_without_a_key(orin_snapshot, tmp_path: Path) -> None:
    app = hud_app(orin_snapshot, tmp_path / "flag")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HudScreen) and app.screen.view is not None)
        status = app.screen.query_one("#hud-status")
        set_server(app, GONE)
        await wait_for(pilot, lambda: status.text.startswith("DOWN"))
        assert status.text == "DOWN  127.0.0.1:8000  not answering ([Errno 111] Connection refused)"
        assert {t.key: t.value for t in app.screen.view.tiles}["tps"] == "-"
        set_server(app, READY)
        await wait_for(pilot, lambda: status.text == "READY  qwen3-8b")


async def test_help_flag_key_writes_the_file_and_a_restarted_hud_shows_it(orin_snapshot, tmp_path: Path) -> None:
    flag = tmp_path / "state" / "help-flag"
    app = hud_app(orin_snapshot, flag)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HudScreen))
        await pilot.press("h")
        await wait_for(pilot, lambda: app.screen.query_one("#hud-help").has_class("-on"))
        assert helpflag.read(flag)
        assert app.screen.query_one("#hud-help").region.height == 3  # full width, three rows at 80x24
        assert app.screen.query_one("#hud-help").region.width == 80
    # a new HUD (its own poller reads the file, as after a restart or `jetconsole help-flag on`)
    again = hud_app(orin_snapshot, flag)
    again.runtime.hud_sources = True
    async with again.run_test(size=(80, 24)) as pilot:
        await wait_for(
            pilot, lambda: again.state.hud.help_flag and again.screen.query_one("#hud-help").has_class("-on")
        )
        helpflag.write(False, flag)  # from another shell
        await wait_for(pilot, lambda: not again.screen.query_one("#hud-help").has_class("-on"), timeout=4)


async def test_H_switches_from_the_dashboard_and_esc_goes_back(orin_snapshot, tmp_path: Path) -> None:
    app = frozen_app(ramp(orin_snapshot), REPORT, Config(hud_help_flag_file=str(tmp_path / "f")), hud_sources=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("H")
        await wait_for(pilot, lambda: isinstance(app.screen, HudScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))


async def test_ascii_hud_has_no_block_characters(orin_snapshot, tmp_path: Path) -> None:
    app = hud_app(orin_snapshot, tmp_path / "flag")
    app.ascii_only = True
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HudScreen) and app.screen.plan is not None)
        text = screen_text(app)
        assert "|_|" in text or " _ " in text
        assert not set(text) & set("▀▄█▁▂▃▅▆▇")


@pytest.mark.parametrize(("size", "scale", "columns"), [((40, 60), 1, 1), ((200, 60), 3, 2), ((60, 100), 2, 1)])
async def test_portrait_and_large_screens_show_every_figure_at_once(
    orin_snapshot, tmp_path: Path, size, scale: int, columns: int
) -> None:
    app = hud_app(orin_snapshot, tmp_path / "flag")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HudScreen) and app.screen.plan is not None)
        hud = app.screen
        assert (hud.plan.scale, hud.plan.columns, len(hud.plan.pages)) == (scale, columns, 1)
        shown = [t for t in hud.query(HudTile) if t.display]
        assert len(shown) == 6
        assert all(t.region.right <= size[0] and t.region.bottom <= size[1] for t in shown)  # nothing cut off


async def test_kiosk_is_the_hud_alone(orin_snapshot, tmp_path: Path) -> None:
    """What --serve runs per browser: Esc, q, the palette and the app's keys do nothing; the help flag works."""
    from textual.command import CommandPalette

    app = hud_app(orin_snapshot, tmp_path / "flag")
    app.kiosk = True
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HudScreen))
        assert not any(isinstance(s, DashboardScreen) for s in app.screen_stack)
        for key in ("escape", "q", "ctrl+p", "colon", "question_mark", "ctrl+q", "D", "c"):
            await pilot.press(key)
            assert isinstance(app.screen, HudScreen) and app.is_running, key
            assert not any(isinstance(s, CommandPalette) for s in app.screen_stack)
        await pilot.press("h")
        await wait_for(pilot, lambda: helpflag.read(tmp_path / "flag"))


async def test_startup_followers_follow_each_start_once(orin_snapshot, tmp_path: Path) -> None:
    from console.containers.launcher import LaunchEvent
    from console.containers.model import ContainerInfo
    from console.servers.registry import URL_LABEL
    from console.servers.startup import StartupState

    app = hud_app(orin_snapshot, tmp_path / "flag", status=None)
    runtime = app.runtime
    followed: list[str] = []
    runtime.startups._follow = lambda cid, url: followed.append(cid)  # type: ignore[method-assign]

    def listing(started: str, cid: str = "a" * 64) -> None:
        container = ContainerInfo(
            cid,
            "vllm",
            "vllm/vllm-openai",
            "running",
            "Up 1 minute",
            started_at=started,
            labels={URL_LABEL: "http://127.0.0.1:8001/v1"},
        )
        runtime.emit(ev.ContainersListed((container,)))

    def sync() -> None:
        runtime.startups.sync(runtime.state, server_rows(runtime.state))

    async with app.run_test(size=(80, 24)) as pilot:
        listing("2026-11-23T10:00:00Z")
        url = next(r.url for r in server_rows(runtime.state) if r.container is not None)
        sync()
        assert followed == []  # not polled yet: nothing known about it
        set_server(app, dataclasses.replace(GONE, url="http://127.0.0.1:8001"), url)
        sync()
        sync()
        assert followed == ["a" * 64]  # one follower for this start, however often it is asked
        set_server(app, ServerStatus("http://127.0.0.1:8001", True, 503), url)
        sync()
        assert followed == ["a" * 64]  # a dead engine after Ready is not a new start
        listing("2026-11-23T11:00:00Z")  # restarted
        sync()
        assert followed == ["a" * 64, "a" * 64]
        runtime.startups.launched_here.add("b" * 64)
        listing("2026-11-23T11:00:00Z", "b" * 64)
        sync()
        assert followed == ["a" * 64, "a" * 64]  # a launch from here has its own tracker
        # a follower's event reaches the Servers panel and the HUD, never a Launch screen's run
        runtime.emit(ev.StartupProgress("a" * 64, LaunchEvent("phase", StartupState(phase="load"))))
        await wait_for(pilot, lambda: ("a" * 64) in app.state.startups)
