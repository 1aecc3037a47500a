"""``jetconsole cluster plan``: two devices of the fleet's hosts file, the interface each talks over, and a
preset: every node's exact lines (``docker run``, ``ray start``, ``vllm serve``), as the launch form shows
its ``docker run``.  An IP not given is read from the interface over SSH (``ip -j addr``); an interface
that is not up, or has no IPv4 address, is refused with the ones the node does offer.  Exit 0 with the
plan, 2 when it cannot be made (what to do on stderr)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from console.cluster.interfaces import COMMAND, Interface, offered, parse
from console.cluster.plan import ClusterPlan, Node, lines
from console.cluster.preflight import NodeFacts, checks, facts_script, parse_facts
from console.cluster.presets import BUILTIN
from console.config_error import ConfigError
from console.fleet.actions import Step
from console.fleet.hosts import Device, load_hosts
from console.fleet.remote import no_progress, run_step

if TYPE_CHECKING:
    from console.config import Config


FACT_LINES = 5000  # a node's whole answer to the preflight (its interfaces, ports, environment names)


class PlanError(ValueError):
    """Why the plan cannot be made, in a user's words."""


def run(config: Config, args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        plan, devices = make_plan(config, args)
    except (PlanError, ConfigError) as exc:
        print(f"jetconsole cluster: {exc}", file=err)
        return 2
    if args.cluster_command == "preflight":
        return _report(plan, asyncio.run(_facts(config, plan, devices)), args.json, out)
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
    preset = BUILTIN[args.preset] if not args.image else replace(BUILTIN[args.preset], image=args.image)
    plan = ClusterPlan(nodes[0], nodes[1], preset, args.data)
    problems = plan.check()
    if problems:
        raise PlanError("; ".join(problems))
    return plan, devices


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


def _report(plan: ClusterPlan, facts: tuple[NodeFacts, NodeFacts], as_json: bool, out: TextIO) -> int:
    """The checks as the doctor prints them; exit 0 good, 1 warnings, 2 failures."""
    found = checks(plan, *facts)
    worst = 2 if any(c.status == "fail" for c in found) else 1 if any(c.status == "warn" for c in found) else 0
    if as_json:
        print(json.dumps({"checks": [c.to_dict() for c in found], "exit": worst}, indent=2), file=out)
        return worst
    for c in found:
        print(f"{c.status:>4}  {c.title}", file=out)
        for line in c.evidence:
            print(f"        {line}", file=out)
        if c.fix and c.status in ("fail", "warn"):
            print(f"        → {c.fix}", file=out)
    counts = {s: sum(c.status == s for c in found) for s in ("ok", "warn", "fail")}
    print(f"{counts['ok']} ok, {counts['warn']} warnings, {counts['fail']} failures", file=out)
    return worst
