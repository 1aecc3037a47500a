"""The fleet read through a real Prometheus (Debian's ``prometheus``, issue 16) that scrapes real agents with
the shipped deploy/prometheus/ config and recording rules: one agent gone (up = 0), one device Prometheus does
not scrape, the devices taken from Prometheus when no hosts file names them, and Prometheus itself going down."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.fleet.prometheus import QUERY
from tests.conftest import need
from tests.realparts.agents import ROOT, start_agents
from tests.realparts.prometheus_server import DEPLOY, Prometheus, prometheus_binary, query, running_prometheus, wait_for
from tests.realparts.test_fleet_cli import fleet_cli

Scraped = tuple[str, Path, dict[str, str], Prometheus]
pytestmark = [pytest.mark.realparts, pytest.mark.timeout(240)]


@pytest.fixture
def scraped(tmp_path: Path) -> Iterator[Scraped]:
    """(Prometheus' URL, a hosts file, device -> agent URL, Prometheus): thor-01 and thor-02 answer, thor-03's
    agent is gone, and spare-04 is in the hosts file but not in Prometheus' targets."""
    need(prometheus_binary() is not None, "prometheus is not installed (scripts/test.sh installs Debian's)")
    config = tmp_path / "agent.toml"
    config.write_text(f'[endpoints]\ndocker_host = "unix://{tmp_path}/none.sock"\n[doctor]\ninterval = 0\n')
    procs = start_agents(3, config, "--source", "procfs")
    urls = {f"thor-0{i}": url for i, (_, url) in enumerate(procs, start=1)}
    gone = procs[2][0]
    gone.kill()
    gone.wait(10)
    hosts = tmp_path / "hosts"
    hosts.write_text("".join(f"{n} {u} group=rack-a\n" for n, u in urls.items()) + "spare-04 http://127.0.0.1:9\n")
    out = fleet_cli("/dev/null", hosts, "--targets")
    assert out.returncode == 0, out.stderr
    targets = [t for t in json.loads(out.stdout) if t["labels"]["device"] != "spare-04"]
    try:
        with running_prometheus(tmp_path / "prometheus", targets) as prometheus:
            url = prometheus.url
            wait_for(
                lambda: (
                    len(query(url, 'jetconsole_memory_total_bytes{job="jetconsole"}')) == 2
                    and len(query(url, 'up{job="jetconsole"}')) == 3
                ),
                60,
                "Prometheus' first scrapes of the three targets",
            )
            yield url, hosts, urls, prometheus
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(10)


def test_targets_come_from_the_hosts_file(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("thor-01 http://10.0.0.101:9147 group=rack-a\nspark https://spark.local:9147\n")
    out = fleet_cli("/dev/null", hosts, "--targets")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [
        {"targets": ["10.0.0.101:9147"], "labels": {"device": "thor-01", "group": "rack-a"}},
        {"targets": ["spark.local:9147"], "labels": {"device": "spark"}},
    ]


def test_the_shipped_config_and_rules_pass_promtool(tmp_path: Path) -> None:
    need(prometheus_binary() is not None, "prometheus is not installed (scripts/test.sh installs Debian's)")
    for name in ("prometheus.yml", "jetconsole.rules.yml"):
        (tmp_path / name).write_bytes((DEPLOY / name).read_bytes())
    (tmp_path / "jetconsole-targets.json").write_text("[]")
    checks = (["check", "config", "prometheus.yml"], ["check", "rules", "jetconsole.rules.yml"])
    for args in checks:
        out = subprocess.run(["promtool", *args], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "SUCCESS" in out.stdout + out.stderr


def test_the_fleet_through_prometheus(scraped: Scraped) -> None:
    url, hosts, agents, _ = scraped
    out = fleet_cli("/dev/null", hosts, "--prometheus", url, "--json")
    assert out.returncode == 1, out.stderr  # thor-03 and spare-04 are not up
    doc = json.loads(out.stdout)
    by_name = {d["name"]: d for d in doc["devices"]}
    state = httpx.get(agents["thor-01"] + "/v1/state", timeout=10).json()
    assert by_name["thor-01"]["condition"] == "up" and by_name["thor-01"]["via"] == "prometheus"
    assert by_name["thor-01"]["mem_total_gib"] * (1 << 30) == pytest.approx(state["telemetry"]["memory"]["total"])
    assert by_name["thor-02"]["condition"] == "up"
    assert by_name["thor-03"]["condition"] == "unreachable" and "up = 0" in by_name["thor-03"]["error"]
    assert "does not scrape it" in by_name["spare-04"]["error"]
    assert doc["totals"]["up"] == 2 and doc["error"] is None


def test_without_a_hosts_file_the_devices_are_prometheus_targets(scraped: Scraped, tmp_path: Path) -> None:
    url, _, _, _ = scraped
    config = tmp_path / "prom.toml"
    config.write_text(f'[fleet]\nprometheus = "{url}"\n')
    argv = [sys.executable, "-m", "console", "--config", str(config), "fleet", "--json"]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    doc = json.loads(out.stdout)
    assert [d["name"] for d in doc["devices"]] == ["thor-01", "thor-02", "thor-03"]
    assert [d["condition"] for d in doc["devices"]] == ["up", "up", "unreachable"]
    assert out.returncode == 1


def test_the_recording_rules_give_the_fleet_totals(scraped: Scraped) -> None:
    url, _, _, _ = scraped

    def totals() -> dict[str, float]:
        names = ("devices:count", "devices_up:sum", "servers_ready:sum", "help_flags_raised:sum")
        got = {n: query(url, f"jetconsole:{n}") for n in names}
        return {n: float(r[0]["value"][1]) for n, r in got.items() if r}

    want = {"devices:count": 3.0, "devices_up:sum": 2.0, "servers_ready:sum": 0.0, "help_flags_raised:sum": 0.0}
    seen: list[dict[str, float]] = []
    try:  # the first evaluations may come before the first scrapes: wait for the rules to catch up
        wait_for(lambda: seen.append(totals()) or seen[-1] == want, 30, "the recording rules' totals")
    except AssertionError:
        raise AssertionError(f"the rules gave {seen[-1]}, not {want}") from None
    hottest = query(url, "device:jetconsole_temperature_celsius:max")
    assert {r["metric"]["device"] for r in hottest} <= {"thor-01", "thor-02"}


def test_the_query_is_one_request_for_every_device(scraped: Scraped) -> None:
    url, _, _, _ = scraped
    names = {r["metric"]["__name__"] for r in query(url, QUERY)}
    assert {"up", "jetconsole_memory_total_bytes", "jetconsole_help_flag"} <= names


def test_a_prometheus_that_is_down(tmp_path: Path) -> None:
    from tests.realparts.vllm_server import free_port

    hosts = tmp_path / "hosts"
    hosts.write_text("thor-01 http://127.0.0.1:9\n")
    closed = f"http://127.0.0.1:{free_port()}"
    out = fleet_cli("/dev/null", hosts, "--prometheus", closed, "--json")
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["error"].startswith(f"Prometheus at {closed}: unreachable")
    assert doc["devices"][0]["error"] == doc["error"] and doc["devices"][0]["condition"] == "unreachable"
    assert f"Prometheus at {closed}: unreachable" in out.stderr


async def test_the_fleet_view_through_prometheus_and_prometheus_going_down(scraped: Scraped, orin_snapshot) -> None:
    """The Fleet screen reads the same through Prometheus; when Prometheus stops, the screen says so, keeps
    the last figures and goes on asking."""
    from console.config import Config
    from console.ui.screens.fleet import FleetScreen
    from tests.app.helpers import live_app
    from tests.app.helpers import wait_for as wait_in

    url, hosts, _, prometheus = scraped
    config = Config(fleet_hosts=str(hosts), fleet_interval=0.5, fleet_timeout=0.5, fleet_prometheus=url)
    app = live_app([orin_snapshot], config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F")
        await wait_in(pilot, lambda: isinstance(app.screen, FleetScreen))

        def status(name: str):  # type: ignore[no-untyped-def]
            fleet = app.runtime.state.fleet
            return fleet.status.get(name) if fleet is not None else None

        await wait_in(pilot, lambda: (s := status("thor-01")) is not None and s.good is not None, timeout=30)
        assert status("thor-01").good.via == "prometheus"
        assert "up = 0" in status("thor-03").error
        await wait_in(pilot, lambda: "2/4 up" in app.screen.query_one("#title").text, timeout=10)
        prometheus.process.terminate()
        prometheus.process.wait(15)
        await wait_in(pilot, lambda: "unreachable" in app.screen.query_one("#fleet-status").text, timeout=10)
        assert app.screen.query_one("#fleet-status").text.startswith(f"Prometheus at {url}")
        assert status("thor-01").good is not None  # the last figures stay, aging into stale
        await wait_in(pilot, lambda: "0/4 up" in app.screen.query_one("#title").text, timeout=10)
