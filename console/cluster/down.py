"""``jetconsole cluster down``: both nodes back to how they were, and what was removed said.

On each node, over SSH, at once: everything in the cluster's container asked to end (SIGTERM: vLLM shuts
its engine down, Ray its raylet and GCS), up to ``GRACE_S`` for it, then the container removed with
whatever still ran in it.  Then each node is asked what is left: a container of that name, and the
cluster's ports still listening (Ray's, the server's, the rendezvous).  It is safe to run twice, after
Ctrl-C, or after a failure half-way: a node with nothing on it says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from console.cluster.nodes import Link
from console.cluster.plan import CONTAINER, ClusterPlan, Node
from console.cluster.preflight import LISTEN_PORT, ports

GRACE_S = 15
# what still runs in the container besides its init, its ``sleep infinity`` and zombies (``docker top``'s lines)
BUSY = "grep -v -e '^STAT' -e '^Z' -e 'sleep infinity' -e docker-init | wc -l"
MARK = "@@jetconsole-left"
PENDING = f"[d]ocker run -d --init --pull never --name {CONTAINER}"  # an up's docker run still going there
SCRIPT = f"""\
i=0
while [ $i -lt 20 ] && ps -eo args 2>/dev/null | grep -q -e '{PENDING}'; do sleep 0.5; i=$((i+1)); done
if docker inspect {CONTAINER} >/dev/null 2>&1; then
  docker exec {CONTAINER} sh -c 'kill -TERM -1' >/dev/null 2>&1
  i=0
  while [ $i -lt {GRACE_S} ] && [ "$(docker top {CONTAINER} -eo stat,args 2>/dev/null | {BUSY})" -gt 0 ]; do
    sleep 1; i=$((i+1))
  done
  if docker rm -f {CONTAINER} >/dev/null; then echo removed; fi
else
  echo none
fi
echo {MARK}
docker ps -aq --filter name=^/{CONTAINER}$
echo {MARK}
ss -Hltn 2>/dev/null | awk '{{print $4}}'
"""


@dataclass(frozen=True)
class NodeDown:
    device: str
    removed: bool  # a container was there and is gone
    left: tuple[str, ...]  # the cluster's container, still there
    error: str = ""  # the node could not be asked (down must be run again)
    listening: tuple[int, ...] = ()  # the cluster's ports something still listens on (not the container: gone)

    @property
    def clean(self) -> bool:
        """Nothing of the cluster's is left (a port listened on by something else does not keep the record)."""
        return not self.error and not self.left


async def down(plan: ClusterPlan, link: Link) -> tuple[NodeDown, NodeDown]:
    head, worker = await asyncio.gather(_one(plan, link, plan.head), _one(plan, link, plan.worker))
    return head, worker


async def _one(plan: ClusterPlan, link: Link, node: Node) -> NodeDown:
    got = await link.sh(node.device, SCRIPT, GRACE_S + 45, keep=2000)
    if not got.ok:
        return NodeDown(node.device, False, (), got.summary)
    parts = "\n".join(got.tail).split(MARK)
    if len(parts) != 3:
        return NodeDown(node.device, False, (), "the node answered something else: is its shell POSIX sh?")
    said, containers, listening = parts
    left = tuple(f"container {CONTAINER} ({c.strip()[:12]})" for c in containers.split() if c.strip())
    open_ports = {int(m.group(1)) for line in listening.split() if (m := LISTEN_PORT.search(line))}
    busy = tuple(port for port in sorted(ports(plan, node)) if port in open_ports)
    return NodeDown(node.device, "removed" in said.split(), left, listening=busy)


def report(nodes: tuple[NodeDown, ...]) -> list[str]:
    """What down did, a line a node."""
    out = []
    for n in nodes:
        if n.error:
            out.append(f"{n.device}: not reached ({n.error}); run `jetconsole cluster down` again")
            continue
        did = f"removed container {CONTAINER} and everything in it (Ray, vllm serve)" if n.removed else "no container"
        line = f"{n.device}: {did}; " + ("left: " + ", ".join(n.left) if n.left else "nothing left")
        if n.listening:
            ports = ", ".join(map(str, n.listening))
            line += f"; port {ports} still listened on by something else (ss -ltnp there says what)"
        out.append(line)
    return out
