"""``jetconsole cluster plan`` and ``preflight`` on network namespaces with real sshd (issue 17, in progress):
two nodes joined by a veth pair (one cable), each reached over SSH from here.  The plan reads each node's
address over SSH; the preflight passes on a good link and names each fault: an MTU mismatch, a wrong
interface, a taken Ray port, the worker's link down."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realparts.cluster_pair import Pair, cluster_pair
from tests.realparts.private_dockerd import BUSYBOX_IMAGE

pytestmark = [pytest.mark.realparts, pytest.mark.timeout(120)]


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    """Two nodes on one cable (tests/realparts/cluster_pair.py); NCCL_DEBUG is set on a only."""
    with cluster_pair(tmp_path, envs=(["HF_HOME=/data/hf-a", "NCCL_DEBUG=INFO"], ["HF_HOME=/data/hf-b"])) as made:
        yield made


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
    total_kib = int(Path("/proc/meminfo").read_text().split()[1])  # MemTotal, the first line: both nodes share it
    assert got["head.memory"]["evidence"][0].startswith(f"{total_kib / 1024**2:.1f} GiB in all")
    assert "its share at TP=2: 10.4 GiB" in got["head.memory"]["evidence"][2]  # gpt-oss-20b's half, and more
    assert got["image.nccl"]["status"] == "warn" and got["image.nccl"]["evidence"] == [
        f"no NCCL found in {BUSYBOX_IMAGE}"
    ]
    assert got["worker.shm"]["evidence"][-1].startswith("/dev/shm is ")

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
