"""The containers screens driven by keys against a private dockerd (real containers)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input

from console.config import Config
from console.containers.docker_source import DockerSource
from console.themes import load_themes
from console.ui.app import JetconsoleApp
from console.ui.screens.confirm import ConfirmScreen, TextScreen
from console.ui.screens.containers import ContainersScreen
from console.ui.screens.logs import MAX_LINES, LogsScreen
from console.ui.widgets.servers_panel import ServersPanel
from tests.app.test_dashboard import wait_for
from tests.conftest import fixed_discovery
from tests.realparts.private_dockerd import BUSYBOX_IMAGE


@pytest.fixture
def docker_api(dockerd):
    src = DockerSource(dockerd.url)
    src.open()
    yield src.api
    for c in src.api.containers(all=True):
        src.api.remove_container(c["Id"], force=True)
    src.close()


def start(api, name: str, script: str, **kw) -> str:
    cid = api.create_container(
        BUSYBOX_IMAGE,
        ["sh", "-c", script],
        name=name,
        environment=kw.get("environment"),
        labels=kw.get("labels"),
        host_config=api.create_host_config(network_mode="none"),
    )["Id"]
    api.start(cid)
    return cid


def app_for(dockerd, orin_snapshot) -> JetconsoleApp:
    return JetconsoleApp(
        Config(refresh_interval=0.5, docker_host=dockerd.url),
        load_themes(),
        remember_theme=False,
        discover_fn=lambda: fixed_discovery([orin_snapshot]),
    )


def names(app) -> list[str]:
    table = app.screen.query_one(DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def select(app, name: str) -> None:
    table = app.screen.query_one(DataTable)
    table.move_cursor(row=names(app).index(name))


async def open_on(pilot, app, name: str) -> None:
    """Dashboard -> Containers, wait for ``name`` to be listed, put the cursor on it."""
    await pilot.press("c")
    await wait_for(pilot, lambda: name in names(app), timeout=15)
    select(app, name)


async def test_list_filter_follow_events_and_servers_panel(dockerd, docker_api, orin_snapshot) -> None:
    start(docker_api, "jc-alpha", "sleep 300")
    start(docker_api, "vllm-tiny", "sleep 300", labels={"jetconsole.preset": "vllm-thor"})
    app = app_for(dockerd, orin_snapshot)
    async with app.run_test(size=(160, 40)) as pilot:
        servers = app.screen.query_one(ServersPanel)
        await wait_for(pilot, lambda: "vllm-tiny" in servers.body.text, timeout=15)
        assert "jc-alpha" not in servers.body.text  # not an inference container
        await pilot.press("c")
        assert isinstance(app.screen, ContainersScreen)
        await wait_for(pilot, lambda: names(app) == ["jc-alpha", "vllm-tiny"])
        start(docker_api, "jc-beta", "sleep 300")  # started outside jetconsole: the event stream shows it
        await wait_for(pilot, lambda: "jc-beta" in names(app), timeout=5)
        await pilot.press("slash", *"beta")
        assert names(app) == ["jc-beta"]
        await pilot.press("escape")
        assert len(names(app)) == 3 and not app.screen.query_one("#filter", Input).display
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).get_row_at(0)[2] != "", timeout=15)  # CPU


async def test_stop_asks_first_then_remove(dockerd, docker_api, orin_snapshot) -> None:
    start(docker_api, "jc-victim", "sleep 300")
    app = app_for(dockerd, orin_snapshot)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_on(pilot, app, "jc-victim")
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        assert "SIGTERM, then SIGKILL" in app.screen.query_one("#confirm-text").render().plain
        await pilot.press("n")
        assert isinstance(app.screen, ContainersScreen)
        assert docker_api.inspect_container("jc-victim")["State"]["Running"]
        await pilot.press("s", "y")
        await wait_for(pilot, lambda: not docker_api.inspect_container("jc-victim")["State"]["Running"], timeout=20)
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.get_row_at(names(app).index("jc-victim"))[1] == "exited", timeout=10)
        select(app, "jc-victim")
        await pilot.press("d")
        assert "cannot be undone" in app.screen.query_one("#confirm-text").render().plain
        await pilot.press("enter")  # Enter does not answer a removal: only y does
        await pilot.pause()
        assert "cannot be undone" in app.screen.query_one("#confirm-text").render().plain
        await pilot.press("y")
        await wait_for(pilot, lambda: "jc-victim" not in names(app), timeout=10)


async def test_inspect_masks_secrets(dockerd, docker_api, orin_snapshot) -> None:
    start(docker_api, "jc-secret", "sleep 300", environment={"HF_TOKEN": "hf_TOPSECRET42", "MODEL": "tiny"})
    app = app_for(dockerd, orin_snapshot)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_on(pilot, app, "jc-secret")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen))
        body = app.screen.query_one("#text-body").render().plain
        assert "MODEL=tiny" in body and "HF_TOKEN=" in body and "hf_TOPSECRET42" not in body


async def test_logs_follow_search_errors(dockerd, docker_api, orin_snapshot) -> None:
    start(
        docker_api,
        "jc-talk",
        "echo INFO start; echo 'ERROR \x1b[31mboom\x1b[0m'; echo INFO Loading weights; echo INFO done; sleep 300",
    )
    app = app_for(dockerd, orin_snapshot)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_on(pilot, app, "jc-talk")
        await pilot.press("enter")
        assert isinstance(app.screen, LogsScreen)
        screen = app.screen
        await wait_for(pilot, lambda: screen.buffer.total >= 4, timeout=10)
        assert [ln.text for ln in screen.buffer.lines()][:2] == ["INFO start", "ERROR boom"]  # ANSI gone
        await pilot.press("e")
        assert screen.at == 2 and not screen.following
        await pilot.press("slash", *"loading", "enter")
        assert screen.matches == [3] and screen.at == 3
        await pilot.press("space")
        assert screen.following
        await pilot.press("escape")
        assert isinstance(app.screen, ContainersScreen)
        # the follower service was told to stop, and its thread ends (it waits at most one batch)
        await wait_for(pilot, lambda: f"logs:{screen.follower}" not in app.runtime.runner.services())


async def test_flood_of_10k_lines_per_second_stays_responsive_and_bounded(dockerd, docker_api, orin_snapshot) -> None:
    """A container writing ~10,000 lines/s: keys still act, the buffer stays bounded."""
    start(docker_api, "jc-flood", "while true; do seq 1 10000; sleep 1; done")
    app = app_for(dockerd, orin_snapshot)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_on(pilot, app, "jc-flood")
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, LogsScreen)
        await wait_for(pilot, lambda: screen.buffer.total > 3 * MAX_LINES, timeout=30)
        await pilot.press("space")  # pause while it floods
        assert not screen.following
        await pilot.press("space")
        assert screen.following
        assert len(screen.buffer) <= MAX_LINES and screen.query_one("#log").line_count <= MAX_LINES
        await pilot.press("escape")
        assert isinstance(app.screen, ContainersScreen)
