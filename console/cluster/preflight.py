"""The network half of the cluster's preflight: each node asked once over SSH, then checks with evidence and
a fix, like the doctor's.

What each node says (``facts_script``): its interfaces (``ip -j addr``), the route it takes to the other
node (``ip -j route get``), its link speed, a ping of the other node out of the chosen interface, and its
listening TCP ports (``ss -Hltn``).  From those two answers (pure, ``checks``):
- the interface exists, is up and carries the plan's IP;
- MTU and speed agree on both ends (a mismatched MTU stalls NCCL and Gloo without a word);
- each node reaches the other on that interface, not by another route;
- the ports the cluster listens on are free (Ray's, vLLM's, the multi-node rendezvous);
- the same environment names on both (HF_, VLLM_, NCCL_, GLOO_... ; never a value);
- no Jetson AGX Thor in a Ray (NCCL) plan: NCCL for Thor is not in the Jetson patch yet;
- the plan's image is on both nodes, the same image (its ID), and Docker has the NVIDIA runtime.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from console.cluster.interfaces import Interface, parse
from console.cluster.plan import ClusterPlan, Node
from console.cluster.presets import NNODES, RAY
from console.cluster.resources import NodeResources, parse_resources, resource_checks
from console.doctor.check import Check
from console.runtime.sanitise import clean

MARK = "@@jetconsole-"
SECTIONS = (
    "addr",
    "route",
    "speed",
    "ping",
    "listen",
    "env",
    "soc",
    "image",
    "runtimes",
    "mem",
    "gpumem",
    "shm",
    "nccl",
)
IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
# The environment that reaches a node's containers and decides where they talk or what they load: the same
# names on both nodes (values are never read: a secret stays on its node)
ENV_PREFIXES = ("HF_", "VLLM_", "NCCL_", "GLOO_", "UCX_", "TP_", "TIKTOKEN_", "RAY_", "CUDA_")
THOR = "tegra264"
LISTEN_PORT = re.compile(r":(\d+)$")


@dataclass(frozen=True)
class NodeFacts:
    """What one node said, parsed (``error``: why it said nothing usable)."""

    interfaces: tuple[Interface, ...] = ()
    route_dev: str | None = None  # the interface its route to the other node leaves by
    speed_mbps: int | None = None
    ping_ok: bool = False
    ping_said: str = ""
    listening: frozenset[int] | None = frozenset()  # None: ss said nothing (not installed)
    env_names: frozenset[str] = frozenset()  # names only, of ENV_PREFIXES
    soc: str = ""  # /proc/device-tree/compatible (tegra264: Thor, tegra234: Orin; "" off Jetson)
    image_id: str = ""  # the plan's image on this node's Docker ("" when it is not there)
    image_said: str = ""  # what docker said about it (why it is not there)
    runtimes: frozenset[str] | None = None  # Docker's runtimes (None: Docker did not answer)
    resources: NodeResources = field(default_factory=NodeResources)  # memory, /dev/shm, the image's NCCL
    error: str = ""


def facts_script(node: Node, other: Node, image: str) -> str:
    """One POSIX sh script that prints every fact of ``node`` (its link to ``other``, its Docker and
    ``image``), by sections."""
    iface, ip = shlex.quote(node.interface), shlex.quote(other.ip)
    quoted_image = shlex.quote(image)
    parts = {
        "addr": "ip -j addr show",
        "route": f"ip -j route get {ip}",
        "speed": f"cat /sys/class/net/{iface}/speed",
        "ping": f"ping -c 2 -W 1 -I {iface} {ip} 2>&1 | tail -n 2",
        "listen": "ss -Hltn",
        "env": "awk 'BEGIN { for (name in ENVIRON) print name }'",  # names only: no line of a value leaves
        "soc": "cat /proc/device-tree/compatible 2>/dev/null | tr '\\0' ' '",
        # docker prints an empty line for a missing image before its error: the first line that says something
        "image": f"docker image inspect --format '{{{{.Id}}}}' {quoted_image} 2>&1 | grep . | head -n 1",
        "runtimes": "docker info --format '{{json .Runtimes}}'",
        "mem": "grep -E '^(MemTotal|MemAvailable):' /proc/meminfo",
        "gpumem": "nvidia-smi --query-gpu=memory.total,memory.free --format=csv,noheader,nounits | head -n 1",
        "shm": "df -Pk /dev/shm | awk 'NR == 2 { print $2 }'",
        # the image's own NCCL_VERSION (NVIDIA's base images set it), else its libnccl.so.X.Y.Z file's name
        "nccl": f"docker image inspect --format '{{{{range .Config.Env}}}}{{{{println .}}}}{{{{end}}}}' {quoted_image}"
        " | grep '^NCCL_VERSION=' || docker run --rm --pull never --network none --entrypoint sh "
        f"{quoted_image} -c \"find /usr /opt -name 'libnccl.so.*' | head -n 3\"",
    }
    # each marker on a line of its own: a section that ends without a newline (the device tree's NUL-ended
    # compatible string) never swallows the next marker
    return (
        "; ".join(f"printf '\\n%s\\n' {MARK}{name}; {command} 2>/dev/null" for name, command in parts.items())
        + "; true"
    )


def parse_facts(text: str) -> NodeFacts:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(MARK) and line[len(MARK) :] in SECTIONS:
            current = sections.setdefault(line[len(MARK) :], [])
        elif current is not None:
            current.append(line)
    if "addr" not in sections:
        return NodeFacts(error="the node printed something else: is its shell POSIX sh?")
    try:
        interfaces = tuple(parse("\n".join(sections["addr"])))
    except ValueError as exc:
        return NodeFacts(error=str(exc))
    ping = [line.strip() for line in sections.get("ping", []) if line.strip()]
    return NodeFacts(
        interfaces=interfaces,
        route_dev=_route_dev("\n".join(sections.get("route", []))),
        speed_mbps=_int(" ".join(sections.get("speed", [])).strip()),
        ping_ok=any(re.search(r"\b[1-9]\d* (packets )?received", line) for line in ping),
        ping_said=clean(" / ".join(ping))[:200],
        listening=_listening(sections.get("listen", [])),
        env_names=frozenset(
            clean(name) for line in sections.get("env", []) if (name := line.strip()).startswith(ENV_PREFIXES)
        ),
        soc=clean(" ".join(sections.get("soc", [])).strip())[:300],
        image_id=image if IMAGE_ID.match(image := " ".join(sections.get("image", [])).strip()) else "",
        image_said=clean(image)[:200],
        runtimes=_runtimes("\n".join(sections.get("runtimes", []))),
        resources=parse_resources(sections),
    )


def _listening(lines: list[str]) -> frozenset[int] | None:
    found = [line.split() for line in lines if line.strip()]
    if not found:
        return None  # not even sshd's port 22 listed: ss is not there
    return frozenset(int(m.group(1)) for words in found if len(words) >= 4 and (m := LISTEN_PORT.search(words[3])))


def _runtimes(text: str) -> frozenset[str] | None:
    try:
        doc: Any = json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):
        return None
    return frozenset(clean(str(name)) for name in doc) if isinstance(doc, dict) else None


def _route_dev(text: str) -> str | None:
    try:
        doc: Any = json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):
        return None
    if isinstance(doc, list) and doc and isinstance(doc[0], dict) and isinstance(doc[0].get("dev"), str):
        return clean(doc[0]["dev"])
    return None


def _int(text: str) -> int | None:
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text) and int(text) > 0 else None


RAY_WORKER_PORTS = range(10002, 20000)  # ``ray start``'s default --min-worker-port..--max-worker-port
RAY_CLIENT_PORT, RAY_DASHBOARD_PORT = 10001, 8265


def ports(plan: ClusterPlan, node: Node) -> dict[int, str]:
    """The TCP ports the cluster will listen on at ``node``, and what for."""
    p = plan.preset
    if node != plan.head:
        return {}
    wanted = {p.port: "vLLM's API server"}
    if p.mode == RAY:
        wanted[p.ray_port] = "Ray's head (GCS)"
        wanted[RAY_CLIENT_PORT] = "Ray's client server"
        wanted[RAY_DASHBOARD_PORT] = "Ray's dashboard"
    if p.mode == NNODES:
        wanted[p.master_port] = "the multi-node rendezvous (--master-port)"
    return wanted


def checks(plan: ClusterPlan, head: NodeFacts, worker: NodeFacts) -> list[Check]:
    """Every network check of the plan against what both nodes said."""
    out: list[Check] = []
    found: dict[str, Interface | None] = {}
    for role, node, facts, other in (
        ("head", plan.head, head, plan.worker),
        ("worker", plan.worker, worker, plan.head),
    ):
        if facts.error:
            out.append(
                Check(f"{role}.answer", f"{role} {node.device} answers", "fail", (facts.error,), "check its ssh=")
            )
            found[role] = None
            continue
        mine = next((i for i in facts.interfaces if i.name == node.interface), None)
        found[role] = mine
        out.append(_interface_check(role, node, mine, facts))
        out.append(_route_check(role, node, other, facts))
        out.append(_reach_check(role, node, other, facts))
        out.append(_ports_check(role, plan, node, facts))
    out.extend(_agree_checks(plan, found, head, worker))
    if not head.error and not worker.error:
        out.append(_env_check(plan, head, worker))
        out.append(_thor_check(plan, head, worker))
        out.append(_image_check(plan, head, worker))
        out.extend(
            _runtime_check(role, node, facts)
            for role, node, facts in (("head", plan.head, head), ("worker", plan.worker, worker))
        )
        out.extend(resource_checks(plan, head.resources, worker.resources))
    return out


def _image_check(plan: ClusterPlan, head: NodeFacts, worker: NodeFacts) -> Check:
    image = plan.preset.image
    title = f"the same image on both nodes ({image})"
    missing = [(n, f) for n, f in ((plan.head, head), (plan.worker, worker)) if not f.image_id]
    if missing:
        said = tuple(f"{image} is not on {n.device}: {f.image_said or 'Docker did not answer'}" for n, f in missing)
        fix = (
            f"docker pull {image} on {', '.join(n.device for n, _ in missing)} (or docker save | ssh NODE docker load)"
        )
        return Check("image.same", title, "fail", said, fix)
    if head.image_id != worker.image_id:
        said = (f"{plan.head.device}: {head.image_id[:19]}…", f"{plan.worker.device}: {worker.image_id[:19]}…")
        return Check("image.same", title, "fail", said, f"pull the same tag on both ({image}), or pin a digest")
    return Check("image.same", title, "ok", (f"{head.image_id[:19]}… on both",))


def _runtime_check(role: str, node: Node, facts: NodeFacts) -> Check:
    title = f"{role} {node.device}: Docker has the NVIDIA runtime"
    if facts.runtimes is None:
        return Check(f"{role}.runtime", title, "fail", ("docker info did not answer",), "is Docker running there?")
    if "nvidia" not in facts.runtimes:
        known = f"runtimes: {', '.join(sorted(facts.runtimes))}"
        fix = "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker (on it)"
        return Check(f"{role}.runtime", title, "fail", (known,), fix)
    return Check(f"{role}.runtime", title, "ok", (f"runtimes: {', '.join(sorted(facts.runtimes))}",))


def _env_check(plan: ClusterPlan, head: NodeFacts, worker: NodeFacts) -> Check:
    title = "the same environment on both nodes (names only)"
    only_head, only_worker = sorted(head.env_names - worker.env_names), sorted(worker.env_names - head.env_names)
    if not only_head and not only_worker:
        return Check("env.same", title, "ok", (f"{len(head.env_names)} names of {', '.join(ENV_PREFIXES)}",))
    said = []
    if only_head:
        said.append(f"only on {plan.head.device}: {', '.join(only_head)}")
    if only_worker:
        said.append(f"only on {plan.worker.device}: {', '.join(only_worker)}")
    fix = "set them on both nodes: a variable that never reaches the worker is a usual failure"
    return Check("env.same", title, "warn", tuple(said), fix)


def _thor_check(plan: ClusterPlan, head: NodeFacts, worker: NodeFacts) -> Check:
    title = "NCCL can join these boards"
    thor = [n.device for n, f in ((plan.head, head), (plan.worker, worker)) if THOR in f.soc]
    if not thor:
        return Check("nccl.thor", title, "ok", (head.soc or "not a Jetson", worker.soc or "not a Jetson"))
    said = f"{', '.join(thor)}: Jetson AGX Thor ({THOR})"
    if plan.preset.mode == RAY:
        fix = "NCCL for Thor is not in jetson-containers' Jetson patch yet: serve on one Thor, not across two"
        return Check("nccl.thor", title, "fail", (said, "tensor parallel over NCCL hangs at init on Thor"), fix)
    return Check("nccl.thor", title, "warn", (said, "NCCL for Thor is not in the Jetson patch yet"), "expect Gloo only")


def _interface_check(role: str, node: Node, mine: Interface | None, facts: NodeFacts) -> Check:
    title = f"{role} {node.device}: {node.interface} is up with {node.ip}"
    offer = ", ".join(f"{i.name} {'/'.join(i.ipv4)}" for i in facts.interfaces if i.up and i.ipv4 and i.name != "lo")
    if mine is None:
        return Check(
            f"{role}.interface",
            title,
            "fail",
            (f"no interface {node.interface}; up: {offer or 'none'}",),
            "pick one of the interfaces it has (cluster plan --head-if/--worker-if)",
        )
    if not mine.up:
        return Check(
            f"{role}.interface", title, "fail", (f"{node.interface} is down",), f"ip link set {node.interface} up"
        )
    if node.ip not in mine.ipv4:
        said = f"{node.interface} carries {', '.join(mine.ipv4) or 'no IPv4 address'}"
        return Check(
            f"{role}.interface", title, "fail", (said,), "give the IP it carries (or let cluster plan read it)"
        )
    return Check(f"{role}.interface", title, "ok", (f"{node.interface} up, {node.ip}, MTU {mine.mtu}",))


def _route_check(role: str, node: Node, other: Node, facts: NodeFacts) -> Check:
    title = f"{role} {node.device}: traffic to {other.ip} leaves by {node.interface}"
    if facts.route_dev == node.interface:
        return Check(f"{role}.route", title, "ok", (f"ip route get {other.ip}: dev {facts.route_dev}",))
    said = f"ip route get {other.ip}: dev {facts.route_dev or '(no route)'}"
    fix = f"one subnet for both on {node.interface}, or a route: ip route add {other.ip} dev {node.interface}"
    return Check(f"{role}.route", title, "fail", (said,), fix)


def _reach_check(role: str, node: Node, other: Node, facts: NodeFacts) -> Check:
    title = f"{role} {node.device} reaches {other.ip} out of {node.interface}"
    if facts.ping_ok:
        return Check(f"{role}.reach", title, "ok", (facts.ping_said,))
    if "ping: not found" in facts.ping_said or "ping: command not found" in facts.ping_said:
        return Check(  # not the link: the node lacks the tool to test it
            f"{role}.reach",
            title,
            "warn",
            (f"ping is not installed on {node.device}: the link was not tested",),
            f"install it on {node.device} (apt-get install iputils-ping), then preflight again",
        )
    return Check(
        f"{role}.reach",
        title,
        "fail",
        (facts.ping_said or "no answer to ping",),
        "check the cable or switch, both links up, and a firewall that drops ICMP or the cluster's ports",
    )


def _ports_check(role: str, plan: ClusterPlan, node: Node, facts: NodeFacts) -> Check:
    wanted = ports(plan, node)
    title = f"{role} {node.device}: ports free ({', '.join(str(p) for p in sorted(wanted)) or 'none needed'})"
    if facts.listening is None:
        return Check(
            f"{role}.ports", title, "skip", ("ss listed nothing: is iproute2's ss there?",), "apt install iproute2"
        )
    taken = [
        f"port {port} ({what}) is already listened on"
        for port, what in sorted(wanted.items())
        if port in facts.listening
    ]
    if taken:
        fix = "stop what listens there (ss -ltnp shows it), or run cluster down"
        return Check(f"{role}.ports", title, "fail", tuple(taken), fix)
    if plan.preset.mode == RAY:  # Ray's workers take ports of a range: one taken there is skipped, not fatal
        busy = sorted(p for p in facts.listening if p in RAY_WORKER_PORTS)
        if busy:
            said = f"{len(busy)} of Ray's worker ports (10002-19999) taken: {', '.join(map(str, busy[:8]))}"
            fix = "Ray skips them; where a firewall opens only that range, keep it free (or set --min-worker-port)"
            return Check(f"{role}.ports", title, "warn", (said,), fix)
        return Check(f"{role}.ports", title, "ok", ("Ray's worker ports 10002-19999: none taken",))
    return Check(f"{role}.ports", title, "ok", ())


def _agree_checks(
    plan: ClusterPlan, found: dict[str, Interface | None], head: NodeFacts, worker: NodeFacts
) -> list[Check]:
    a, b = found.get("head"), found.get("worker")
    if a is None or b is None:
        return []
    out = []
    title = f"MTU agrees on both ends ({plan.head.interface}, {plan.worker.interface})"
    if a.mtu != b.mtu:
        said = f"MTU {a.mtu} on {plan.head.device}, {b.mtu} on {plan.worker.device}"
        fix = f"set one MTU on both: ip link set {plan.worker.interface} mtu {a.mtu} (on {plan.worker.device})"
        out.append(
            Check("link.mtu", title, "fail", (said, "a mismatched MTU stalls NCCL and Gloo without a word"), fix)
        )
    else:
        out.append(Check("link.mtu", title, "ok", (f"MTU {a.mtu} on both",)))
    title = "link speed agrees on both ends"
    if head.speed_mbps is None or worker.speed_mbps is None:
        out.append(Check("link.speed", title, "skip", ("the link does not say its speed (a virtual link)",)))
    elif head.speed_mbps != worker.speed_mbps:
        said = f"{head.speed_mbps} Mb/s on {plan.head.device}, {worker.speed_mbps} Mb/s on {plan.worker.device}"
        out.append(
            Check("link.speed", title, "warn", (said,), "a port negotiated down: check the cable and the switch")
        )
    else:
        out.append(Check("link.speed", title, "ok", (f"{head.speed_mbps} Mb/s on both",)))
    return out
