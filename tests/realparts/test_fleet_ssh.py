"""The fleet over real links (issue 16): network namespaces on this machine as devices, each with a real
OpenSSH sshd.  One runs a real ``jetconsole agent`` on the emulated Orin's jtop service, reached over its
link with a token; the others have no agent and are read over SSH, one with jetconsole there
(``snapshot --json``) and one without (/proc).  A changed host key and a refused login are said; a link
taken down makes that device late alone, and an agent restarted mid-run comes back."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import need
from tests.realparts import netns
from tests.realparts.agents import ROOT
from tests.realparts.prometheus_server import wait_for

pytestmark = [pytest.mark.realparts, pytest.mark.timeout(240)]
NO_JETCONSOLE = "/usr/bin:/bin:/usr/sbin:/sbin"  # the PATH of a device where jetconsole is not installed


@dataclass
class Room:
    devices: netns.Devices
    hosts: Path
    config: Path  # [fleet] ssh_config and the short limits
    token: Path
    agent_argv: list[str]

    @property
    def agent_ns(self) -> netns.Namespace:
        return self.devices.namespaces[0]

    def start_agent(self) -> subprocess.Popen[bytes]:
        proc = self.agent_ns.run(self.agent_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://{self.agent_ns.address}:9147"
        wait_for(lambda: _health(url), 60, f"the agent in {self.agent_ns.name} at {url}")
        return proc


def _health(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def room(tmp_path: Path, jtop_service, installed_command: str) -> Iterator[Room]:
    why = netns.missing()
    need(why is None, why or "")
    with netns.namespaces(tmp_path / "ns", 3, paths=[None, NO_JETCONSOLE, None]) as devices:
        a, b, c = devices.namespaces
        token = tmp_path / "agent.token"
        token.write_text("s3cret-fleet-token\n")
        token.chmod(0o600)
        argv = [
            installed_command,
            "--config",
            str(a.home / "config.toml"),
            "agent",
            "--listen",
            f"{a.address}:9147",
            "--allow-remote",
            "--token-file",
            str(token),
        ]
        wrong = (b.home / "host_key.pub").read_text()  # b's key, for c's address: a changed key
        devices.known_hosts.write_text(devices.known_hosts.read_text() + f"changed-key {wrong}")
        ssh_config = devices.ssh_config
        ssh_config.write_text(
            f"Host changed\n  HostName {c.address}\n  HostKeyAlias changed-key\n"
            f"Host refused\n  HostName {c.address}\n  User no-such-user\n" + ssh_config.read_text()
        )
        hosts = tmp_path / "hosts"
        hosts.write_text(
            f"agent-a   http://{a.address}:9147  ssh={a.address} token={token}\n"
            f"proc-b    -                        ssh={b.address}\n"
            f"snap-c    -                        ssh={c.address}\n"
            "changed   -                        ssh=changed\n"
            "refused   -                        ssh=refused\n"
        )
        config = tmp_path / "fleet.toml"
        config.write_text(
            f'[fleet]\nhosts = "{hosts}"\ninterval = 1.0\ntimeout = 0.75\n'
            f'ssh_config = "{ssh_config}"\nssh_interval = 1.0\nssh_timeout = 5.0\n'
        )
        room = Room(devices, hosts, config, token, argv)
        room.start_agent()
        yield room


def fleet_json(room: Room) -> tuple[int, dict]:
    argv = [sys.executable, "-m", "console", "--config", str(room.config), "fleet", "--json"]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    return out.returncode, json.loads(out.stdout)


def test_agents_and_ssh_reads_each_say_how_they_were_read(room: Room) -> None:
    flag = room.devices.namespaces[1].home / "state" / "jetconsole" / "help-flag"
    flag.parent.mkdir(parents=True)
    flag.write_text("on 2026-12-05T08:30:00+0000\n")  # raised on proc-b, as `jetconsole help-flag on` writes it
    code, doc = fleet_json(room)
    by = {d["name"]: d for d in doc["devices"]}
    assert code == 1  # two are refused
    assert by["agent-a"]["condition"] == "up" and by["agent-a"]["via"] == "agent"
    assert by["agent-a"]["gpu_pct"] is not None  # the emulated Orin's GPU, through jtop, over the link
    assert by["proc-b"]["via"] == "ssh /proc" and by["proc-b"]["condition"] == "up"
    assert by["proc-b"]["mem_total_gib"] > 0 and by["proc-b"]["flag"] is True
    assert by["proc-b"]["flag_since"] == 1796459400.0
    assert by["snap-c"]["via"] == "ssh" and by["snap-c"]["condition"] == "up" and by["snap-c"]["mem_total_gib"] > 0
    assert by["changed"]["error"].startswith("host key mismatch") and by["changed"]["condition"] == "unreachable"
    assert by["refused"]["error"].startswith("SSH login refused: ") and "Permission denied" in by["refused"]["error"]
    assert doc["devices"][0]["name"] == "proc-b"  # the raised flag first


async def test_a_link_down_and_an_agent_restarted(room: Room, orin_snapshot) -> None:
    """The Fleet screen over the links: c's link goes down and only c goes late; a's agent is killed and
    started again, and a comes back; the others are answered every round meanwhile."""
    from console.config import load
    from console.runtime import events as ev
    from console.ui.screens.fleet import FleetScreen
    from tests.app.helpers import live_app
    from tests.app.helpers import wait_for as wait_in

    config = load(str(room.config))
    app = live_app([orin_snapshot], config)
    got: list[ev.FleetAnswered] = []
    app.runtime.subscribe(lambda _s, e: got.append(e) if isinstance(e, ev.FleetAnswered) else None)

    def answers(name: str) -> list:  # type: ignore[type-arg]
        return [a for e in got for a in e.answers if a.name == name]

    a, _, c = room.devices.namespaces
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F")
        await wait_in(pilot, lambda: isinstance(app.screen, FleetScreen))
        await wait_in(pilot, lambda: any(x.reading for x in answers("snap-c")), timeout=30)
        c.link_down()
        await wait_in(pilot, lambda: (late := answers("snap-c")[-1]).error is not None and "SSH" in late.error, 30)
        before = len(answers("agent-a"))
        await wait_in(pilot, lambda: len(answers("agent-a")) >= before + 3, timeout=10)  # a goes on, every second
        assert all(x.reading is not None for x in answers("agent-a")[before:])
        c.link_up()
        await wait_in(pilot, lambda: answers("snap-c")[-1].reading is not None, timeout=30)

        agent = a.processes[-1]
        agent.kill()
        agent.wait(10)
        await wait_in(pilot, lambda: answers("agent-a")[-1].error is not None, timeout=10)
        assert answers("agent-a")[-1].error.startswith("unreachable")
        room.start_agent()
        await wait_in(pilot, lambda: answers("agent-a")[-1].reading is not None, timeout=30)
        fleet = app.runtime.state.fleet
        assert fleet is not None and fleet.status["agent-a"].last.via == "agent"


async def test_the_device_view_reads_its_agent_over_the_link(room: Room, orin_snapshot) -> None:
    """Enter on a device: its whole answer, read from its agent (on the emulated Orin's jtop service, over
    the namespace's link, with its token) every second, drawn by the dashboard's telemetry panel."""
    from console.config import load
    from console.ui.screens.fleet import FleetScreen
    from console.ui.screens.fleet_device import DeviceScreen
    from console.ui.widgets.telemetry_panel import TelemetryPanel
    from tests.app.helpers import live_app
    from tests.app.helpers import wait_for as wait_in

    app = live_app([orin_snapshot], load(str(room.config)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F")
        await wait_in(pilot, lambda: isinstance(app.screen, FleetScreen))
        screen = app.screen
        await wait_in(pilot, lambda: bool(screen._shown) and screen._shown[0].name == "agent-a", timeout=30)
        await pilot.press("enter")
        await wait_in(pilot, lambda: isinstance(app.screen, DeviceScreen))

        def samples() -> int:
            fleet = app.runtime.state.fleet
            return max(fleet.history.added) if fleet and fleet.history else 0

        await wait_in(pilot, lambda: samples() >= 2, timeout=30)  # read again each second: the sparklines fill
        detail = app.runtime.state.fleet.detail
        assert detail is not None and detail.snapshot is not None
        assert detail.snapshot.board is not None and "Orin" in (detail.snapshot.board.model or "")
        assert detail.snapshot.gpus and detail.snapshot.gpus[0].load is not None
        panel = app.screen.query_one(TelemetryPanel)
        await wait_in(pilot, lambda: "GPU" in panel.summary.text, timeout=10)
        status = app.screen.query_one("#device-status").text
        assert f"ssh {room.agent_ns.address}: s opens its own jetconsole" in status and "Docker:" in status
        await pilot.press("escape")
        await wait_in(pilot, lambda: app.runtime.state.fleet.watched is None)


def test_a_launch_is_fitted_to_the_l4t_its_agent_reports(room: Room) -> None:
    """The agent on the emulated Orin reports L4T 36.4.0: vllm-orin's dustynv/vllm:r36.4.0 fits it; a device
    read over SSH without /etc/nv_tegra_release has no L4T and is refused with that reason."""
    argv = [sys.executable, "-m", "console", "--config", str(room.config), "fleet", "do", "launch"]
    argv += ["--preset", "vllm-orin", "--select", "agent-a,proc-b", "--dry-run"]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stdout + out.stderr  # one of the two is refused
    assert "agent-a: jetconsole launch vllm-orin --timeout 1800   # L4T 36.4.0: r36.4.0" in out.stdout
    assert "proc-b: refused: its L4T is unknown" in out.stdout
