"""``jetconsole fleet [--json] [--hosts FILE]``: one read of every device's agent, as a table or JSON.

Exit 0 when every device is up, 1 when some are not, 2 for a config or hosts-file error.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from console.config_error import ConfigError
from console.fleet.hosts import load_hosts
from console.fleet.poll import one_round
from console.fleet.state import FleetState
from console.fleet.view import HEADERS, UP, as_dict, cells, rows, totals, totals_line
from console.runtime.sanitise import json_text

if TYPE_CHECKING:
    from console.config import Config


def run(config: Config, hosts: str | None, as_json: bool, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    path = hosts or config.fleet_hosts
    if not path:
        print(
            "jetconsole fleet: no devices: give --hosts FILE, or [fleet] hosts in config.toml (README, Fleet)", file=err
        )
        return 2
    try:
        devices = load_hosts(Path(path).expanduser())
    except ConfigError as exc:
        print(f"jetconsole fleet: {exc}", file=err)
        return 2
    answers = one_round(devices, config.fleet_timeout)
    fleet = FleetState().listed(devices).answered(answers)
    listed = rows(fleet, time.monotonic(), config.fleet_interval)
    summary = totals(listed)
    if as_json:
        doc = {"totals": summary.__dict__, "devices": [as_dict(r) for r in listed]}
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
    return 0 if all(r.condition == UP for r in listed) else 1
