"""``jetconsole cluster status``: the recorded cluster as it is now.  Each node's container (Docker's state)
and the last lines of its server's log, Ray's nodes with their resources and liveness (Ray plans), and the
head server's answer: ``/health`` and its figures from ``/metrics``.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from console.cluster.nodes import Link
from console.cluster.plan import CONTAINER, SERVE_LOG, ClusterPlan, Node
from console.cluster.presets import RAY
from console.cluster.raystatus import RayStatus, parse

LOG_LINES = 8
MARK = "@@jetconsole-log"


@dataclass(frozen=True)
class NodeStatus:
    device: str
    role: str
    container: str  # "running", "exited (137)", "none", or why the node was not reached
    log: tuple[str, ...]  # the server log's last lines (cleaned)


@dataclass(frozen=True)
class ClusterStatus:
    nodes: tuple[NodeStatus, NodeStatus]
    ray: RayStatus | None  # None: not a Ray plan
    server: str  # "ready", "not answering", or what /health said
    figures: str  # the server's running/waiting and tokens, when it answers


async def status(plan: ClusterPlan, link: Link, server: Callable[[], Awaitable[tuple[str, str]]]) -> ClusterStatus:
    """``server`` answers (health, figures) for the head's server."""
    head, worker, ray, answer = await asyncio.gather(
        _node(link, plan.head, "head"), _node(link, plan.worker, "worker"), _ray(plan, link), server()
    )
    return ClusterStatus((head, worker), ray, *answer)


async def _node(link: Link, node: Node, role: str) -> NodeStatus:
    inspect = shlex.join(["docker", "inspect", "-f", "{{.State.Status}} ({{.State.ExitCode}})", CONTAINER])
    script = f"{inspect} 2>/dev/null || echo none; echo {MARK}; docker exec {CONTAINER} tail -n {LOG_LINES} {SERVE_LOG}"
    got = await link.sh(node.device, script + " 2>/dev/null; true", 30, keep=LOG_LINES + 20)
    if not got.ok:
        return NodeStatus(node.device, role, f"not reached: {got.summary}", ())
    text = "\n".join(got.tail)
    state, _, log = text.partition(MARK)
    return NodeStatus(node.device, role, state.strip()[:80] or "none", tuple(log.strip().splitlines()[-LOG_LINES:]))


async def _ray(plan: ClusterPlan, link: Link) -> RayStatus | None:
    return await ray_status(plan, link) if plan.preset.mode == RAY else None


async def ray_status(plan: ClusterPlan, link: Link) -> RayStatus:
    """``ray status`` as the head's container says it (no nodes when Ray does not answer)."""
    line = ["docker", "exec", CONTAINER, "ray", "status", "--address", f"{plan.head.ip}:{plan.preset.ray_port}"]
    got = await link.sh(plan.head.device, shlex.join(line), 30, keep=200)
    return parse("\n".join(got.tail))


def lines(s: ClusterStatus) -> list[str]:
    """The status as the CLI prints it."""
    out = []
    for n in s.nodes:
        out.append(f"{n.role} {n.device}: container {n.container}")
        out += [f"    {line}" for line in n.log]
    if s.ray is not None:
        if s.ray.said or not s.ray.active:
            out.append(f"ray: not answering ({s.ray.said or 'no nodes'})")
        else:
            res = ", ".join(f"{used:g}/{total:g} {name}" for name, used, total in s.ray.used if name in ("CPU", "GPU"))
            out.append(f"ray: {len(s.ray.active)} nodes alive ({res}), {len(s.ray.pending)} pending")
            out += [f"    failure: {f}" for f in s.ray.failures]
    out.append(f"server: {s.server}" + (f"; {s.figures}" if s.figures else ""))
    return out
