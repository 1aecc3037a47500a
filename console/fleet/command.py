"""``jetconsole fleet [--json] [--hosts FILE] [--prometheus URL]``: one read of every device, as a table or JSON.

The devices' agents are read, or the Prometheus server that scrapes them.  Exit 0 when every device is
up, 1 when some are not, 2 for a config or hosts-file error.  ``--targets`` prints the hosts file as
Prometheus file_sd targets for deploy/prometheus/.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from console.config_error import ConfigError
from console.fleet.actions import DESCRIPTIONS, ActionOptions, Outcome
from console.fleet.hosts import Device, load_hosts
from console.fleet.organise import execute, prepare, record
from console.fleet.poll import new_client, one_round
from console.fleet.prometheus import Round, instance_of, read_prometheus
from console.fleet.ssh import SshSettings
from console.fleet.state import FleetState
from console.fleet.view import HEADERS, UP, as_dict, cells, rows, totals, totals_line
from console.runtime.sanitise import json_text

TAIL_SHOWN = 8  # a failed device's last lines of output under the table

if TYPE_CHECKING:
    from console.config import Config


def _devices(config: Config, hosts: str | None, err: TextIO, optional: bool = False) -> tuple[Device, ...] | None:
    """The hosts file's devices; None (and why, on ``err``) when there are none or it is wrong."""
    path = hosts or config.fleet_hosts
    if not path:
        if optional:
            return ()
        print(
            "jetconsole fleet: no devices: give --hosts FILE, or [fleet] hosts in config.toml (README, Fleet)", file=err
        )
        return None
    try:
        return load_hosts(Path(path).expanduser())
    except ConfigError as exc:
        print(f"jetconsole fleet: {exc}", file=err)
        return None


def targets(config: Config, hosts: str | None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """The hosts file as a Prometheus file_sd list: each agent's host:port, with its device and group."""
    devices = _devices(config, hosts, err)
    if devices is None:
        return 2
    doc = [
        {"targets": [instance_of(d)], "labels": {"device": d.name, **({"group": d.group} if d.group else {})}}
        for d in devices
        if d.url  # a device read over SSH has no agent to scrape
    ]
    print(json.dumps(doc, indent=2), file=out)
    return 0


def _prometheus_round(base: str, devices: tuple[Device, ...], timeout: float) -> Round:
    async def query() -> Round:
        async with new_client(1) as client:
            return await read_prometheus(client, base, devices, timeout)

    return asyncio.run(query())


def run(
    config: Config,
    hosts: str | None,
    as_json: bool,
    prometheus: str | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    base = prometheus or config.fleet_prometheus
    devices = _devices(config, hosts, err, optional=bool(base))
    if devices is None:
        return 2
    source_error = None
    ssh = SshSettings(config.fleet_ssh_config, config.fleet_ssh_interval, config.fleet_ssh_timeout)
    if base:
        agents = tuple(d for d in devices if d.url)
        others = tuple(d for d in devices if not d.url)  # no agent to scrape: read over SSH
        got = _prometheus_round(base, agents, max(config.fleet_timeout, 0.9 * config.fleet_interval))
        devices = (devices if agents else got.devices + others) if devices else got.devices
        answers = [*got.answers, *(one_round(others, config.fleet_timeout, ssh) if others else [])]
        source_error = got.error
    else:
        answers = one_round(devices, config.fleet_timeout, ssh)
    fleet = FleetState().listed(devices).answered(answers)
    listed = rows(fleet, time.monotonic(), config.fleet_interval)
    summary = totals(listed)
    if as_json:
        doc = {"totals": summary.__dict__, "devices": [as_dict(r) for r in listed], "error": source_error}
        print(json_text(doc, indent=2), file=out)
    else:
        table = [list(HEADERS), *(cells(r) for r in listed)]
        widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
        for line in table:
            print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip(), file=out)
        for r in listed:
            if r.error:
                print(f"{r.name}: {r.error}", file=out)
        print(totals_line(summary), file=out)
    if source_error:
        print(f"jetconsole fleet: {source_error}", file=err)
    return 0 if source_error is None and all(r.condition == UP for r in listed) else 1


def select(devices: tuple[Device, ...], spec: str, flagged: set[str] | None = None) -> tuple[Device, ...]:
    """The devices ``spec`` names: ``all``, ``flagged``, ``group:NAME``, ``tag:NAME`` or ``name,name``;
    ValueError saying what is unknown."""
    if spec == "all":
        return devices
    if spec == "flagged":
        return tuple(d for d in devices if d.name in (flagged or set()))
    kind, _, value = spec.partition(":")
    if kind == "group" and value:
        chosen = tuple(d for d in devices if d.group == value)
    elif kind == "tag" and value:
        chosen = tuple(d for d in devices if value in d.tags)
    else:
        names = [n for n in spec.split(",") if n]
        unknown = [n for n in names if n not in {d.name for d in devices}]
        if unknown:
            raise ValueError(f"no device named {', '.join(unknown)} in the hosts file")
        chosen = tuple(d for d in devices if d.name in names)
    if not chosen:
        raise ValueError(f"--select {spec}: no device matches")
    return chosen


def do(
    config: Config,
    action: str,
    hosts: str | None,
    spec: str,
    options: ActionOptions,
    dry_run: bool,
    yes: bool,
    parallel: int,
    timeout: float,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """``jetconsole fleet do ACTION``: plan, show, ask, run, and a table of each device's outcome.  Exit 0
    when every device did it, 1 when some did not, 2 for a config, hosts-file or selection error."""
    devices = _devices(config, hosts, err)
    if devices is None:
        return 2
    ssh = SshSettings(config.fleet_ssh_config, config.fleet_ssh_interval, config.fleet_ssh_timeout)
    flagged = None
    if spec == "flagged":
        answers = one_round(devices, config.fleet_timeout, ssh)
        flagged = {a.name for a in answers if a.reading is not None and a.reading.help_flag}
    try:
        chosen = select(devices, spec, flagged)
    except ValueError as exc:
        print(f"jetconsole fleet do: {exc}", file=err)
        return 2
    plan = asyncio.run(prepare(action, chosen, options, ssh))
    print(f"{action} on {len(chosen)} device{'s' * (len(chosen) != 1)}: {DESCRIPTIONS[action]}", file=out)
    for step in plan.steps:
        note = f"   # {step.note}" if step.note else ""
        print(f"  {step.device}: {step.shown}{note}", file=out)
    for name, why in plan.refused:
        print(f"  {name}: refused: {why}", file=out)

    def planned(then: str) -> None:  # every plan goes to the audit log, with what became of it
        record(plan, chosen, then)

    if dry_run or not plan.steps:
        planned("dry run" if dry_run else "nothing to run")
        return 0 if not plan.refused else 1
    if not yes:
        if not sys.stdin.isatty():
            planned("not run: no --yes and no terminal to ask on")
            print("jetconsole fleet do: nothing run: add --yes to run it without a terminal to ask on", file=err)
            return 2
        answer = input(f"Run it on {len(plan.steps)} device{'s' * (len(plan.steps) != 1)}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            planned("not run: the answer was no")
            print("nothing run", file=out)
            return 1
    planned("run")

    shown: dict[str, float] = {}

    def progress(device: str, text: str) -> None:
        now = time.monotonic()
        if text and now - shown.get(device, 0.0) >= 1.0:  # a line a second a device at most
            shown[device] = now if text != "starting" else 0.0  # its first progress line comes at once
            print(f"  {device}: {text}", file=err, flush=True)

    def done(o: Outcome) -> None:
        print(f"  {o.device}: {o.summary}", file=err, flush=True)

    outcomes = asyncio.run(execute(plan, chosen, ssh, timeout, parallel, progress, done))
    width = max(len(o.device) for o in outcomes)
    print(f"\n{'device':<{width}}  result", file=out)
    for o in sorted(outcomes, key=lambda o: (o.ok, o.device)):
        print(f"{o.device:<{width}}  {o.summary}  ({o.seconds:.1f} s)", file=out)
    for o in outcomes:
        if not o.ok and o.tail:  # what the device said last: the reason is often above a hint
            print(f"\n{o.device}, its last lines:", file=out)
            print("\n".join(f"  {line}" for line in o.tail[-TAIL_SHOWN:]), file=out)
    good = sum(o.ok for o in outcomes)
    print(f"{good}/{len(outcomes)} done", file=out)
    return 0 if good == len(outcomes) else 1
