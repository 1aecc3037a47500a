"""The preflight's link test: a two-rank all-reduce between the nodes, over the plan's interface, in the plan's
image, with torch.distributed (Gloo always; NCCL too where both nodes have a GPU), as the recipe's
``distributed_test.py`` is run by hand.

Each node runs one throwaway container (``docker run --rm``, host network, the interface in
``GLOO_SOCKET_IFNAME``/``NCCL_SOCKET_IFNAME``), rank 0 on the head.  Rank 0 prints one line: the latency of
a 4-byte all-reduce (median of 50) and the bus bandwidth of a 64 MiB one (median of 5; for two ranks each
sends and receives the whole tensor once, so it compares with ``iperf3`` on the same link).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from console.cluster.plan import ClusterPlan, Node
from console.runtime.sanitise import clean

MARK = "@@jetconsole-link "
BIG_MIB = 64
SCRIPT = """
import datetime, json, os, statistics, sys, time
import torch
import torch.distributed as dist

rank, head, port, big = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
out = {}
backends = ["gloo"] + (["nccl"] if torch.cuda.is_available() else [])
for n, backend in enumerate(backends):
    dist.init_process_group(backend, init_method=f"tcp://{head}:{int(port) + n}", rank=rank, world_size=2,
                            timeout=datetime.timedelta(seconds=60))
    device = "cuda" if backend == "nccl" else "cpu"

    def timed(count, runs):
        x = torch.ones(count, dtype=torch.float32, device=device)
        dist.all_reduce(x)  # warm-up: connections made
        times = []
        for _ in range(runs):
            if device == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            dist.all_reduce(x)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    latency = timed(1, 50)
    seconds = timed(big * 1024 * 1024 // 4, 5)
    out[backend] = {"latency_us": latency * 1e6, "gbit_s": big * 1024 * 1024 * 8 / seconds / 1e9}
    dist.destroy_process_group()
if rank == 0:
    print("@@jetconsole-link " + json.dumps(out), flush=True)
"""


@dataclass(frozen=True)
class LinkResult:
    backend: str  # gloo | nccl
    latency_us: float
    gbit_s: float


def line(plan: ClusterPlan, node: Node) -> list[str]:
    """The throwaway container that runs ``node``'s rank."""
    rank = "0" if node == plan.head else "1"
    argv = ["docker", "run", "--rm", "--pull", "never", "--network", "host", "--ipc", "host", "--privileged"]
    argv += ["--runtime", "nvidia"]  # as the plan's container runs: the same devices and rights
    argv += ["-e", f"GLOO_SOCKET_IFNAME={node.interface}", "-e", f"NCCL_SOCKET_IFNAME={node.interface}"]
    argv += ["-e", f"VLLM_HOST_IP={node.ip}"]
    for volume in plan.volumes:
        argv += ["-v", volume]
    port = str(plan.preset.master_port)
    return [*argv, plan.preset.image, "python3", "-c", SCRIPT, rank, plan.head.ip, port, str(BIG_MIB)]


def parse(lines: tuple[str, ...] | list[str]) -> list[LinkResult] | None:
    """Rank 0's figures (None: it printed none)."""
    for text in reversed(lines):
        if text.startswith(MARK):
            try:
                doc = json.loads(text[len(MARK) :])
                return [LinkResult(clean(b)[:20], float(v["latency_us"]), float(v["gbit_s"])) for b, v in doc.items()]
            except (ValueError, KeyError, TypeError, AttributeError):
                return None
    return None


def shown(plan: ClusterPlan, node: Node) -> str:
    """The line as a user would run it (the script elided)."""
    argv = line(plan, node)
    return shlex.join([*argv[: argv.index("-c") + 1], "<all-reduce script>", *argv[argv.index("-c") + 2 :]])
