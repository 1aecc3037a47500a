"""``jetconsole cluster plan`` and ``preflight`` on network namespaces with real sshd (issue 17, in progress):
two nodes joined by a veth pair (one cable), each reached over SSH from here.  The plan reads each node's
address over SSH; the preflight passes on a good link and names each fault: an MTU mismatch, a wrong
interface, a taken Ray port, the worker's link down."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import need
from tests.realparts import netns
from tests.realparts.agents import ROOT
from tests.realparts.private_dockerd import BUSYBOX_IMAGE, PrivateDockerd

pytestmark = [pytest.mark.realparts, pytest.mark.timeout(120)]


@dataclass
class Pair:
    a: netns.Namespace
    b: netns.Namespace
    cable: tuple[str, str]  # the joined interfaces' names, in a and in b
    config: Path
    daemons: list[PrivateDockerd]  # a's and b's

    def copy_image(self) -> None:
        """local/busybox:test from a's daemon into b's, the same image (docker save | docker load)."""
        import docker

        source = docker.APIClient(base_url=self.daemons[0].url, version="auto")
        target = docker.APIClient(base_url=self.daemons[1].url, version="auto")
        target.load_image(b"".join(source.get_image(BUSYBOX_IMAGE)))

    def cluster(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "console", "--config", str(self.config), "cluster", *args]
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)

    def nodes(self, head_if: str = "", worker_if: str = "") -> list[str]:
        cable_a, cable_b = head_if or self.cable[0], worker_if or self.cable[1]
        return ["--head", "node-a", "--worker", "node-b", "--head-if", cable_a, "--worker-if", cable_b]


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    """Two namespaces on one cable, each with its own sshd and its own private dockerd (run inside it);
    local/busybox:test is on a's only."""
    why = netns.missing()
    need(why is None, why or "")
    need(shutil.which("dockerd") is not None, "dockerd is not installed (scripts/test.sh installs docker.io)")
    daemons: list[PrivateDockerd] = []
    try:
        daemons += [PrivateDockerd(), PrivateDockerd()]
        envs = [  # NCCL_DEBUG never reaches b
            ["HF_HOME=/data/hf-a", "NCCL_DEBUG=INFO", f"DOCKER_HOST={daemons[0].url}"],
            ["HF_HOME=/data/hf-b", f"DOCKER_HOST={daemons[1].url}"],
        ]
        with netns.namespaces(tmp_path / "ns", 2, envs=envs) as devices:
            a, b = devices.namespaces
            for daemon, ns in zip(daemons, (a, b), strict=True):
                daemon.prefix = [
                    "nsenter",
                    f"--net=/run/netns/{ns.name}",
                ]  # its network; this mount namespace (cgroups)
                daemon.start()
            daemons[0].import_busybox()
            cable = netns.join(a, b)
            hosts = tmp_path / "hosts"
            hosts.write_text(f"node-a - ssh={a.address}\nnode-b - ssh={b.address}\n")
            config = tmp_path / "config.toml"
            config.write_text(f'[fleet]\nhosts = "{hosts}"\nssh_config = "{devices.ssh_config}"\n')
            yield Pair(a, b, cable, config, daemons)
    finally:
        for daemon in daemons:
            daemon.cleanup()


def test_the_plan_reads_each_nodes_address_over_ssh(pair: Pair) -> None:
    out = pair.cluster("plan", *pair.nodes(), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["head"]["ip"], doc["worker"]["ip"]) == ("10.232.0.1", "10.232.0.2")
    assert "--address 10.232.0.1:6379 --node-ip-address 10.232.0.2" in doc["lines"]["node-b"][1]
    wrong = pair.cluster("plan", *pair.nodes(head_if="eth9"))
    assert wrong.returncode == 2
    assert "node-a has no interface eth9; it offers: " in wrong.stderr
    assert f"{pair.cable[0]} 10.232.0.1 (MTU 1500)" in wrong.stderr  # and the link it has to here


def checks_of(out: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    assert out.stdout.startswith("{"), out.stderr
    return {c["id"]: c for c in json.loads(out.stdout)["checks"]}


def test_the_preflight_passes_on_a_good_link_and_names_an_mtu_mismatch(pair: Pair) -> None:
    missing = checks_of(pair.cluster("preflight", *pair.nodes(), "--image", BUSYBOX_IMAGE, "--json"))
    assert missing["image.same"]["status"] == "fail"
    assert missing["image.same"]["evidence"][0].startswith(f"{BUSYBOX_IMAGE} is not on node-b: Error")
    pair.copy_image()
    good = pair.cluster("preflight", *pair.nodes(), "--image", BUSYBOX_IMAGE, "--json")
    got = checks_of(good)
    assert good.returncode == 2, good.stdout + good.stderr  # no NVIDIA runtime on this machine's daemons
    assert got["head.runtime"]["status"] == "fail" and "runc" in got["head.runtime"]["evidence"][0]
    for check in ("head.interface", "head.route", "head.reach", "head.ports", "worker.reach", "link.mtu", "image.same"):
        assert got[check]["status"] == "ok", got[check]
    assert got["link.speed"]["status"] in ("ok", "skip")  # a veth may not say its speed
    assert got["env.same"]["status"] == "warn" and got["env.same"]["evidence"] == ["only on node-a: NCCL_DEBUG"]
    assert got["nccl.thor"]["status"] == "ok"  # not a Thor (not a Jetson at all)
    assert "/data/hf" not in good.stdout  # names only: the two nodes' different values are never read

    subprocess.run(["ip", "-n", pair.b.name, "link", "set", pair.cable[1], "mtu", "9000"], check=True)
    bad = pair.cluster("preflight", *pair.nodes(), "--json")
    assert bad.returncode == 2
    mtu = checks_of(bad)["link.mtu"]
    assert mtu["status"] == "fail" and mtu["evidence"][0] == "MTU 1500 on node-a, 9000 on node-b"
    assert mtu["fix"].startswith(f"set one MTU on both: ip link set {pair.cable[1]} mtu 1500")


def test_a_taken_ray_port_and_an_unreachable_worker_are_named(pair: Pair) -> None:
    taken = pair.a.run(
        [sys.executable, "-m", "http.server", "6379", "--bind", "10.232.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def port_seen() -> bool:
            out = subprocess.run(["ip", "netns", "exec", pair.a.name, "ss", "-Hltn"], capture_output=True, text=True)
            return ":6379" in out.stdout

        from tests.realparts.prometheus_server import wait_for

        wait_for(port_seen, 20, "the stand-in listening on 6379")
        got = checks_of(pair.cluster("preflight", *pair.nodes(), "--json"))
        assert got["head.ports"]["status"] == "fail"
        assert got["head.ports"]["evidence"] == ["port 6379 (Ray's head (GCS)) is already listened on"]
    finally:
        taken.terminate()
        taken.wait(10)
    subprocess.run(["ip", "-n", pair.b.name, "link", "set", pair.cable[1], "down"], check=True)
    down = pair.cluster("preflight", *pair.nodes(), "--json")
    got = checks_of(down)
    assert down.returncode == 2
    assert got["worker.interface"]["status"] == "fail" and got["worker.interface"]["evidence"] == [
        f"{pair.cable[1]} is down"
    ]
    assert got["head.reach"]["status"] == "fail"  # the head's ping finds nobody at the other end
