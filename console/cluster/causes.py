"""Why a two-node start failed, named from what the nodes printed: ``docker run``, ``ray start``, ``ray
status`` and the server's log (pure).

The cluster's own signatures come first (an image missing on one node, Gloo or NCCL on the wrong interface,
Ray that cannot place the GPU workers, a vLLM build without Ray); any other server failure is the servers'
diagnosis (console/servers/failures.py: out of memory, a model too long...).  A cause names the node, the
line that proves it, and what to do.  Lines are untrusted and already cleaned; evidence is cut short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from console.cluster.plan import SERVE_LOG
from console.fleet.actions import Outcome
from console.fleet.remote import SSH_SAID
from console.servers.failures import diagnose, strip_prefix


@dataclass(frozen=True)
class Cause:
    key: str  # stable id: "image-missing", "worker-never-joined", ...
    title: str  # plain words, naming the node
    evidence: str  # the line that shows it ("" when the cause is an absence: nothing joined in time)
    fix: str

    def lines(self) -> list[str]:
        """As ``up`` says it: the cause with its name, the evidence, the fix."""
        said = [f"failed: {self.title} [{self.key}]"]
        if self.evidence:
            said.append(f"  evidence: {self.evidence}")
        return [*said, f"  → {self.fix}"]


FIREWALL = "a firewall must let the head's Ray ports through (6379, and the ports `ray start` opens)"

# (key, regex, title with {node}, fix): first match wins, in this order
SIGNATURES: tuple[tuple[str, re.Pattern[str], str, str], ...] = tuple(
    (key, re.compile(rx, re.IGNORECASE), title, fix)
    for key, rx, title, fix in (
        (
            "image-missing",
            r"Unable to find image '[^']+' locally|No such image|pull access denied|manifest unknown",
            "the image is not on {node}",
            "copy it there (docker save IMAGE | ssh NODE docker load) or docker pull it there; "
            "`jetconsole cluster preflight` compares both nodes' images",
        ),
        (
            "already-up",
            r'The container name "/jetconsole-cluster" is already in use',
            "a cluster container is already on {node}",
            "`jetconsole cluster down` removes it (and what runs in it)",
        ),
        (
            "no-nvidia-runtime",
            r"unknown or invalid runtime name: nvidia",
            "Docker on {node} has no NVIDIA runtime",
            "install nvidia-container-toolkit and run `nvidia-ctk runtime configure --runtime=docker` there, "
            "then restart Docker",
        ),
        (
            "memlock",
            r"error setting rlimit type 8|setting rlimits.*operation not permitted",
            "Docker on {node} cannot raise the container's locked-memory limit (--ulimit memlock=-1)",
            "run the nodes' Docker as root (rootless Docker cannot raise it), or plan with --no-memlock",
        ),
        (
            "cpu-no-ray",
            r"current platform \w+ does not support ray",
            "this vLLM build on {node} cannot use Ray",
            "use vLLM's Ray-free mode: --mode nnodes (--nnodes 2 --node-rank N --master-addr HEAD, "
            "--headless on the worker)",
        ),
        (
            "ray-missing",
            r"Failed to import Ray|No module named '?ray'?",
            "the image on {node} has no Ray, which vllm serve's Ray executor needs",
            "use an image with Ray in it (the jetson-containers vLLM images have it), or --mode nnodes",
        ),
        (
            "gloo-interface",
            r"Gloo connectFullMesh failed|Unable to resolve hostname|gloo.*(?:no such device|not found)",
            "Gloo on {node} cannot reach the other node on its interface",
            "GLOO_SOCKET_IFNAME must name the interface that carries the node's IP on both nodes (the plan "
            "sets it); `jetconsole cluster preflight` checks each node's route to the other",
        ),
        (
            "nccl-interface",
            r"NCCL WARN .*(?:socket|interface|connect)|no socket interface found|NCCL error.*(?:remote|socket)",
            "NCCL on {node} cannot use its interface",
            "NCCL_SOCKET_IFNAME must name the interface between the nodes on both (the plan sets it); "
            "run with NCCL_DEBUG=INFO to see the transport it chose",
        ),
        (
            "peer-unreachable",
            # "Connection refused" is not: a rank retries it while its peer is still starting
            r"failed to connect to .*(?:Network is unreachable|No route to host|timed out)",
            "{node} cannot reach the other node's rank",
            "the interface between the nodes must be up with the plan's IPs on both: "
            "`jetconsole cluster preflight` checks the link, the route and the reach",
        ),
        (
            "no-node-types",
            r"No available node types can fulfill resource request",
            "Ray cannot place the GPU workers across the nodes",
            "each `ray start` needs --node-ip-address on the shared interface and --num-gpus 1; "
            "`ray status` must show two nodes and 2 GPUs",
        ),
        (
            "gcs-unreachable",
            r"Failed to connect to GCS|Unable to connect to GCS|Timed out while waiting for GCS|"
            r"Could not read '.*' from GCS|Failed to get cluster ID from GCS",
            "{node} cannot reach the head's Ray",
            f"the head's address must be reachable from the worker on the plan's interface; {FIREWALL}",
        ),
        (
            "address-in-use",
            r"EADDRINUSE|Address already in use|address already in use",
            "a port the cluster needs is taken on {node}",
            "`jetconsole cluster preflight` names the port and what holds it; stop that, or pick another port",
        ),
    )
)


def name(lines: Iterable[str], node: str) -> Cause | None:
    """The first cluster signature in ``lines`` (cleaned), else the servers' diagnosis of them, else None."""
    kept = list(lines)
    for line in kept:
        text = strip_prefix(line).strip()
        for key, rx, title, fix in SIGNATURES:
            if rx.search(text):
                return Cause(key, title.format(node=node), text[:300], fix)
    found = diagnose(kept)
    if found is None:
        return None
    return Cause(found.key, f"{found.title} (on {node})", found.evidence[:300], found.fix)


def of_step(node: str, outcome: Outcome, key: str, title: str) -> Cause:
    """Why a command on ``node`` failed: ssh's own failure, a known line of its output, else ``title``
    with the command's summary and its last lines."""
    tail = outcome.tail
    see = "its last lines: " + " | ".join(tail[-3:]) if tail else "no output: run the line by hand on that node"
    return unreachable(node, outcome) or name(tail, node) or Cause(key, title, outcome.summary, see)


def unreachable(node: str, outcome: Outcome) -> Cause | None:
    """ssh's own failure (exit 255 with ssh's words): the node was not reached at all."""
    if outcome.code != 255 or not any(SSH_SAID.search(line) for line in outcome.tail):
        return None
    return Cause(
        "unreachable",
        f"{node} cannot be reached over SSH",
        outcome.summary[:300],
        "check its link and `ssh` to it by hand (BatchMode: keys, known_hosts); `jetconsole cluster preflight`",
    )


def never_joined(node: str, said: str) -> Cause:
    """The worker's node did not show up in ``ray status`` in time."""
    return Cause(
        "worker-never-joined",
        f"{node} never joined the Ray cluster",
        said[:300],
        "its `ray start --node-ip-address` must be its own IP on the interface the head reaches (the plan's); "
        f"{FIREWALL}; `jetconsole cluster preflight` checks the route and the reach",
    )


def exited(node: str, lines: list[str]) -> Cause:
    """The server process on ``node`` ended, and its log names no known cause: its last error line."""
    said = next((line for line in reversed(lines) if "Error" in line or "error" in line), lines[-1] if lines else "")
    return Cause(
        "serve-exited",
        f"vllm serve ended on {node}",
        strip_prefix(said).strip()[:300],
        f"`jetconsole cluster status` shows its last log lines (the whole log: {SERVE_LOG} in its container)",
    )


def died(node: str, role: str, said: str) -> Cause:
    """A node's container or server ended after it had started."""
    return Cause(
        f"{role}-died",
        f"the {role} {node} died after it had started",
        said[:300],
        f"`jetconsole cluster status` shows its container and its last log lines; `jetconsole cluster down`, "
        f"then up again once {node} is back",
    )
