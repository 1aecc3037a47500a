"""Against the real jtop service on an emulated Orin: discovery, the source, the dashboard."""

from __future__ import annotations

import json
import subprocess
import time

from console.config import Config
from console.telemetry.discovery import discover
from console.telemetry.jtop_source import JtopSource
from console.themes import load_themes
from console.ui.app import JetconsoleApp
from console.ui.widgets.sources_panel import SourcesPanel
from console.ui.widgets.telemetry_panel import TelemetryPanel
from tests.app.test_dashboard import wait_for
from tests.realparts import jetson_emulator as emu


def test_discovery_picks_jtop_and_reads_the_board(jtop_service, gpu_holder) -> None:
    found = discover("auto", interval=0.5)
    try:
        assert [s.name for s in found.sources] == ["jtop"]
        status = {s.name: s for s in found.report.statuses}
        assert status["jtop"].active and not status["nvml"].active and not status["procfs"].active
        source = found.sources[0]
        snap = source.sample()
        snap = source.sample()  # the second reading carries CPU deltas and the process table
    finally:
        for s in found.sources:
            s.close()
    assert snap.gpus[0].load == 90.0
    assert snap.cpu is not None and len(snap.cpu.cores) == emu.NUM_CPU
    assert snap.cpu.cores[0].load is not None and 10 <= snap.cpu.cores[0].load <= 30
    assert snap.power is not None and {r.name for r in snap.power.rails} == set(emu.RAILS)
    assert snap.power_mode is not None and snap.power_mode.name == "MAXN"
    assert snap.board is not None and snap.board.l4t == "36.4.0" and snap.board.jetpack == "6.1"
    assert [(p.pid, p.name, p.gpu_mem) for p in snap.processes] == [(gpu_holder, "vllm-worker", 2 * 2**30)]


async def test_dashboard_follows_a_changed_sysfs_value(jtop_service) -> None:
    """Write a new GPU load into the fake sysfs; the dashboard shows it on a later tick."""
    load_file = emu.gpu_load_path()
    app = JetconsoleApp(Config(refresh_interval=0.5), load_themes(), remember_theme=False, watch_docker=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            gpu = app.screen.query_one(TelemetryPanel).rows["gpu"]
            await wait_for(pilot, lambda: gpu._value.text.strip().startswith("90%"), timeout=15)
            emu.set_value(load_file, "350")
            await wait_for(pilot, lambda: gpu._value.text.strip().startswith("35%"), timeout=15)
            assert "telemetry: jtop" in app.screen.query_one("#title").text
            assert "[ok] jtop" in app.screen.query_one(SourcesPanel).body.text
    finally:
        emu.set_value(load_file, "900")


async def test_service_restart_is_survived(jtop_service) -> None:
    """The service dies mid-run: the panel says so, the app lives, telemetry resumes."""
    app = JetconsoleApp(Config(refresh_interval=0.5), load_themes(), remember_theme=False, watch_docker=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.telemetry.merged is not None, timeout=15)
        jtop_service.stop()
        await wait_for(pilot, lambda: "jtop" in app.state.telemetry.errors, timeout=20)
        # the state has it; the panel shows it once the app has handled that state change
        await wait_for(pilot, lambda: app.handled_version >= app.runtime.state.version, timeout=5)
        assert "failed" in app.screen.query_one(SourcesPanel).body.text
        jtop_service.restart()
        seen = app.state.telemetry.merged.time if app.state.telemetry.merged else 0
        await wait_for(
            pilot,
            lambda: (
                "jtop" not in app.state.telemetry.errors
                and app.state.telemetry.merged is not None
                and app.state.telemetry.merged.time > seen
            ),
            timeout=45,
        )


def test_a_client_right_after_a_restart_is_answered(jtop_service) -> None:
    """Ready means served: the moment ``restart()`` returns, a new client connects and reads, with no wait of
    its own.  (Ready used to be a line the emulator printed as it started the service, before the service's
    initialisation, which runs jetson_clocks and nvpmodel: a client that came then gave up after three
    intervals without an answer.)"""
    jtop_service.restart()
    source = JtopSource(interval=0.5)
    source.open()  # jtop's start(): the configuration, then a first sample, each within three intervals
    try:
        first = source.sample()
        second = source.sample()  # and the next tick
    finally:
        source.close()
    assert first.gpus[0].load == 90.0 and second.time > first.time


def test_snapshot_command_json(jtop_service, installed_command) -> None:
    out = subprocess.run(
        [installed_command, "snapshot", "--json"], capture_output=True, text=True, timeout=60, check=True
    )
    doc = json.loads(out.stdout)
    assert doc["schema"] == 1
    assert {s["name"]: s["active"] for s in doc["sources"]}["jtop"] is True
    tele = doc["telemetry"]
    assert tele["sources"] == ["jtop"] and tele["gpus"][0]["load"] == 90.0
    assert tele["board"]["model"] == emu.BOARD["Model"] and tele["power"]["total_w"] > 0
    assert time.time() - tele["time"] < 60
