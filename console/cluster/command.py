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
import sys
import time
from dataclasses import asdict, fields
from typing import TYPE_CHECKING, TextIO

from console.cluster import record
from console.cluster.plan import SERVE_LOG, ClusterPlan, lines
from console.cluster.planning import (
    PlanError,
    PlanRequest,
    health,
    link_of,
    make_plan,
    preflight,
    server_answer,
    server_url,
)
from console.cluster.session import ERRORS, NoCluster, bring_up, recorded, refuse_if_recorded, take_down
from console.cluster.status import lines as status_lines
from console.cluster.status import status
from console.cluster.up import Limits, UpResult
from console.config_error import ConfigError
from console.doctor.check import Check
from console.fleet.hosts import Device

if TYPE_CHECKING:
    from console.config import Config


def run(config: Config, args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    if args.cluster_command in ("status", "down"):
        return _recorded(config, args, out, err)
    request = PlanRequest(**{f.name: getattr(args, f.name) for f in fields(PlanRequest)})
    try:
        plan, devices = asyncio.run(make_plan(config, request))
    except (PlanError, ConfigError) as exc:
        print(f"jetconsole cluster: {exc}", file=err)
        return 2
    if args.cluster_command == "preflight":
        found, seconds = asyncio.run(preflight(config, plan, link_of(config, devices), args.link_test))
        return _report(found, seconds, args.json, out)
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


def _up(
    config: Config, args: argparse.Namespace, plan: ClusterPlan, devices: dict[str, Device], out: TextIO, err: TextIO
) -> int:
    try:
        url = server_url(args.url, plan, devices[plan.head.device])
        refuse_if_recorded()
    except ERRORS as exc:
        print(f"jetconsole cluster: {exc}", file=err)
        return 2
    link = link_of(config, devices)
    record.save(record.Record(plan, url, time.time()))  # before any node is touched: down finds both

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    def told(result: UpResult) -> None:
        _print_result(result, args.json, url, out)

    limits = Limits(join=args.join_timeout, ready=args.ready_timeout)
    try:
        result = asyncio.run(bring_up(plan, link, health(url), say, told, limits, args.keep))
    except KeyboardInterrupt:
        return 130  # both nodes were taken down before this
    return 0 if result.ok else 1


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
    if result.cause is None:
        print(f"ready: {url} ({result.timing}; {sum(p.seconds for p in result.phases):.1f} s in all)", file=out)
        return
    print("\n".join([*result.cause.lines(), f"  ({result.timing})"]), file=out, flush=True)


def _recorded(config: Config, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """status and down: on the cluster ``up`` recorded."""
    try:
        rec, devices = recorded(config)
    except NoCluster as exc:
        print(f"jetconsole cluster: {exc} (`jetconsole cluster up` records one)", file=err)
        return 2 if args.cluster_command == "status" else 0
    except ERRORS as exc:
        print(f"jetconsole cluster: {exc}", file=err)
        return 2
    link = link_of(config, devices)
    if args.cluster_command == "down":
        said: list[str] = []
        nodes = asyncio.run(take_down(rec.plan, link, said.append))
        if args.json:
            print(json.dumps({"nodes": [asdict(n) for n in nodes]}, indent=2), file=out)
        else:
            print("\n".join(said), file=out)
        return 0 if all(n.clean for n in nodes) else 1
    got = asyncio.run(status(rec.plan, link, server_answer(rec.url)))
    if args.json:
        print(json.dumps(asdict(got), indent=2), file=out)
    else:
        print(f"{rec.plan.preset.name}: {rec.url} (server log: {SERVE_LOG} in each container)", file=out)
        for line in status_lines(got):
            print(line, file=out)
    return 0 if got.server == "ready" else 1
