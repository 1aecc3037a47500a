"""Organiser actions over real SSH (issue 16): three network namespaces with their own sshd as devices, one
without jetconsole on its PATH.  A dry run shows the commands and runs nothing; without --yes and a terminal
nothing runs; the flag raised on three devices fails on one alone, in the table and the audit log; a push
with real rsync resumes a half-copied file; a launch is refused where the device's L4T is unknown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import need
from tests.realparts import netns
from tests.realparts.agents import ROOT

pytestmark = [pytest.mark.realparts, pytest.mark.timeout(240)]
NO_JETCONSOLE = "/usr/bin:/bin:/usr/sbin:/sbin"


@dataclass
class Workshop:
    devices: netns.Devices
    config: Path
    state: Path  # this side's XDG_STATE_HOME: the audit log

    def do(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "console", "--config", str(self.config), "fleet", "do", *args]
        env = {**os.environ, "XDG_STATE_HOME": str(self.state)}
        return subprocess.run(
            argv, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL
        )

    def flag(self, i: int) -> Path:
        return self.devices.namespaces[i].home / "state" / "jetconsole" / "help-flag"

    def audit(self) -> list[dict]:
        path = self.state / "jetconsole" / "doctor-audit.log"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def workshop(tmp_path: Path, installed_command: str) -> Iterator[Workshop]:
    why = netns.missing()
    need(why is None, why or "")
    with netns.namespaces(tmp_path / "ns", 3, paths=[None, NO_JETCONSOLE, None]) as devices:
        hosts = tmp_path / "hosts"
        hosts.write_text("".join(f"unit-{i} - ssh={ns.address}\n" for i, ns in enumerate(devices.namespaces)))
        config = tmp_path / "fleet.toml"
        config.write_text(f'[fleet]\nhosts = "{hosts}"\nssh_config = "{devices.ssh_config}"\n')
        yield Workshop(devices, config, tmp_path / "state")


def test_a_flag_raised_on_three_devices_fails_on_one_alone(workshop: Workshop) -> None:
    dry = workshop.do("flag-on", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("jetconsole help-flag on") == 3 and not any(workshop.flag(i).exists() for i in range(3))
    unasked = workshop.do("flag-on")
    assert unasked.returncode == 2 and "add --yes" in unasked.stderr and not workshop.flag(0).exists()

    run = workshop.do("flag-on", "--yes")
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("device "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].strip() or lines[i].endswith(" done"))
    table = dict(line.split(None, 1) for line in lines[start + 1 : end])
    assert "unit-1, its last lines:" in run.stdout and "jetconsole: not found" in run.stdout
    assert table["unit-0"].startswith("done") and table["unit-2"].startswith("done")
    assert table["unit-1"].startswith("failed (exit 127): a command is not installed there")
    assert run.stdout.rstrip().endswith("2/3 done")
    assert workshop.flag(0).read_text().startswith("on") and workshop.flag(2).read_text().startswith("on")
    assert not workshop.flag(1).exists()
    logged = [e for e in workshop.audit() if e["event"] == "fleet.flag-on"]
    assert sorted((e["device"], e["ok"]) for e in logged) == [("unit-0", True), ("unit-1", False), ("unit-2", True)]
    plans = [e for e in workshop.audit() if e["event"] == "fleet.plan"]
    assert [p["then"] for p in plans] == ["dry run", "not run: no --yes and no terminal to ask on", "run"]
    assert plans[-1]["commands"] == ["jetconsole help-flag on"] * 3


def test_a_push_resumes_and_a_launch_fits_the_l4t(workshop: Workshop, tmp_path: Path) -> None:
    source = tmp_path / "models"
    (source / "qwen").mkdir(parents=True)
    big = os.urandom(3 << 20)
    (source / "qwen" / "model.safetensors").write_bytes(big)
    (source / "qwen" / "config.json").write_text('{"model_type": "qwen3"}')
    dest = tmp_path / "pushed"
    half = dest / "unit-0" / "qwen"
    half.mkdir(parents=True)
    (half / "model.safetensors").write_bytes(big[: len(big) // 2])  # an interrupted copy on unit-0
    push = workshop.do("push", "--source", str(source), "--dest", f"{dest}/{{name}}", "--yes", "--parallel", "2")
    assert push.returncode == 0, push.stdout + push.stderr
    for i in range(3):
        assert (dest / f"unit-{i}" / "qwen" / "model.safetensors").read_bytes() == big
        assert (dest / f"unit-{i}" / "qwen" / "config.json").exists()
    assert "%" in push.stderr  # rsync's progress, a line at a time
    assert push.stdout.rstrip().endswith("3/3 done")

    launch = workshop.do("launch", "--preset", "vllm-orin", "--dry-run")
    assert launch.returncode == 1  # none of them can take it
    assert launch.stdout.count("refused: its L4T is unknown") == 3  # no /etc/nv_tegra_release in these devices


async def test_the_fleet_screen_runs_an_action_with_consent(
    workshop: Workshop, orin_snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the Fleet screen: M marks every device shown, x picks the action, its plan shows each command;
    n runs nothing, and a second time y runs it: each device's outcome in the table, one failing."""
    from textual.widgets import DataTable

    from console.config import load
    from console.ui.screens.fleet import FleetScreen
    from console.ui.screens.fleet_action import FleetActionScreen
    from tests.app.helpers import live_app
    from tests.app.helpers import wait_for as wait_in

    monkeypatch.setenv("XDG_STATE_HOME", str(workshop.state))  # the audit log of this app
    app = live_app([orin_snapshot], load(str(workshop.config)))

    def run():  # type: ignore[no-untyped-def]
        return app.runtime.state.fleet.action

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F")
        await wait_in(pilot, lambda: isinstance(app.screen, FleetScreen) and len(app.screen._shown) == 3)
        await pilot.press("M", "x")
        await wait_in(pilot, lambda: app.screen.query("#pick"))
        await pilot.press("enter")  # flag-on, the first
        await wait_in(pilot, lambda: isinstance(app.screen, FleetActionScreen))
        await wait_in(pilot, lambda: run() is not None and run().plan is not None, timeout=30)
        plan_text = app.screen.query_one("#action-plan").text
        assert plan_text.count("jetconsole help-flag on") == 3
        await pilot.press("n")  # no: nothing runs
        await wait_in(pilot, lambda: isinstance(app.screen, FleetScreen) and run().declined)
        assert not workshop.flag(0).exists()

        await pilot.press("x", "enter")  # the marks stay: the same three
        await wait_in(pilot, lambda: isinstance(app.screen, FleetActionScreen) and run().plan is not None, 30)
        assert not run().declined
        await pilot.press("y")
        await wait_in(pilot, lambda: run().finished, timeout=60)
        table = app.screen.query_one("#action-results", DataTable)
        await wait_in(pilot, lambda: table.row_count == 3)
        results = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[1]) for i in range(3)}
        assert results["unit-0"] == "done" and results["unit-2"] == "done"
        assert results["unit-1"].startswith("failed (exit 127)")
        assert "2/3 done" in app.screen.query_one("#action-prompt").text
    assert workshop.flag(0).read_text().startswith("on") and not workshop.flag(1).exists()
    plans = [e["then"] for e in workshop.audit() if e["event"] == "fleet.plan"]
    assert plans == ["not run: the answer was no", "run"]


def test_a_launch_over_ssh_follows_to_ready_and_stop_stops_it(dockerd, tmp_path: Path, installed_command: str) -> None:
    """A device reached over a real sshd (on loopback: its containers run on the private dockerd, whose host
    network is this loopback): the fleet launches a preset there and follows it to Ready through the
    device's own jetconsole, then stops it."""
    from console.containers.docker_source import DockerSource
    from tests.realparts.private_dockerd import BUSYBOX_IMAGE
    from tests.realparts.test_launch import STARTUP, _toml_list, echo_lines
    from tests.realparts.vllm_server import free_port

    why = netns.missing()
    need(why is None, why or "")
    port = free_port()
    script = echo_lines(STARTUP, port) + f"; mkdir -p /www; echo ok > /www/health; httpd -f -p 127.0.0.1:{port} -h /www"
    device_config = (
        f'[endpoints]\ndocker_host = "{dockerd.url}"\n\n[presets.fake]\nbase = "custom"\n'
        f'image = "{BUSYBOX_IMAGE}"\nport = {port}\ncontainer_name = "vllm"\nruntime = ""\n'
        f"command = {_toml_list(['sh', '-c', script])}\n"
    )
    env = [f"DOCKER_HOST={dockerd.url}"]  # the device's docker CLI (stop) talks to the private daemon too
    try:
        with netns.loopback_sshd(tmp_path / "ssh", free_port(), device_config, env) as devices:
            hosts = tmp_path / "hosts"
            hosts.write_text("local - ssh=local\n")
            config = tmp_path / "fleet.toml"
            config.write_text(
                f'[fleet]\nhosts = "{hosts}"\nssh_config = "{devices.ssh_config}"\n[presets.fake]\nbase = "custom"\n'
            )
            shop = Workshop(devices, config, tmp_path / "state")
            launch = shop.do("launch", "--preset", "fake", "--yes", "--timeout", "120")
            assert launch.returncode == 0, launch.stdout + launch.stderr
            assert "local: jetconsole launch fake --timeout 120" in launch.stdout
            assert launch.stdout.rstrip().endswith("1/1 done")
            assert "  local: Equivalent command:" in launch.stderr  # its first line of progress, at once
            source = DockerSource(dockerd.url)
            source.open()
            try:
                (running,) = [c for c in source.containers() if c.name == "vllm"]
                assert running.running
                stop = shop.do("stop", "--yes")
                assert stop.returncode == 0, stop.stdout + stop.stderr
                assert not next(c for c in source.containers() if c.name == "vllm").running
            finally:
                source.close()
    finally:
        cleanup = DockerSource(dockerd.url)
        cleanup.open()
        for c in cleanup.api.containers(all=True):
            cleanup.api.remove_container(c["Id"], force=True)
        cleanup.close()


def test_collect_bench_brings_every_devices_runs_into_one_comparison(workshop: Workshop, tmp_path: Path) -> None:
    from console.bench.results import save
    from tests.app.test_bench_screen import sample_report

    for i in (0, 2):  # unit-1 has run no bench
        save(sample_report(), tmp_path / "there" / f"unit-{i}")
    (tmp_path / "there" / "unit-1").mkdir()
    here = tmp_path / "here"
    out = workshop.do("collect-bench", "--source", str(here), "--dest", f"{tmp_path}/there/{{name}}", "--yes")
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(list((here / "unit-0").glob("bench-*.json"))) == 1 and (here / "unit-2").is_dir()
    assert "no bench run from unit-1: no saved runs in" in out.stdout
    labels = {line.split(":")[0].strip() for line in out.stdout.splitlines() if line.strip().startswith("unit-")}
    assert {"unit-0", "unit-2"} <= labels  # each device's results, side by side, labelled with it
    assert "unit-0: FP16" in out.stdout and "unit-2: FP16" in out.stdout


def test_the_doctor_on_a_device_counts_as_done_whatever_it_finds(workshop: Workshop) -> None:
    out = workshop.do("doctor", "--select", "unit-0", "--yes")
    assert out.returncode == 0, out.stdout + out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith("unit-0 "))
    assert row.split()[1] in ("good", "warnings", "failures")  # no Docker there: failures, and the doctor ran
