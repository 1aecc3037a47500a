"""A two-node plan (pure): which device is the head and which the worker, the interface and IP each uses,
the preset, and from them every node's exact lines: ``docker run``, ``ray start`` and ``vllm serve`` (or
vLLM's Ray-free ``--nnodes`` lines), as the launch form shows its ``docker run``.

The interface and IP go into everything that picks a network on its own, on both nodes:
``VLLM_HOST_IP``, ``UCX_NET_DEVICES``, ``NCCL_SOCKET_IFNAME``, ``GLOO_SOCKET_IFNAME`` and
``TP_SOCKET_IFNAME`` (Gloo on the wrong interface or on 127.0.0.1 is the commonest failure), and
``--node-ip-address`` of ``ray start`` (Ray's "No available node types" on multi-NIC hosts).  Secrets
pass by name only (``-e HF_TOKEN``: docker takes the value from the node's own environment), so no line
shown, saved or sent holds one.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass

from console.cluster.presets import NNODES, RAY, ClusterPreset

CONTAINER = "jetconsole-cluster"  # the container's name on both nodes (down finds it by this name)
SERVE_LOG = "/tmp/jetconsole-serve.log"  # in the container: where ``up`` sends the detached server's output
# the container's own process: a sleep that ignores SIGTERM, so that down's ``kill -TERM -1`` ends vLLM and Ray
# gracefully while the container (its init waits on this) stays up for them (an ignored signal stays so across exec)
KEEP_ALIVE = 'trap "" TERM; exec sleep infinity'
SERVE_PID = "/tmp/jetconsole-serve.pid"  # in the container: the detached server's pid (is it still running?)
IFNAME_VARS = ("UCX_NET_DEVICES", "NCCL_SOCKET_IFNAME", "GLOO_SOCKET_IFNAME", "TP_SOCKET_IFNAME")
PASSED_BY_NAME = ("HF_TOKEN", "VLLM_API_KEY")  # from each node's own environment: never on a command line
IFNAME = re.compile(r"[A-Za-z0-9_.@-]{1,15}")  # Linux's: at most 15, no '/', ':' or space (ASCII only here)
IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*")


@dataclass(frozen=True)
class Node:
    device: str  # its name in the fleet's hosts file (reached over its ssh=)
    interface: str  # the NIC the nodes talk over (eth0, enP8p1s0, a veth in the tests)
    ip: str  # this node's address on that interface


@dataclass(frozen=True)
class ClusterPlan:
    head: Node
    worker: Node
    preset: ClusterPreset
    data_dir: str = "/data"  # mounted at /data on both, as the recipe does (models, tiktoken encodings)
    volumes: tuple[str, ...] = ()  # more ``-v SRC:DST[:ro]`` on both nodes (a model cache elsewhere)
    memlock: bool = True  # ``--ulimit memlock=-1`` (pinned memory for NCCL); rootless Docker cannot raise it

    def check(self) -> list[str]:
        """What is wrong with the plan itself, before any node is asked (empty when nothing is)."""
        problems = []
        if self.head.device == self.worker.device:
            problems.append(f"the head and the worker are the same device ({self.head.device}): pick two")
        for role, node in (("head", self.head), ("worker", self.worker)):
            if not IFNAME.fullmatch(node.interface) or node.interface in (".", ".."):
                problems.append(f"{role} interface {node.interface!r} is not an interface name (eth0, enP8p1s0)")
            problems.extend(_ip_problems(role, node.ip))
        if not self.data_dir.startswith("/") or any(c in self.data_dir for c in ":,\n"):
            problems.append(f"--data {self.data_dir!r}: an absolute path on the nodes, without ':' or ','")
        for volume in self.volumes:
            src, _, rest = volume.partition(":")
            dst = rest.removesuffix(":ro")
            if not (src.startswith("/") and dst.startswith("/")) or any(c in volume for c in ",\n") or ":" in dst:
                problems.append(f"--volume {volume!r}: SRC:DST[:ro], both absolute paths on the nodes")
        if not IMAGE.fullmatch(self.preset.image):
            problems.append(f"image {self.preset.image!r} is not an image reference (dustynv/vllm:r36.4.0)")
        if self.head.ip == self.worker.ip:
            problems.append(f"both nodes have the IP {self.head.ip}")
        return problems


def _ip_problems(role: str, ip: str) -> list[str]:
    """Why ``ip`` cannot be a node's address (a leading zero reads as octal to ping and Ray: refused)."""
    try:
        address = ipaddress.IPv4Address(ip)
    except ValueError:
        return [f"{role} IP {ip!r} is not an IPv4 address (four numbers 0-255, no leading zeros)"]
    if address.is_loopback:
        return [f"{role} IP {ip} is loopback: the other node cannot reach it"]
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return [f"{role} IP {ip} is not a node's own address"]
    return []


def docker_run(plan: ClusterPlan, node: Node) -> list[str]:
    """The node's container: host network, the recipe's shm/ipc/privileged, the interface in every
    variable that picks one, secrets by name only, and a shell kept alive for ``ray start``/``vllm serve``
    to be run in with ``docker exec`` (``--init`` reaps what ends in it; ``--pull never``: an image missing
    on one node is said at once, not pulled for minutes without a word)."""
    p = plan.preset
    env = [f"VLLM_HOST_IP={node.ip}", *(f"{var}={node.interface}" for var in IFNAME_VARS)]
    env += ["NVIDIA_DRIVER_CAPABILITIES=all", "TIKTOKEN_ENCODINGS_BASE=/data/encodings", *PASSED_BY_NAME]
    argv = ["docker", "run", "-d", "--init", "--pull", "never", "--name", CONTAINER, "--runtime", "nvidia"]
    argv += ["--network", "host"]
    argv += ["--shm-size", p.shm_size, "--privileged", "--ipc", "host"]
    if plan.memlock:
        argv += ["--ulimit", "memlock=-1"]
    argv += ["-v", "/dev/shm:/dev/shm", "-v", f"{plan.data_dir}:/data"]
    for volume in plan.volumes:
        argv += ["-v", volume]
    for item in env:
        argv += ["-e", item]
    return [*argv, p.image, "sh", "-c", KEEP_ALIVE]


def ray_start(plan: ClusterPlan, node: Node) -> list[str]:
    """``ray start`` in the node's container: the head on the preset's port, the worker joining it, each
    with its own ``--node-ip-address`` and one GPU."""
    head = node == plan.head
    where = (
        ["--head", "--port", str(plan.preset.ray_port)]
        if head
        else ["--address", f"{plan.head.ip}:{plan.preset.ray_port}"]
    )
    return ["docker", "exec", CONTAINER, "ray", "start", *where, "--node-ip-address", node.ip, "--num-gpus", "1"]


def vllm_serve(plan: ClusterPlan, node: Node) -> list[str] | None:
    """The server's line on ``node`` (None: the worker of a Ray plan runs none)."""
    p = plan.preset
    serve = ["docker", "exec", CONTAINER, "vllm", "serve", p.model, "--port", str(p.port), *p.serve_flags]
    serve += ["--tensor-parallel-size", "2"]
    if p.mode == RAY:
        return [*serve, "--distributed-executor-backend", "ray"] if node == plan.head else None
    rank = "0" if node == plan.head else "1"
    joined = ["--nnodes", "2", "--node-rank", rank, "--master-addr", plan.head.ip]
    joined += ["--master-port", str(p.master_port)]
    return [*serve, *joined] if node == plan.head else [*serve, *joined, "--headless"]


def detached(serve: list[str]) -> list[str]:
    """How ``up`` runs a serve line: detached in the container, its output appended to ``SERVE_LOG`` there
    (``status`` and the tracker read it back), its pid in ``SERVE_PID``."""
    inner = serve[serve.index(CONTAINER) + 1 :]
    script = f"echo $$ >{SERVE_PID}; exec {shlex.join(inner)} >>{SERVE_LOG} 2>&1"
    return ["docker", "exec", "-d", CONTAINER, "sh", "-c", script]


def lines(plan: ClusterPlan) -> dict[str, list[str]]:
    """Every node's lines in the order ``up`` runs them, shell-quoted: {device: [line, ...]}."""
    out: dict[str, list[str]] = {}
    for node in (plan.head, plan.worker):
        steps = [docker_run(plan, node)]
        if plan.preset.mode == RAY:
            steps.append(ray_start(plan, node))
        if (serve := vllm_serve(plan, node)) is not None:
            steps.append(serve)
        out[node.device] = [shlex.join(s) for s in steps]
    return out


MODES = (RAY, NNODES)
