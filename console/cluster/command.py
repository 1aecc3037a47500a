"""``jetconsole cluster plan|preflight|up|status|down``.

``plan``: two devices of the fleet's hosts file, the interface each talks over, and a preset: every node's
exact lines (``docker run``, ``ray start``, ``vllm serve``), as the launch form shows its ``docker run``.
An IP not given is read from the interface over SSH (``ip -j addr``); an interface that is not up, or has
no IPv4 address, is refused with the ones the node does offer.  Exit 0 with the plan, 2 when it cannot be
made (what to do on stderr).  ``preflight`` checks the plan on both nodes (0 good, 1 warnings, 2
failures); ``up`` runs it (console/cluster/up.py: 0 ready, 1 a named failure, 2 no plan, 130 Ctrl-C), and
both nodes are taken down again after a failure or Ctrl-C unless ``--keep``; ``status`` and ``down`` act on
the cluster ``up`` recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from console.cluster import causes, linktest, record
from console.cluster.down import down, report
from console.cluster.interfaces import COMMAND, Interface, offered, parse
from console.cluster.nodes import Link
from console.cluster.plan import SERVE_LOG, ClusterPlan, Node, lines
from console.cluster.preflight import NodeFacts, checks, facts_script, parse_facts
from console.cluster.presets import BUILTIN, ClusterPreset
from console.cluster.status import lines as status_lines
from console.cluster.status import status
from console.cluster.up import Limits, Up, UpResult
from console.config_error import ConfigError
from console.doctor.check import Check
from console.fleet.actions import Step
from console.fleet.hosts import Device, load_hosts
from console.fleet.remote import no_progress, run_step

if TYPE_CHECKING:
    from console.config import Config


LINK_TEST_S = 180  # both containers started, torch imported, and the two all-reduces
FACT_LINES = 5000  # a node's whole answer to the preflight (its interfaces, ports, environment names)


class PlanError(ValueError):
    """Why the plan cannot be made, in a user's words."""


def run(config: Config, args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    if args.cluster_command in ("status", "down"):
        return _recorded(config, args, out, err)
    try:
        plan, devices = make_plan(config, args)
    except (PlanError, ConfigError) as exc:
        print(f"jetconsole cluster: {exc}", file=err)
        return 2
    if args.cluster_command == "preflight":
        start = time.monotonic()
        found = checks(plan, *asyncio.run(_facts(config, plan, devices)))
        if args.link_test:
            unreached = [c.id for c in found if c.id.endswith(".reach") and c.status != "ok"]
            found.append(
                Check("link.test", "link test", "skip", (f"not run: {', '.join(unreached)} failed",))
                if unreached
                else asyncio.run(link_check(plan, _link(config, devices)))
            )
        return _report(found, time.monotonic() - start, args.json, out)
    if args.cluster_command == "up":
        return _up(config, args, plan, devices, out, err)
    shown = lines(plan)
    if args.json:
        doc = {"head": asdict(plan.head), "worker": asdict(plan.worker), "preset": plan.preset.name, "lines": shown}
        print(json.dumps(doc, indent=2), file=out)
        return 0
    p = plan.preset
    print(f"{p.name}: {p.description}" + (f" ({p.published})" if p.published else ""), file=out)
    for node, role in ((plan.head, "head"), (plan.worker, "worker")):
        print(f"\n{role} {node.device} ({node.interface} {node.ip}):", file=out)
        for line in shown[node.device]:
            print(f"  {line}", file=out)
    print("\nHF_TOKEN is passed by name: set it in each node's environment, never on these lines.", file=out)
    return 0


def make_plan(config: Config, args: argparse.Namespace) -> tuple[ClusterPlan, dict[str, Device]]:
    """The plan, and the hosts file's devices; PlanError or ConfigError saying why there is none."""
    if args.preset not in BUILTIN:
        raise PlanError(f"unknown cluster preset {args.preset!r} (known: {', '.join(sorted(BUILTIN))})")
    path = args.hosts or config.fleet_hosts
    if not path:
        raise PlanError("no devices: give --hosts FILE, or [fleet] hosts in config.toml (README, Fleet)")
    devices = {d.name: d for d in load_hosts(Path(path).expanduser())}
    nodes = []
    for name, interface, ip in ((args.head, args.head_if, args.head_ip), (args.worker, args.worker_if, args.worker_ip)):
        device = devices.get(name)
        if device is None:
            raise PlanError(f"no device named {name} in {path}")
        if not device.ssh:
            raise PlanError(f"{name} has no ssh= in {path}: a cluster node is run over SSH")
        nodes.append(Node(name, interface, ip or _address(config, device, interface)))
    plan = ClusterPlan(nodes[0], nodes[1], _preset(args), args.data, tuple(args.volume), not args.no_memlock)
    problems = plan.check()
    if problems:
        raise PlanError("; ".join(problems))
    return plan, devices


def _preset(args: argparse.Namespace) -> ClusterPreset:
    """The named preset with what the command line changes of it."""
    preset = BUILTIN[args.preset]
    changes: dict[str, object] = {}
    if args.image:
        changes["image"] = args.image
    if args.model:
        changes["model"] = args.model
    if args.serve_args is not None:
        try:
            changes["serve_flags"] = tuple(shlex.split(args.serve_args))
        except ValueError as exc:
            raise PlanError(f"--serve-args: {exc}") from None
    if args.mode:
        changes["mode"] = args.mode
    if args.port:
        changes["port"] = args.port
    return replace(preset, **changes)  # type: ignore[arg-type]


def _address(config: Config, device: Device, interface: str) -> str:
    """The interface's IPv4 address on the device, read over SSH; PlanError naming the ones it offers."""
    got = asyncio.run(
        run_step(Step(device.name, COMMAND), device, config.fleet_ssh_config, config.fleet_ssh_timeout, no_progress)
    )
    if not got.ok:
        raise PlanError(f"{device.name}: cannot read its interfaces: {got.summary}")
    try:
        found = parse("\n".join(got.tail))
    except ValueError as exc:
        raise PlanError(f"{device.name}: {exc}") from None
    mine = next((i for i in found if i.name == interface), None)
    if mine is None or not mine.ipv4:  # a link that is down still has its address: the preflight says it is down
        what = "has no interface" if mine is None else "has no IPv4 address on"
        raise PlanError(f"{device.name} {what} {interface}; it offers: {_offer(offered(found))}")
    return mine.ipv4[0]


def _offer(interfaces: list[Interface]) -> str:
    return (
        ", ".join(f"{i.name} {i.ipv4[0]} (MTU {i.mtu})" for i in interfaces) or "no interface that is up with an IPv4"
    )


async def _facts(config: Config, plan: ClusterPlan, devices: dict[str, Device]) -> tuple[NodeFacts, NodeFacts]:
    """Both nodes asked at once."""

    async def one(node: Node, other: Node) -> NodeFacts:
        device = devices[node.device]
        step = Step(node.device, facts_script(node, other, plan.preset.image))
        got = await run_step(step, device, config.fleet_ssh_config, config.fleet_ssh_timeout, no_progress, FACT_LINES)
        if not got.ok:
            return NodeFacts(error=got.summary)
        return parse_facts("\n".join(got.tail))

    head, worker = await asyncio.gather(one(plan.head, plan.worker), one(plan.worker, plan.head))
    return head, worker


def _report(found: list[Check], seconds: float, as_json: bool, out: TextIO) -> int:
    """The checks as the doctor prints them; exit 0 good, 1 warnings, 2 failures."""
    worst = 2 if any(c.status == "fail" for c in found) else 1 if any(c.status == "warn" for c in found) else 0
    if as_json:
        doc = {"checks": [c.to_dict() for c in found], "exit": worst, "seconds": round(seconds, 3)}
        print(json.dumps(doc, indent=2), file=out)
        return worst
    for c in found:
        print(f"{c.status:>4}  {c.title}", file=out)
        for line in c.evidence:
            print(f"        {line}", file=out)
        if c.fix and c.status in ("fail", "warn"):
            print(f"        → {c.fix}", file=out)
    counts = {s: sum(c.status == s for c in found) for s in ("ok", "warn", "fail")}
    print(f"{counts['ok']} ok, {counts['warn']} warnings, {counts['fail']} failures ({seconds:.1f} s)", file=out)
    return worst


async def link_check(plan: ClusterPlan, link: Link) -> Check:
    """The link test (console/cluster/linktest.py) as a check: both ranks at once, rank 0's figures."""
    title = f"link test: all-reduce between the nodes over {plan.head.interface} / {plan.worker.interface}"
    head, worker = await asyncio.gather(
        *(
            link.sh(n.device, shlex.join(linktest.line(plan, n)), LINK_TEST_S, keep=200)
            for n in (plan.head, plan.worker)
        )
    )
    results = linktest.parse(head.tail)
    if results is None:
        failed = [(n, o) for n, o in ((plan.head, head), (plan.worker, worker)) if not o.ok] or [(plan.head, head)]
        cause = next((c for n, o in failed if (c := causes.name(o.tail, n.device))), None)
        said = (cause.evidence,) if cause else tuple(f"{n.device}: {o.summary}" for n, o in failed)
        fix = (
            cause.fix
            if cause
            else "the image needs python3 with torch; run the line by hand: " + linktest.shown(plan, plan.head)
        )
        return Check("link.test", title, "fail", said, fix)
    said = tuple(f"{r.backend}: {r.gbit_s:.2f} Gbit/s (64 MiB), latency {r.latency_us:.0f} µs" for r in results)
    return Check("link.test", title, "ok", said)


def _link(config: Config, devices: dict[str, Device]) -> Link:
    return Link(devices, config.fleet_ssh_config)


def server_url(args: argparse.Namespace, plan: ClusterPlan, device: Device) -> str:
    """The head's server as this console reaches it: ``--url``, else the host of its agent or its ssh target."""
    if args.url:
        return args.url.rstrip("/")
    host = urlsplit(device.url).hostname if device.url else (device.ssh or "").rpartition("@")[2]
    return f"http://{host or plan.head.ip}:{plan.preset.port}/v1"


def _up(
    config: Config, args: argparse.Namespace, plan: ClusterPlan, devices: dict[str, Device], out: TextIO, err: TextIO
) -> int:
    url = server_url(args, plan, devices[plan.head.device])
    link = _link(config, devices)
    record.save(record.Record(plan, url, time.time()))  # before any node is touched: down finds both

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    limits = Limits(join=args.join_timeout, ready=args.ready_timeout)
    result: UpResult | None = None
    try:
        result = asyncio.run(Up(plan, link, _health(url), say, limits).run())
    except KeyboardInterrupt:
        print("\ninterrupted: taking both nodes down", file=err, flush=True)
        return _take_down(plan, link, out, 130)
    _print_result(result, args.json, url, out)
    if result.ok:
        return 0
    if args.keep:
        print("--keep: both nodes left as they are; `jetconsole cluster status`, then `down`", file=out)
        return 1
    say("taking both nodes down")
    return _take_down(plan, link, out, 1)


def _print_result(result: UpResult, as_json: bool, url: str, out: TextIO) -> None:
    if as_json:
        doc = {
            "ok": result.ok,
            "url": url,
            "phases": [asdict(p) for p in result.phases],
            "cause": asdict(result.cause) if result.cause else None,
        }
        print(json.dumps(doc, indent=2), file=out, flush=True)
        return
    timing = ", ".join(f"{p.name} {p.seconds:.1f} s" for p in result.phases)
    if result.ok:
        print(f"ready: {url} ({timing}; {sum(p.seconds for p in result.phases):.1f} s in all)", file=out)
        return
    c = result.cause
    assert c is not None
    print(f"failed: {c.title} [{c.key}]", file=out)
    if c.evidence:
        print(f"  evidence: {c.evidence}", file=out)
    print(f"  → {c.fix}", file=out)
    print(f"  ({timing})", file=out, flush=True)


def _take_down(plan: ClusterPlan, link: Link, out: TextIO, code: int) -> int:
    nodes = asyncio.run(down(plan, link))
    for line in report(nodes):
        print(line, file=out, flush=True)
    if all(n.clean for n in nodes):
        record.forget()
        return code
    return code or 1


def _health(url: str) -> Callable[[], Awaitable[bool]]:
    import httpx

    base = url.removesuffix("/v1")

    async def ok() -> bool:
        try:
            async with httpx.AsyncClient(timeout=3.0) as client:
                return (await client.get(f"{base}/health")).status_code == 200
        except httpx.HTTPError:
            return False

    return ok


def _recorded(config: Config, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """status and down: on the cluster ``up`` recorded."""
    try:
        rec = record.load()
    except ValueError as exc:
        print(f"jetconsole cluster: {exc}", file=err)
        return 2
    if rec is None:
        print("jetconsole cluster: no cluster was started from here (`jetconsole cluster up` records one)", file=err)
        return 2 if args.cluster_command == "status" else 0
    try:
        devices = {d.name: d for d in load_hosts(Path(config.fleet_hosts).expanduser())} if config.fleet_hosts else {}
    except ConfigError as exc:
        print(f"jetconsole cluster: {exc}", file=err)
        return 2
    missing = [n.device for n in (rec.plan.head, rec.plan.worker) if n.device not in devices]
    if missing:
        print(f"jetconsole cluster: {', '.join(missing)} not in the hosts file ([fleet] hosts)", file=err)
        return 2
    link = _link(config, devices)
    if args.cluster_command == "down":
        nodes = asyncio.run(down(rec.plan, link))
        if args.json:
            print(json.dumps({"nodes": [asdict(n) for n in nodes]}, indent=2), file=out)
        else:
            for line in report(nodes):
                print(line, file=out)
        if all(n.clean for n in nodes):
            record.forget()
            return 0
        return 1
    got = asyncio.run(status(rec.plan, link, _server(rec.url)))
    if args.json:
        print(json.dumps(asdict(got), indent=2), file=out)
    else:
        print(f"{rec.plan.preset.name}: {rec.url} (server log: {SERVE_LOG} in each container)", file=out)
        for line in status_lines(got):
            print(line, file=out)
    return 0 if got.server == "ready" else 1


def _server(url: str) -> Callable[[], Awaitable[tuple[str, str]]]:
    import httpx

    from console.servers.metrics import MetricsError, MetricsWindow, parse, summary_line

    base = url.removesuffix("/v1")

    async def answer() -> tuple[str, str]:
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                health = await client.get(f"{base}/health")
                if health.status_code != 200:
                    return f"/health answered {health.status_code}", ""
                window = MetricsWindow()
                window.add(parse((await client.get(f"{base}/metrics")).text), time.monotonic())
                return "ready", summary_line(window.current())
        except httpx.HTTPError as exc:
            return f"not answering ({type(exc).__name__})", ""
        except MetricsError:
            return "ready", ""

    return answer
