"""The containers screen through Pilot (issue 15): strict confirmations, "stopping…" while Docker works,
"already stopped/running", the sort arrow and reverse, and columns that keep their width.

Docker is a fake source (``FakeDocker``) put where the runtime's Docker service makes its connections:
a real daemon cannot hold a stop open for as long as a test wants to look at the row (the real-daemon
twin is tests/realparts/test_containers_ui.py).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest
from textual.geometry import Region
from textual.widgets import DataTable

from console.containers.model import ActionResult, ContainerInfo, ContainerStats
from console.runtime import events as ev
from console.runtime.services import docker as docker_service
from console.ui.screens.confirm import StrictConfirmScreen
from console.ui.screens.containers import ContainersScreen
from console.ui.widgets.cut_hint import CutHint
from tests.app.helpers import live_app, wait_for

WEB = ContainerInfo(id="a" * 64, name="web", image="nginx", state="running", status="Up 3 minutes")
OLD = ContainerInfo(id="b" * 64, name="old", image="busybox", state="exited", status="Exited (0) 2 hours ago")


class FakeDocker:
    """Stands in for ``DockerSource``: actions wait until the test releases them; every call is recorded."""

    release = threading.Event()
    calls: list[tuple[str, str]] = []
    running: dict[str, bool] = {}

    def __init__(self, url: str) -> None:
        self.url = url

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def inspect(self, container_id: str, masked: bool = True) -> dict[str, Any]:
        return {"State": {"Running": self.running.get(container_id, False)}}

    def act(self, action: str, container_id: str, name: str = "") -> ActionResult:
        FakeDocker.calls.append((action, name))
        FakeDocker.release.wait(10)
        return ActionResult(True, action, name, f"{action} {name} done")


@pytest.fixture
def fake_docker(monkeypatch: pytest.MonkeyPatch) -> type[FakeDocker]:
    FakeDocker.release = threading.Event()
    FakeDocker.calls = []
    FakeDocker.running = {WEB.id: True, OLD.id: False}
    monkeypatch.setattr(docker_service, "DockerSource", FakeDocker)
    return FakeDocker


def names(app) -> list[str]:
    table = app.screen.query_one(DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def cell(app, name: str, column: int) -> str:
    return str(app.screen.query_one(DataTable).get_row_at(names(app).index(name))[column])


async def open_containers(pilot, app, *containers: ContainerInfo) -> ContainersScreen:
    app.runtime.emit(ev.ContainersListed(containers))
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, ContainersScreen) and len(names(app)) == len(containers))
    return app.screen


def select(app, name: str) -> None:
    app.screen.query_one(DataTable).move_cursor(row=names(app).index(name))


def record_notices(app) -> list[str]:
    notices: list[str] = []
    original = app.notify

    def notify(message: str, *args: Any, **kw: Any) -> None:
        notices.append(message)
        original(message, *args, **kw)

    app.notify = notify
    return notices


async def test_remove_is_confirmed_only_by_y_and_enter_cancels_nothing(orin_snapshot, fake_docker) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(160, 40)) as pilot:
        await open_containers(pilot, app, WEB, OLD)
        select(app, "old")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, StrictConfirmScreen))
        question = app.screen
        await pilot.press("enter", "enter")  # the Enter of habit, twice: no answer
        await pilot.pause()
        assert app.screen is question and fake_docker.calls == []
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ContainersScreen))
        assert fake_docker.calls == []
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, StrictConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: fake_docker.calls == [("remove", "old")])
        fake_docker.release.set()


async def test_stop_shows_stopping_until_docker_answers(orin_snapshot, fake_docker) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(160, 40)) as pilot:
        await open_containers(pilot, app, WEB, OLD)
        notices = record_notices(app)
        select(app, "web")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, StrictConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ContainersScreen) and cell(app, "web", 1) == "stopping…")
        assert app.runtime.state.docker.pending == {WEB.id: "stop"}  # in the runtime's state, not the screen's
        await wait_for(pilot, lambda: fake_docker.calls == [("stop", "web")])
        select(app, "web")
        await pilot.press("s")  # a second stop while the first runs: said, not asked
        await pilot.pause()
        assert isinstance(app.screen, ContainersScreen) and any("stopping…" in n for n in notices)
        fake_docker.release.set()
        await wait_for(pilot, lambda: cell(app, "web", 1) == "running")  # Docker answered: its own state again
        assert not app.runtime.state.docker.pending and "stop web done" in notices


async def test_stop_of_a_stopped_container_and_start_of_a_running_one_say_already(orin_snapshot, fake_docker) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(160, 40)) as pilot:
        await open_containers(pilot, app, WEB, OLD)
        notices = record_notices(app)
        select(app, "old")
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ContainersScreen)  # no question for a stop that would do nothing
        assert notices == ["old is already stopped."]
        select(app, "web")
        await pilot.press("u")
        await pilot.pause()
        assert notices[-1] == "web is already running." and fake_docker.calls == []


async def test_the_service_says_already_when_the_screen_knew_no_better(orin_snapshot, fake_docker) -> None:
    """The list can be a moment old: the runtime asks Docker before a start or stop and sends neither."""
    from console.runtime.commands import ContainerAction

    app = live_app([orin_snapshot])
    async with app.run_test(size=(160, 40)) as pilot:
        notices = record_notices(app)
        app.runtime.send(ContainerAction("stop", OLD.id, "old"))
        await wait_for(pilot, lambda: "old is already stopped" in notices)
        assert fake_docker.calls == [] and not app.runtime.state.docker.pending


async def test_sort_header_arrow_and_reverse(orin_snapshot, fake_docker) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(160, 40)) as pilot:
        await open_containers(pilot, app, WEB, OLD)
        table = app.screen.query_one(DataTable)
        labels = lambda: [c.label.plain for c in table.columns.values()]  # noqa: E731
        assert names(app) == ["old", "web"] and labels()[0] == "name ▲"
        await pilot.press("O")
        assert names(app) == ["web", "old"] and labels()[0] == "name ▼"
        await pilot.press("o")  # next column: state, running first
        assert labels()[:2] == ["name  ", "state ▲"] and names(app) == ["web", "old"]
        await pilot.press("o", "o")  # mem: the biggest first
        app.runtime.emit(ev.StatsUpdated(((WEB.id, ContainerStats(WEB.id, 5.0, 2_000_000, None)),)))
        await wait_for(pilot, lambda: labels()[3] == "MEM ▼")
        assert "sort: mem ▼" in str(app.screen.query_one("#title").text)


async def test_columns_keep_their_width_as_status_grows(orin_snapshot, fake_docker) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(200, 40)) as pilot:
        short = ContainerInfo(id="c" * 64, name="svc", image="img", state="created", status="Created")
        await open_containers(pilot, app, short)
        table = app.screen.query_one(DataTable)

        def widths() -> list[int]:
            return [c.get_render_width(table) for c in table.columns.values()]

        before = widths()
        grown = ContainerInfo(
            id="c" * 64,
            name="svc",
            image="img",
            state="restarting",
            status="Up About a minute (health: starting)",
            health="unhealthy",
        )
        app.runtime.emit(ev.ContainersListed((grown,)))
        app.runtime.emit(ev.StatsUpdated((("c" * 64, ContainerStats("c" * 64, 1234.0, 1023 * 1024**2, None)),)))
        await wait_for(pilot, lambda: cell(app, "svc", 1) == "restarting")
        status = list(table.columns).index("status")
        assert widths()[:status] == before[:status]  # nothing left of the status moved
        assert cell(app, "svc", 5) == "Up ~1 minute"  # whole, short; its health is in the health column
        longer = dataclasses.replace(grown, status="Up About a minute (Paused since 1 h, restarting policy on)")
        app.runtime.emit(ev.ContainersListed((longer,)))
        await wait_for(pilot, lambda: cell(app, "svc", 5).endswith("…"))  # cut, and says so
        assert len(cell(app, "svc", 5)) == 38 and widths()[:status] == before[:status]


async def test_the_table_fits_120_columns_without_a_scroll_bar(orin_snapshot, fake_docker) -> None:
    """At 120 columns the list of running containers fits: a table one column too wide needs the
    horizontal scroll bar, which Textual redraws cell by cell with the table at each re-list (~3 kB)."""
    app = live_app([orin_snapshot])
    async with app.run_test(size=(120, 40)) as pilot:
        running = ContainerInfo(
            id="d" * 64,
            name="bench-idle-1",
            image="local/busybox:test",
            state="running",
            status="Up Less than a second",  # a container just started: the longest status of its first seconds
            runtime="runc",
            restart_policy="no",
        )
        await open_containers(pilot, app, running)
        app.runtime.emit(ev.StatsUpdated((("d" * 64, ContainerStats("d" * 64, 0.0, 556 * 1024, None)),)))
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: cell(app, "bench-idle-1", 3) != "")
        await pilot.pause()
        assert not table.show_horizontal_scrollbar, str([c.get_render_width(table) for c in table.columns.values()])
        assert not app.screen.query_one(CutHint).display
        assert cell(app, "bench-idle-1", 5) == "Up <1 second"


async def test_the_sort_arrow_is_drawn_when_no_row_moves(orin_snapshot, fake_docker) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(160, 40)) as pilot:
        await open_containers(pilot, app, OLD)  # one row: reversing moves nothing but the arrow

        def header() -> str:
            return next(line for line in app.screen.query_one(DataTable).render_lines(Region(0, 0, 160, 1)))

        await wait_for(pilot, lambda: "name ▲" in header().text)
        await pilot.press("O")
        await wait_for(pilot, lambda: "name ▼" in header().text)


async def test_pause_does_not_fool_the_already_check(orin_snapshot, fake_docker) -> None:
    app = live_app([orin_snapshot])
    async with app.run_test(size=(160, 40)) as pilot:
        await open_containers(pilot, app, OLD)
        app.toggle_pause()  # the screen shows OLD exited from now on
        app.runtime.emit(ev.ContainersListed((dataclasses.replace(OLD, state="running", status="Up 1 second"),)))
        await wait_for(pilot, lambda: app.runtime.state.docker.containers[0].state == "running")
        notices = record_notices(app)
        select(app, "old")
        await pilot.press("s")  # running now: a stop is asked, not refused as "already stopped"
        await wait_for(pilot, lambda: isinstance(app.screen, StrictConfirmScreen))
        assert not any("already" in n for n in notices)


async def test_a_cut_containers_table_says_so_at_80_columns(orin_snapshot, fake_docker) -> None:
    from console.ui.widgets.cut_hint import CutHint

    app = live_app([orin_snapshot], watch_docker=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_containers(pilot, app, WEB, OLD)
        hint = screen.query_one(CutHint)
        await wait_for(pilot, lambda: hint.display and "more column" in hint.text)
        table = screen.query_one(DataTable)
        table.scroll_to(x=table.max_scroll_x, animate=False)
        await wait_for(pilot, lambda: "← " in hint.text)


def test_already_leaves_an_unexpected_docker_error_to_the_action() -> None:
    """A daemon that fails the check (not a gone container) must not kill the action: act() says what happened."""

    class Broken(FakeDocker):
        def inspect(self, container_id: str, masked: bool = True) -> dict[str, Any]:
            raise ConnectionError("Connection aborted")

    assert docker_service.already(Broken("unix:///x"), "stop", OLD.id, "old") is None
