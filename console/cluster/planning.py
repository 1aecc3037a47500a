"""A cluster plan made from what a user asked (the CLI's flags or the Cluster screen's form), and the checks of
it on both nodes: what ``jetconsole cluster`` and the Cluster screen share.

``make_plan`` reads each node's IP off its interface over SSH when not given (an interface that is not up,
or has no IPv4 address, is refused with the ones the node does offer).  ``preflight`` asks both nodes at
once (console/cluster/preflight.py), and with the link test runs the all-reduce between them
(console/cluster/linktest.py) unless they do not reach each other.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from console.cluster import causes, linktest
from console.cluster.interfaces import COMMAND, Interface, offered, parse
from console.cluster.nodes import Link
from console.cluster.plan import ClusterPlan, Node
from console.cluster.preflight import NodeFacts, checks, facts_script, parse_facts
from console.cluster.presets import BUILTIN, ClusterPreset
from console.doctor.check import Check
from console.fleet.hosts import Device, load_hosts
from console.runtime.secrets import is_secret_flag

if TYPE_CHECKING:
    from console.config import Config

LINK_TEST_S = 180  # both containers started, torch imported, and the two all-reduces
FACTS_S = 60  # a node's facts: docker info, nvidia-smi and a throwaway container looking for NCCL
FACT_LINES = 5000  # a node's whole answer to the preflight (its interfaces, ports, environment names)


class PlanError(ValueError):
    """Why the plan cannot be made, in a user's words."""


@dataclass(frozen=True)
class PlanRequest:
    """What a user asked for: the CLI's flags by their names."""

    head: str
    worker: str
    head_if: str
    worker_if: str
    head_ip: str | None = None
    worker_ip: str | None = None
    preset: str = "orin-gpt-oss-20b"
    image: str | None = None
    model: str | None = None
    serve_args: str | None = None
    mode: str | None = None
    port: int | None = None
    data: str = "/data"
    volume: tuple[str, ...] = ()
    no_memlock: bool = False
    hosts: str | None = None


def devices_of(config: Config, hosts: str | None = None) -> tuple[str, dict[str, Device]]:
    """The hosts file and its devices by name; PlanError when there is none, ConfigError when it is wrong."""
    path = hosts or config.fleet_hosts
    if not path:
        raise PlanError("no devices: give --hosts FILE, or [fleet] hosts in config.toml (README, Fleet)")
    return path, {d.name: d for d in load_hosts(Path(path).expanduser())}


async def make_plan(config: Config, req: PlanRequest) -> tuple[ClusterPlan, dict[str, Device]]:
    """The plan, and the hosts file's devices; PlanError or ConfigError saying why there is none."""
    if req.preset not in BUILTIN:
        raise PlanError(f"unknown cluster preset {req.preset!r} (known: {', '.join(sorted(BUILTIN))})")
    path, devices = devices_of(config, req.hosts)
    nodes = []
    for name, interface, ip in ((req.head, req.head_if, req.head_ip), (req.worker, req.worker_if, req.worker_ip)):
        device = devices.get(name)
        if device is None:
            raise PlanError(f"no device named {name} in {path}")
        if not device.ssh:
            raise PlanError(f"{name} has no ssh= in {path}: a cluster node is run over SSH")
        nodes.append(Node(name, interface, ip or await _address(config, device, interface)))
    preset = _preset(req)
    plan = ClusterPlan(nodes[0], nodes[1], preset, req.data, tuple(req.volume), not req.no_memlock)
    problems = plan.check()
    if problems:
        raise PlanError("; ".join(problems))
    return plan, devices


def _preset(req: PlanRequest) -> ClusterPreset:
    """The named preset with what the request changes of it."""
    preset = BUILTIN[req.preset]
    if req.serve_args is not None:
        try:
            flags = tuple(shlex.split(req.serve_args))
        except ValueError as exc:
            raise PlanError(f"--serve-args: {exc}") from None
        secret = next((f.split("=")[0] for f in flags if is_secret_flag(f.split("=")[0])), None)
        if secret:  # --api-key, --api_key, --hf-token...: the redactor's own judgement of a flag
            raise PlanError(
                f"--serve-args: {secret} would put a credential on a command line (shown, recorded, in ps): set "
                "it in each node's environment instead (VLLM_API_KEY, HF_TOKEN: the plan passes them by name)"
            )
        preset = replace(preset, serve_flags=flags)
    return replace(
        preset,
        image=req.image or preset.image,
        model=req.model or preset.model,
        mode=req.mode or preset.mode,
        port=req.port or preset.port,
    )


async def interfaces_of(config: Config, device: Device) -> list[Interface]:
    """The device's interfaces, read over SSH (``ip -j addr``); PlanError saying why they could not be."""
    got = await link_of(config, {device.name: device}).sh(device.name, COMMAND, config.fleet_ssh_timeout, FACT_LINES)
    if not got.ok:
        raise PlanError(f"{device.name}: cannot read its interfaces: {got.summary}")
    try:
        return parse("\n".join(got.tail))
    except ValueError as exc:
        raise PlanError(f"{device.name}: {exc}") from None


async def offer(config: Config, device: Device) -> tuple[bool, str]:
    """(read, what a plan can use of the device in a line: "enP8p1s0 10.10.0.1 (MTU 9000), ..." or why not)."""
    try:
        return True, describe(offered(await interfaces_of(config, device)))
    except PlanError as exc:
        return False, str(exc)


async def _address(config: Config, device: Device, interface: str) -> str:
    """The interface's IPv4 address on the device, read over SSH; PlanError naming the ones it offers."""
    found = await interfaces_of(config, device)
    mine = next((i for i in found if i.name == interface), None)
    if mine is None or not mine.ipv4:  # a link that is down still has its address: the preflight says it is down
        what = "has no interface" if mine is None else "has no IPv4 address on"
        raise PlanError(f"{device.name} {what} {interface}; it offers: {describe(offered(found))}")
    return mine.ipv4[0]


def describe(interfaces: list[Interface]) -> str:
    return (
        ", ".join(f"{i.name} {i.ipv4[0]} (MTU {i.mtu})" for i in interfaces) or "no interface that is up with an IPv4"
    )


def link_of(config: Config, devices: dict[str, Device]) -> Link:
    return Link(devices, config.fleet_ssh_config)


async def preflight(config: Config, plan: ClusterPlan, link: Link, link_test: bool) -> tuple[list[Check], float]:
    """Every check of the plan on both nodes, and the seconds it took."""
    start = time.monotonic()

    async def one(node: Node, other: Node) -> NodeFacts:
        script = facts_script(node, other, plan.preset.image)
        got = await link.sh(node.device, script, max(FACTS_S, config.fleet_ssh_timeout), FACT_LINES)
        return parse_facts("\n".join(got.tail)) if got.ok else NodeFacts(error=got.summary)

    head, worker = await asyncio.gather(one(plan.head, plan.worker), one(plan.worker, plan.head))
    found = checks(plan, head, worker)
    if link_test:
        unreached = [c.id for c in found if c.id.endswith(".reach") and c.status == "fail"]  # no ping: tried
        if unreached:
            found.append(Check("link.test", "link test", "skip", (f"not run: {', '.join(unreached)} failed",)))
        else:
            found.append(await link_check(plan, link))
    return found, time.monotonic() - start


async def link_check(plan: ClusterPlan, link: Link) -> Check:
    """The link test (console/cluster/linktest.py) as a check: both ranks at once, rank 0's figures."""
    title = f"link test: all-reduce between the nodes over {plan.head.interface} / {plan.worker.interface}"
    nodes = (plan.head, plan.worker)
    head, worker = await asyncio.gather(
        *(link.sh(n.device, shlex.join(linktest.line(plan, n)), LINK_TEST_S, keep=200) for n in nodes)
    )
    results = linktest.parse(head.tail)
    if results is None:
        failed = [(n, o) for n, o in zip(nodes, (head, worker), strict=True) if not o.ok] or [(plan.head, head)]
        cause = next((c for n, o in failed if (c := causes.name(o.tail, n.device))), None)
        if cause is not None:
            return Check("link.test", title, "fail", (cause.evidence,), cause.fix)
        said = tuple(f"{n.device}: {o.summary}" for n, o in failed)
        fix = "the image needs python3 with torch; run it by hand: " + linktest.shown(plan, plan.head)
        return Check("link.test", title, "fail", said, fix)
    said = tuple(f"{r.backend}: {r.gbit_s:.2f} Gbit/s (64 MiB), latency {r.latency_us:.0f} µs" for r in results)
    return Check("link.test", title, "ok", said)


def server_url(url: str | None, plan: ClusterPlan, device: Device) -> str:
    """The head's server as this console reaches it: ``url``, else the host of its agent or its ssh target;
    PlanError for a ``url`` that is not an http(s) URL with a host."""
    if url:
        given = urlsplit(url)
        if given.scheme not in ("http", "https") or not given.hostname:
            raise PlanError(f"--url {url!r}: an http:// URL of the head's server (http://orin-a:8000/v1)")
        return url.rstrip("/")
    host = urlsplit(device.url).hostname if device.url else (device.ssh or "").rpartition("@")[2]
    return f"http://{host or plan.head.ip}:{plan.preset.port}/v1"


def health(url: str) -> Callable[[], Awaitable[bool]]:
    """Does the server at ``url`` (…/v1) answer ``/health`` 200 now?"""
    import httpx

    base = url.removesuffix("/v1")

    async def ok() -> bool:
        try:
            async with httpx.AsyncClient(timeout=3.0) as client:
                return (await client.get(f"{base}/health")).status_code == 200
        except httpx.HTTPError:
            return False

    return ok


def server_answer(url: str) -> Callable[[], Awaitable[tuple[str, str]]]:
    """The server's (health, figures) now, for ``status``: one poll of the Servers panel's own probe."""

    async def answer() -> tuple[str, str]:
        from console.chat.endpoints import Endpoint, canonical
        from console.servers.metrics import summary_line
        from console.servers.probe import ServerProbe

        probe = ServerProbe(Endpoint(canonical(url)), timeout=5.0)
        try:
            got = await asyncio.to_thread(probe.poll)  # blocking httpx: beside the nodes' SSH, not before it
        finally:
            probe.close()
        if not got.reachable:
            return f"not answering ({got.error})", ""
        if not got.ready:
            return f"/health answered {got.health}", ""
        return "ready", summary_line(got.metrics) if got.metrics else ""

    return answer
