"""``jetconsole cluster up|status|down`` on two network namespaces (tests/realparts/cluster_pair.py): each with
its own sshd and private dockerd, real Ray from PyPI in the nodes' containers, and the real vLLM CPU server.

- The Ray path: both containers, ``ray start`` head and worker, ``ray status`` showing both nodes and their
  GPUs, the plan's environment reaching the worker (a Ray task pinned to the worker's node reads it), then
  vLLM's CPU build refusing the Ray executor, named with its own line; ``down`` leaves nothing.
- vLLM's Ray-free multi-node mode serving TP=2 across the two namespaces, followed to ``/health`` 200 and
  answering a completion; ``status``; ``down``.
- Faults, each named: the image missing on the worker, the worker never joining (a wrong
  ``--node-ip-address``), Ray's port taken, the worker's namespace unreachable, the worker killed after it
  joined, Ctrl-C during up.  After each, both namespaces are clean: no container, no Ray process, no port.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need
from tests.realparts.agents import ROOT
from tests.realparts.cluster_pair import CLUSTER_IMAGE, Pair, cluster_pair, import_cluster_image, ray_available
from tests.realparts.prometheus_server import wait_for

pytestmark = [pytest.mark.realparts]
PORTS = (6379, 8000, 29500)
HEAD_IP, WORKER_IP = "10.232.0.1", "10.232.0.2"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    ok, why = ray_available()
    need(ok, why)
    with cluster_pair(tmp_path, nvidia=True) as made:
        import_cluster_image(made.daemons[0])
        yield made


def up_args(pair: Pair, model: Path, mode: str, *more: str) -> list[str]:
    serve = "--served-model-name tiny --max-model-len 1024 --dtype float32"
    return [
        "up",
        *pair.nodes(),
        "--image",
        CLUSTER_IMAGE,
        "--volume",
        "/:/host",
        "--data",
        str(pair.config.parent / "data"),
        "--no-memlock",  # this machine's Docker runs in a container that cannot raise it
        "--model",
        str(model),
        f"--serve-args={serve}",
        "--mode",
        mode,
        *more,
    ]


def docker_ps(pair: Pair, which: int) -> list[str]:
    import docker

    api = docker.APIClient(base_url=pair.daemons[which].url, version="auto")
    return [c["Names"][0] for c in api.containers(all=True)]


def listening(pair: Pair, which: int) -> set[int]:
    ns = (pair.a, pair.b)[which]
    out = subprocess.run(["ip", "netns", "exec", ns.name, "ss", "-Hltn"], capture_output=True, text=True).stdout
    return {int(line.split()[3].rsplit(":", 1)[1]) for line in out.splitlines() if line.split()}


def ray_processes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "raylet" in line or "gcs_server" in line]


def assert_clean(pair: Pair) -> None:
    """No container, no Ray process, none of the cluster's ports listening, on either node."""
    for which in (0, 1):
        assert docker_ps(pair, which) == [], which
        assert not (listening(pair, which) & set(PORTS)), (which, listening(pair, which))
    assert ray_processes() == []


def result_of(out: subprocess.CompletedProcess[str]) -> dict:
    start = out.stdout.index("{\n")
    return json.loads(out.stdout[start : out.stdout.index("\n}\n", start) + 3])


@pytest.mark.timeout(300)
def test_the_ray_path_forms_both_nodes_and_names_the_cpu_builds_refusal(pair: Pair, vllm_model: Path) -> None:
    pair.copy_image(CLUSTER_IMAGE)
    out = pair.cluster(*up_args(pair, vllm_model, "ray", "--keep", "--json"), timeout=240)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "ray: 2 nodes, 2 GPUs" in out.stdout, out.stdout
    doc = result_of(out)
    assert [p["name"] for p in doc["phases"]] == ["containers", "env", "ray head", "ray join", "serve", "ready"]
    assert [p["ok"] for p in doc["phases"]] == [True] * 5 + [False]
    assert doc["cause"]["key"] == "cpu-no-ray", doc["cause"]
    assert "current platform cpu does not support ray" in doc["cause"]["evidence"]
    assert "--mode nnodes" in doc["cause"]["fix"]

    status = pair.cluster("status", "--json")
    got = json.loads(status.stdout)
    assert [n["container"] for n in got["nodes"]] == ["running (0)", "running (0)"], got
    assert len(got["ray"]["active"]) == 2 and ["GPU", 0.0, 2.0] in got["ray"]["used"]
    # the plan's environment on the worker, as a Ray task pinned to the worker's node sees it
    task = (
        "import os, ray; from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy as A; "
        f"ray.init(address='{HEAD_IP}:6379', logging_level='ERROR'); "
        f"node = next(n['NodeID'] for n in ray.nodes() if n['NodeManagerAddress'] == '{WORKER_IP}'); "
        "f = ray.remote(lambda: (ray.util.get_node_ip_address(), os.environ.get('GLOO_SOCKET_IFNAME'), "
        "os.environ.get('VLLM_HOST_IP'))); "
        "print('TASK', *ray.get(f.options(scheduling_strategy=A(node, soft=False)).remote()))"
    )
    argv = ["docker", "-H", pair.daemons[0].url, "exec", "jetconsole-cluster", "python3", "-c", task]
    said = subprocess.run(argv, capture_output=True, text=True, timeout=120).stdout
    assert f"TASK {WORKER_IP} {pair.cable[1]} {WORKER_IP}" in said, said

    gone = pair.cluster("down", timeout=120)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "node-a: removed container jetconsole-cluster" in gone.stdout
    assert "node-b: removed container jetconsole-cluster" in gone.stdout and "nothing left" in gone.stdout
    assert_clean(pair)
    assert pair.cluster("status").returncode == 2  # nothing recorded any more


@pytest.mark.timeout(420)
def test_vllm_serves_tp2_across_the_namespaces_without_ray(pair: Pair, vllm_model: Path) -> None:
    import httpx

    pair.copy_image(CLUSTER_IMAGE)
    out = pair.cluster(*up_args(pair, vllm_model, "nnodes", "--json", "--ready-timeout", "300"), timeout=360)
    assert out.returncode == 0, out.stdout + out.stderr
    doc = result_of(out)
    assert doc["ok"] and doc["url"] == f"http://{pair.a.address}:8000/v1"
    assert [p["name"] for p in doc["phases"]] == ["containers", "env", "serve", "ready"]
    answer = httpx.post(
        f"{doc['url']}/completions", json={"model": "tiny", "prompt": "hello", "max_tokens": 8}, timeout=60
    ).json()
    assert answer["usage"]["completion_tokens"] == 8
    assert answer["system_fingerprint"].startswith("vllm-0.32.0-tp2"), answer  # both ranks serve it

    status = pair.cluster("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "head node-a: container running (0)" in status.stdout
    assert "worker node-b: container running (0)" in status.stdout
    assert "server: ready" in status.stdout
    gone = pair.cluster("down", timeout=120)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert_clean(pair)


def quick_up(pair: Pair, model: Path, mode: str = "ray", *more: str) -> subprocess.CompletedProcess[str]:
    return pair.cluster(*up_args(pair, model, mode, "--json", "--join-timeout", "20", *more), timeout=200)


@pytest.mark.timeout(240)
def test_an_image_missing_on_the_worker_and_an_unreachable_worker_are_named(pair: Pair, vllm_model: Path) -> None:
    out = quick_up(pair, vllm_model)  # the image is on a's daemon only
    assert out.returncode == 1, out.stdout + out.stderr
    cause = result_of(out)["cause"]
    assert (cause["key"], cause["title"]) == ("image-missing", "the image is not on node-b"), cause
    assert cause["evidence"] == "docker: Error response from daemon: No such image: local/cluster:test"
    assert "node-a: removed container jetconsole-cluster" in out.stdout  # a's, which had started
    assert "node-b: no container; nothing left" in out.stdout
    assert_clean(pair)

    pair.copy_image(CLUSTER_IMAGE)
    pair.b.link_down()  # node-b's only way from here
    try:
        out = quick_up(pair, vllm_model, "ray", "--head-ip", HEAD_IP, "--worker-ip", WORKER_IP)  # no SSH to plan
        assert out.returncode == 1, out.stdout + out.stderr
        cause = result_of(out)["cause"]
        assert (cause["key"], cause["title"]) == ("unreachable", "node-b cannot be reached over SSH"), cause
        assert "node-b: not reached" in out.stdout  # down could not reach it either, and says so
    finally:
        pair.b.link_up()
    gone = pair.cluster("down", timeout=120)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert_clean(pair)


@pytest.mark.timeout(240)
def test_a_worker_that_never_joins_and_a_taken_ray_port_are_named(pair: Pair, vllm_model: Path) -> None:
    pair.copy_image(CLUSTER_IMAGE)
    out = quick_up(pair, vllm_model, "ray", "--worker-ip", "10.232.0.9")  # not the worker's address
    assert out.returncode == 1, out.stdout + out.stderr
    doc = result_of(out)
    assert doc["cause"]["key"] == "worker-never-joined", doc["cause"]
    assert doc["cause"]["title"] == "node-b never joined the Ray cluster"
    assert doc["phases"][-1]["name"] == "ray join" and not doc["phases"][-1]["ok"]
    assert_clean(pair)

    taken = pair.a.run(
        [sys.executable, "-m", "http.server", "6379", "--bind", HEAD_IP],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: 6379 in listening(pair, 0), 20, "the stand-in listening on 6379")
        out = quick_up(pair, vllm_model)
        assert out.returncode == 1, out.stdout + out.stderr
        doc = result_of(out)
        assert doc["phases"][-1]["name"] == "ray head", doc
        assert doc["cause"]["key"] == "address-in-use", doc["cause"]
    finally:
        taken.terminate()
        taken.wait(10)
    assert_clean(pair)


def start_up(pair: Pair, model: Path, mode: str) -> subprocess.Popen[str]:
    argv = pair.argv(*up_args(pair, model, mode, "--ready-timeout", "300"))
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=pair.env())


def read_until(proc: subprocess.Popen[str], marker: str) -> str:
    """Its output up to the line that starts with ``marker`` (AssertionError with all of it if it ends first)."""
    assert proc.stdout is not None
    seen = ""
    for line in proc.stdout:
        seen += line
        if line.startswith(marker):
            return seen
    raise AssertionError(f"no {marker!r} in:\n{seen}")


@pytest.mark.timeout(300)
def test_a_worker_killed_after_it_joined_is_named(pair: Pair, vllm_model: Path) -> None:
    import docker

    pair.copy_image(CLUSTER_IMAGE)
    up = start_up(pair, vllm_model, "nnodes")
    try:
        read_until(up, "serve: ")  # both ranks started: the worker is part of the group now
        docker.APIClient(base_url=pair.daemons[1].url, version="auto").kill("jetconsole-cluster")
        rest, _ = up.communicate(timeout=120)
    finally:
        up.kill()
    assert up.returncode == 1, rest
    assert "failed: the worker node-b died after it had started [worker-died]" in rest
    assert "evidence: jetconsole-cluster: exited exit 137" in rest
    assert "node-b: removed container jetconsole-cluster" in rest
    assert_clean(pair)


@pytest.mark.timeout(240)
def test_ctrl_c_during_up_takes_both_nodes_down(pair: Pair, vllm_model: Path) -> None:
    pair.copy_image(CLUSTER_IMAGE)
    up = start_up(pair, vllm_model, "ray")
    try:
        read_until(up, "ray join…")  # both containers up, Ray's head running
        up.send_signal(signal.SIGINT)
        rest, _ = up.communicate(timeout=120)
    finally:
        up.kill()
    assert up.returncode == 130, rest
    assert "interrupted: taking both nodes down" in rest
    assert "node-a: removed container jetconsole-cluster" in rest and "node-b: removed container" in rest
    assert_clean(pair)
    assert pair.cluster("status").returncode == 2  # the record went with them


@pytest.mark.timeout(240)
def test_the_link_test_runs_an_all_reduce_over_the_cable(pair: Pair) -> None:
    pair.copy_image(CLUSTER_IMAGE)
    argv = ["preflight", *pair.nodes(), "--image", CLUSTER_IMAGE, "--volume", "/:/host", "--link-test", "--json"]
    out = pair.cluster(*argv, timeout=200)
    doc = json.loads(out.stdout)
    got = {c["id"]: c for c in doc["checks"]}
    link = got["link.test"]
    assert link["status"] == "ok", link
    assert link["title"].endswith(f"over {pair.cable[0]} / {pair.cable[1]}")
    (gloo,) = link["evidence"]  # no GPU here: Gloo only
    figures = re.fullmatch(r"gloo: ([\d.]+) Gbit/s \(64 MiB\), latency (\d+) µs", gloo)
    assert figures and float(figures.group(1)) > 0 and int(figures.group(2)) > 0, gloo
    assert doc["seconds"] > 0
    assert_clean(pair)  # the throwaway containers are gone

    subprocess.run(["ip", "-n", pair.b.name, "link", "set", pair.cable[1], "down"], check=True)
    out = pair.cluster(*argv, timeout=200)
    link = {c["id"]: c for c in json.loads(out.stdout)["checks"]}["link.test"]
    assert link["status"] == "skip", link  # the ranks cannot meet: not tried (torch would wait its minute)
    assert link["evidence"] == ["not run: head.reach, worker.reach failed"], link
    assert_clean(pair)


@pytest.mark.timeout(300)
async def test_the_cluster_screen_shows_the_nodes_checks_them_and_takes_them_down(
    pair: Pair, vllm_model: Path, orin_snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Ray path left up (--keep) by the CLI, then the Cluster screen: both containers running and Ray's two
    nodes read over SSH, p runs the preflight (its checks in the table), d asks, y takes both nodes down."""
    import asyncio

    from console.config import load
    from console.runtime.state import server_rows
    from console.ui.screens.cluster import ClusterScreen
    from console.ui.screens.confirm import ConfirmScreen
    from tests.app.helpers import live_app
    from tests.app.helpers import wait_for as wait_in

    pair.copy_image(CLUSTER_IMAGE)
    out = await asyncio.to_thread(pair.cluster, *up_args(pair, vllm_model, "ray", "--keep", "--json"), timeout=240)
    assert result_of(out)["cause"]["key"] == "cpu-no-ray", out.stdout
    monkeypatch.setenv("XDG_STATE_HOME", str(pair.state))  # the record the CLI wrote
    app = live_app([orin_snapshot], load(str(pair.config)), start_screen="cluster")

    def cluster():  # type: ignore[no-untyped-def]
        return app.runtime.state.cluster

    async with app.run_test(size=(140, 45)) as pilot:
        await wait_in(pilot, lambda: isinstance(app.screen, ClusterScreen))
        await wait_in(pilot, lambda: cluster() is not None and cluster().status is not None, timeout=30)
        status = cluster().status
        assert [n.container for n in status.nodes] == ["running (0)", "running (0)"]
        assert len(status.ray.active) == 2
        assert status.server.startswith("not answering")  # vLLM refused the Ray executor: nothing serves
        url = f"http://{pair.a.address}:8000/v1"
        assert url in [r.url for r in server_rows(app.runtime.state)]  # in the Servers panel and the chat's list
        await pilot.press("p")
        await wait_in(pilot, lambda: cluster().result.startswith("preflight:"), timeout=60)
        ids = {c.id: c.status for c in cluster().checks}
        assert ids["link.mtu"] == "ok" and ids["head.ports"] == "fail"  # Ray's own port: taken by Ray itself
        await pilot.press("d")
        await wait_in(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_in(pilot, lambda: cluster().result == "down: both nodes clean", timeout=90)
        assert any(line.startswith("node-b: removed container jetconsole-cluster") for line in cluster().said)
        await wait_in(pilot, lambda: cluster().record is None, timeout=30)  # read again after it
        assert url not in [r.url for r in server_rows(app.runtime.state)]
    assert_clean(pair)
