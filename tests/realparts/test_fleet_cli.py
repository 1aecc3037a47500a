"""``jetconsole fleet`` against real agents on loopback ports (issue 16): three agent processes, one of them
SIGSTOPped (slow) and one killed (gone), beside a server that answers garbage and one that speaks a newer
schema.  Each device answers or fails on its own; the stopped one runs into its own time limit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.fleet.schema import SCHEMA, VERSION
from tests.fake_http import serve
from tests.realparts.agents import ROOT, start_agents

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    config = tmp_path / "config.toml"
    config.write_text(f'[endpoints]\ndocker_host = "unix://{tmp_path}/none.sock"\n[doctor]\ninterval = 0\n')
    procs = start_agents(3, config, "--source", "procfs")
    garbage = serve(b"<html>not an agent</html>")
    newer = serve(json.dumps({"schema": SCHEMA, "version": VERSION + 1}).encode())
    (_ok, ok_url), (slow, slow_url), (gone, gone_url) = procs
    for _, url in procs:  # each answers before the faults are made
        assert httpx.get(url + "/health", timeout=10).status_code == 200
    os.kill(slow.pid, signal.SIGSTOP)
    gone.kill()
    gone.wait(10)
    urls = {
        "thor-01": ok_url,
        "thor-02": slow_url,
        "thor-03": gone_url,
        "garbage": f"http://127.0.0.1:{garbage.server_address[1]}",
        "newer": f"http://127.0.0.1:{newer.server_address[1]}",
    }
    hosts = tmp_path / "hosts"
    hosts.write_text("".join(f"{name} {url} group=rack-a\n" for name, url in urls.items()))
    try:
        yield hosts, urls
    finally:
        os.kill(slow.pid, signal.SIGCONT)
        for proc, _ in procs:
            proc.terminate()
            proc.wait(10)
        garbage.shutdown()
        newer.shutdown()


def fleet_cli(config: Path | str, hosts: Path, *options: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "console", "--config", str(config), "fleet", "--hosts", str(hosts), *options]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_each_device_answers_or_fails_on_its_own(fleet: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    hosts, _ = fleet
    config = tmp_path / "fleet.toml"
    config.write_text("[fleet]\ntimeout = 0.75\n")
    out = fleet_cli(config, hosts, "--json")
    assert out.returncode == 1, out.stderr  # some are down
    doc = json.loads(out.stdout)
    by_name = {d["name"]: d for d in doc["devices"]}
    assert by_name["thor-01"]["condition"] == "up" and by_name["thor-01"]["mem_total_gib"] > 0
    assert by_name["thor-02"]["error"] == "no answer within 0.75 s"
    assert by_name["thor-03"]["error"].startswith("unreachable")
    assert by_name["garbage"]["error"] == "not a jetconsole agent: its answer is not JSON"
    assert "newer than this jetconsole reads" in by_name["newer"]["error"]
    assert [by_name[n]["condition"] for n in ("thor-02", "thor-03", "garbage", "newer")] == ["unreachable"] * 4
    assert doc["totals"]["up"] == 1 and doc["totals"]["devices"] == 5


def test_the_table_and_the_config_errors(fleet: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    hosts, _ = fleet
    out = fleet_cli("/dev/null", hosts)
    assert out.returncode == 1
    assert out.stdout.splitlines()[0].split()[:3] == ["device", "state", "server"]
    assert "1/5 up · 0 Ready" in out.stdout and "thor-02: no answer within" in out.stdout
    bad = tmp_path / "bad-hosts"
    bad.write_text("thor-01 http://127.0.0.1:1\nthor-01 http://127.0.0.1:2\n")
    out = fleet_cli("/dev/null", bad)
    assert out.returncode == 2 and f"{bad}:2: thor-01: this name is already on line 1" in out.stderr


async def test_the_fleet_view_keeps_reading_the_others_while_one_is_stopped(
    fleet: tuple[Path, dict[str, str]], orin_snapshot
) -> None:
    """The Fleet screen on the real agents: a stopped agent's timeout arrives in a later batch than the
    answers of the live one, round after round, so the live one is shown without waiting for it."""
    from console.config import Config
    from console.runtime import events as ev
    from console.ui.screens.fleet import FleetScreen
    from tests.app.helpers import live_app, wait_for

    hosts, _ = fleet
    app = live_app([orin_snapshot], Config(fleet_hosts=str(hosts), fleet_interval=1.0, fleet_timeout=0.75))
    batches: list[set[str]] = []
    app.runtime.subscribe(
        lambda _s, e: batches.append({a.name for a in e.answers}) if isinstance(e, ev.FleetAnswered) else None
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen))
        await wait_for(pilot, lambda: sum("thor-02" in b for b in batches) >= 3, timeout=30)
        fleet_state = app.runtime.state.fleet
        assert fleet_state is not None
        assert fleet_state.status["thor-01"].last.reading is not None
        assert fleet_state.status["thor-02"].error == "no answer within 0.75 s"
        with_live = [i for i, b in enumerate(batches) if "thor-01" in b]
        with_slow = [i for i, b in enumerate(batches) if "thor-02" in b]
        assert len(with_live) >= 3 and not set(with_live) & set(with_slow)  # never held back for the slow one
        assert "1/5 up" in app.screen.query_one("#title").text
