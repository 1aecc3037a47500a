"""The two-node plan (issue 17, in progress): every node's exact lines from the recipe, the interface in
every variable that picks a network, secrets by name only, the Ray-free mode, and a plan that cannot work
refused before any node is asked; a node's interfaces read from ``ip -j addr``."""

from __future__ import annotations

import json
import shlex

import pytest

from console.cluster.interfaces import offered, parse
from console.cluster.plan import ClusterPlan, Node, docker_run, lines
from console.cluster.presets import BUILTIN, RECIPE_FLAGS

HEAD = Node("orin-a", "enP8p1s0", "10.10.0.1")
WORKER = Node("orin-b", "enP8p1s0", "10.10.0.2")


def test_the_recipes_lines_on_each_node() -> None:
    plan = ClusterPlan(HEAD, WORKER, BUILTIN["orin-gpt-oss-20b"])
    got = {device: [shlex.split(line) for line in node_lines] for device, node_lines in lines(plan).items()}
    head_run, head_ray, head_serve = got["orin-a"]
    worker_run, worker_ray = got["orin-b"]  # the worker of a Ray plan serves nothing itself
    for run, node in ((head_run, HEAD), (worker_run, WORKER)):
        env = [run[i + 1] for i, word in enumerate(run) if word == "-e"]
        assert f"VLLM_HOST_IP={node.ip}" in env
        for var in ("UCX_NET_DEVICES", "NCCL_SOCKET_IFNAME", "GLOO_SOCKET_IFNAME", "TP_SOCKET_IFNAME"):
            assert f"{var}={node.interface}" in env
        assert "HF_TOKEN" in env and not any(e.startswith("HF_TOKEN=") for e in env)  # by name: no value
        assert {"--network", "host", "--privileged", "--ipc"} <= set(run) and run[run.index("--shm-size") + 1] == "8g"
        assert "dustynv/vllm:r36.4.0" in run and run[run.index("--runtime") + 1] == "nvidia"
        assert run[run.index("--ipc") + 1] == "host" and "/dev/shm:/dev/shm" in run and "/data:/data" in run
        assert {"NVIDIA_DRIVER_CAPABILITIES=all", "TIKTOKEN_ENCODINGS_BASE=/data/encodings"} <= set(env)
    assert head_ray[-6:] == ["--port", "6379", "--node-ip-address", "10.10.0.1", "--num-gpus", "1"]
    assert worker_ray[5:] == ["--address", "10.10.0.1:6379", "--node-ip-address", "10.10.0.2", "--num-gpus", "1"]
    flags = head_serve[head_serve.index("--port") + 2 :]
    assert tuple(flags[:8]) == RECIPE_FLAGS and RECIPE_FLAGS[:2] == ("--max-model-len", "2048")
    assert head_serve[5] == "openai/gpt-oss-20b" and head_serve[-4:] == [
        "--tensor-parallel-size",
        "2",
        "--distributed-executor-backend",
        "ray",
    ]


def test_the_ray_free_mode() -> None:
    plan = ClusterPlan(HEAD, WORKER, BUILTIN["nnodes"])
    head, worker = (shlex.split(lines(plan)[n][-1]) for n in ("orin-a", "orin-b"))
    assert not any("ray" in line for node_lines in lines(plan).values() for line in node_lines[1:])
    assert head[-8:] == ["--nnodes", "2", "--node-rank", "0", "--master-addr", "10.10.0.1", "--master-port", "29500"]
    assert worker[-9:-1] == [
        "--nnodes",
        "2",
        "--node-rank",
        "1",
        "--master-addr",
        "10.10.0.1",
        "--master-port",
        "29500",
    ]
    assert worker[-1] == "--headless"


@pytest.mark.parametrize(
    ("head", "worker", "said"),
    [
        (HEAD, Node("orin-a", "eth0", "10.10.0.3"), "are the same device"),
        (HEAD, Node("orin-b", "eth0; rm -rf /", "10.10.0.2"), "is not an interface name"),
        (HEAD, Node("orin-b", "eth0", "10.10.0.256"), "is not an IPv4 address"),
        (HEAD, Node("orin-b", "lo", "127.0.0.1"), "is loopback"),
        (HEAD, Node("orin-b", "eth1", "10.10.0.1"), "both nodes have the IP"),
        (HEAD, Node("orin-b", "eth1", "010.10.0.2"), "no leading zeros"),  # octal to ping and Ray
        (HEAD, Node("orin-b", "eth1", "0.0.0.0"), "is not a node's own address"),
        (HEAD, Node("orin-b", "..", "10.10.0.2"), "is not an interface name"),
        (HEAD, Node("orin-b", "eth1\n", "10.10.0.2"), "is not an interface name"),
    ],
)
def test_a_plan_that_cannot_work_is_refused_with_why(head: Node, worker: Node, said: str) -> None:
    problems = ClusterPlan(head, worker, BUILTIN["orin-gpt-oss-20b"]).check()
    assert any(said in p for p in problems), problems


def test_no_secret_value_is_ever_on_a_line() -> None:
    for preset in BUILTIN.values():
        for node_lines in lines(ClusterPlan(HEAD, WORKER, preset)).values():
            assert not any("HF_TOKEN=" in line for line in node_lines), preset.name
    assert "HF_TOKEN" in docker_run(ClusterPlan(HEAD, WORKER, BUILTIN["nnodes"]), WORKER)  # by name


def test_the_larger_models_and_a_bad_data_dir_or_image() -> None:
    serve = lines(ClusterPlan(HEAD, WORKER, BUILTIN["orin-gpt-oss-120b"]))["orin-a"][-1]
    assert "--kv-cache-memory-bytes 3000M --enable-expert-parallel" in serve
    assert (
        "QuantTrio/GLM-4.5-Air-AWQ-FP16Mix"
        in lines(ClusterPlan(HEAD, WORKER, BUILTIN["orin-glm-4.5-air"]))["orin-a"][-1]
    )
    relative = ClusterPlan(HEAD, WORKER, BUILTIN["nnodes"], data_dir="models:/etc").check()
    assert any("an absolute path on the nodes" in p for p in relative)
    from dataclasses import replace

    option = ClusterPlan(HEAD, WORKER, replace(BUILTIN["nnodes"], image="--privileged")).check()
    assert any("is not an image reference" in p for p in option)


def test_interfaces_from_ip_json() -> None:
    text = json.dumps(
        [
            {
                "ifname": "lo",
                "flags": ["LOOPBACK", "UP", "LOWER_UP"],
                "mtu": 65536,
                "operstate": "UNKNOWN",
                "addr_info": [{"family": "inet", "local": "127.0.0.1"}],
            },
            {
                "ifname": "enP8p1s0",
                "flags": ["UP", "LOWER_UP"],
                "mtu": 9000,
                "operstate": "UP",
                "addr_info": [{"family": "inet", "local": "10.10.0.1"}, {"family": "inet6", "local": "fe80::1"}],
            },
            {"ifname": "wlan0\x1b[2J", "flags": [], "mtu": 1500, "operstate": "DOWN", "addr_info": []},
            {
                "ifname": "veth1",
                "flags": ["UP", "LOWER_UP"],
                "mtu": "lots",
                "operstate": "UNKNOWN",
                "addr_info": [{"family": "inet", "local": "10.231.1.1"}],
            },
            "garbage",
        ]
    )
    found = parse(text)
    assert [(i.name, i.up, i.mtu, i.ipv4) for i in found] == [
        ("lo", True, 65536, ("127.0.0.1",)),
        ("enP8p1s0", True, 9000, ("10.10.0.1",)),
        ("wlan0␛[2J", False, 1500, ()),
        ("veth1", True, None, ("10.231.1.1",)),
    ]
    assert [i.name for i in offered(found)] == ["enP8p1s0", "veth1"]
    with pytest.raises(ValueError, match="no JSON"):
        parse("Command not found")
