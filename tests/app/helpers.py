"""Building the real app with fixed data for Pilot and snapshot tests."""

from __future__ import annotations

import asyncio
import dataclasses

from console.config import Config
from console.runtime import events as ev
from console.telemetry.discovery import Discovery
from console.telemetry.model import SourceReport, TelemetrySnapshot
from console.themes import load_themes
from console.ui.app import JetconsoleApp
from tests.conftest import fixed_discovery


def live_app(snapshots: list[TelemetrySnapshot], config: Config | None = None, **kw) -> JetconsoleApp:
    """The app with its real discovery/poller path fed by a FixedSource."""
    config = config or Config(refresh_interval=0.2)
    kw.setdefault("watch_docker", False)
    kw.setdefault("poll_servers", False)
    return JetconsoleApp(config, load_themes(), discover_fn=lambda: fixed_discovery(snapshots), **kw)


def frozen_app(
    history: list[TelemetrySnapshot], report: SourceReport, config: Config | None = None, **kw
) -> JetconsoleApp:
    """The app with no live source and a pre-filled state: identical frames every run."""
    app = JetconsoleApp(
        config or Config(),
        load_themes(),
        remember_theme=False,
        watch_docker=False,
        poll_servers=False,
        discover_fn=lambda: Discovery(sources=[], report=report),
        **kw,
    )
    feed(app, history, report)
    return app


def feed(app: JetconsoleApp, history: list[TelemetrySnapshot], report: SourceReport) -> None:
    """Fold fixed data into the app's runtime as its services would (Docker missing, the samples)."""
    emit = app.runtime.emit
    emit(
        ev.DockerFailed(
            "no Docker socket at /var/run/docker.sock",
            "install Docker (apt-get install docker.io) or set endpoints.docker_host",
        )
    )
    emit(ev.SourcesFound(tuple(dict.fromkeys(n for s in history for n in s.sources)), report))
    for snap in history:
        emit(ev.Sampled(snap))


def ramp(base: TelemetrySnapshot, n: int = 60) -> list[TelemetrySnapshot]:
    """``n`` snapshots with the GPU load ramping, for sparklines with a shape."""
    out = []
    for i in range(n):
        gpu = dataclasses.replace(base.gpus[0], load=float((i * 7) % 100))
        out.append(dataclasses.replace(base, time=base.time + i, gpus=(gpu,)))
    return out


UI_TURN_S = 0.05  # the longest a check waits with no runtime change: a UI timer's turn (a debounce, a blink)


async def wait_for(pilot, check, timeout: float = 5.0) -> None:
    """Let the app run until ``check()`` holds; fail after ``timeout`` seconds.

    Woken by the runtime: each state change it makes (a sample, a container list, a chat delta) is handled by the
    app (``pilot.pause``) and then checked, so a test waits on the runtime's events rather than on a clock; with no
    change for ``UI_TURN_S`` it checks again, for what only the UI's own timers change.
    """
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    runtime = getattr(pilot.app, "runtime", None)
    unsubscribe = runtime.subscribe(lambda *_: loop.call_soon_threadsafe(changed.set)) if runtime else None
    deadline = loop.time() + timeout
    try:
        while True:
            await pilot.pause()  # the app handles what is queued: keys, the runtime's StateChanged
            if check():
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError("condition not met in time")
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), min(remaining, UI_TURN_S))
            except TimeoutError:
                pass
    finally:
        if unsubscribe is not None:
            unsubscribe()
