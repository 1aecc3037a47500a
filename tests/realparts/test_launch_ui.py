"""The Launch screen against a private dockerd: form, preview, preflight, tracker, diagnosis."""

from __future__ import annotations

from textual.widgets import Input, OptionList

from console.themes import load_themes
from console.ui.app import JetconsoleApp
from console.ui.screens.launch import LaunchScreen
from tests.app.test_dashboard import wait_for
from tests.conftest import fixed_discovery
from tests.realparts.test_launch import FAILING, STARTUP, cleanup, config_with, echo_lines, free_port  # noqa: F401


def launch_app(config, orin_snapshot) -> JetconsoleApp:
    return JetconsoleApp(
        config, load_themes(), remember_theme=False, discover_fn=lambda: fixed_discovery([orin_snapshot])
    )


async def open_launch(pilot, app) -> LaunchScreen:
    await pilot.press("c", "n")
    screen = app.screen
    assert isinstance(screen, LaunchScreen)
    options = screen.query_one("#presets", OptionList)
    options.highlighted = list(screen.presets).index("fake")
    await pilot.pause(0.1)
    return screen


async def test_launch_screen_to_ready(dockerd, tmp_path, cleanup, orin_snapshot) -> None:  # noqa: F811
    port = free_port()
    script = echo_lines(STARTUP, port) + f"; mkdir -p /www; echo ok > /www/health; httpd -f -p 127.0.0.1:{port} -h /www"
    app = launch_app(config_with(dockerd, tmp_path, script, port), orin_snapshot)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await open_launch(pilot, app)
        preview = screen.query_one("#preview").text
        assert "docker run -d" in preview and "--name fake-server" in preview and "local/busybox:test" in preview
        screen.query_one("#f-container_name", Input).value = "fake-edited"
        await pilot.pause(0.1)
        assert "--name fake-edited" in screen.query_one("#preview").text  # the line follows the form
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.query_one("#phases").text.startswith("Ready"), timeout=60)
        phases = screen.query_one("#phases").text
        assert "✓ Loading weights" in phases and "✓ Waiting for /health" in phases
        assert "[ok]   image" in screen.query_one("#checks").text
        await pilot.press("escape", "escape", "escape")  # back to the dashboard: the servers panel
        from console.ui.widgets.servers_panel import ServersPanel

        await wait_for(pilot, lambda: "fake-edited" in app.screen.query_one(ServersPanel).body.text, timeout=15)
        row = next(ln for ln in app.screen.query_one(ServersPanel).body.text.splitlines() if "fake-edited" in ln)
        assert "Ready" in row


async def test_launch_screen_shows_diagnosis_and_applies_fix(
    dockerd,
    tmp_path,
    cleanup,  # noqa: F811
    orin_snapshot,
) -> None:
    port = free_port()
    app = launch_app(config_with(dockerd, tmp_path, echo_lines(FAILING, port) + "; exit 1", port), orin_snapshot)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await open_launch(pilot, app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.query_one("#phases").text.startswith("Failed"), timeout=60)
        text = screen.query_one("#diagnosis").text
        # a custom command has no GPU utilisation field: the fix is vLLM's flag, added to its arguments
        assert "Free memory on device" in text and "f: relaunch with --gpu-memory-utilization 0.09" in text
        first = screen.container_id
        assert first is not None
        await pilot.press("f")  # the fix goes into the form, the failed container goes, it launches again
        assert screen.query_one("#f-extra_args", Input).value == "--gpu-memory-utilization 0.09"
        await wait_for(pilot, lambda: screen.container_id not in (None, first), timeout=30)
        await wait_for(pilot, lambda: screen.query_one("#phases").text.startswith("Failed"), timeout=60)
        from console.containers.docker_source import DockerSource

        src = DockerSource(dockerd.url)
        src.open()
        ids = {c.id for c in src.containers()}
        src.close()
        assert first not in ids and screen.container_id in ids
