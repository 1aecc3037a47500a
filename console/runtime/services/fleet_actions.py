"""The Fleet screen's organiser actions, off the UI's loop: planned (reading L4T over SSH for a launch),
then run, each device's progress and outcome emitted as they come.  The same steps as ``jetconsole fleet
do`` (console/fleet/organise.py), audit log included."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from console.fleet.actions import ActionOptions, Plan
from console.fleet.hosts import Device
from console.fleet.organise import execute, prepare, record
from console.fleet.ssh import SshSettings
from console.runtime import events as ev
from console.runtime.hub import Hub

PROGRESS_EVERY_S = 0.5  # a device's progress reaches the state at most this often (rsync says more)


def plan(
    hub: Hub, run_id: int, action: str, devices: Sequence[Device], options: ActionOptions, ssh: SshSettings
) -> None:
    try:
        got = asyncio.run(prepare(action, devices, options, ssh))
    except Exception as exc:  # noqa: BLE001 - a plan that cannot be made is said, never the app's end
        hub.emit(ev.FleetActionPlanned(run_id, None, f"{type(exc).__name__}: {exc}"))
        return
    hub.emit(ev.FleetActionPlanned(run_id, got))


def declined(got: Plan, devices: Sequence[Device]) -> None:
    record(got, devices, "not run: the answer was no")


def run(
    hub: Hub, run_id: int, got: Plan, devices: Sequence[Device], ssh: SshSettings, timeout: float, parallel: int
) -> None:
    record(got, devices, "run")
    said: dict[str, float] = {}

    def progress(device: str, text: str) -> None:
        now = time.monotonic()
        if now - said.get(device, 0.0) >= PROGRESS_EVERY_S:
            said[device] = now
            hub.emit(ev.FleetActionProgress(run_id, device, text))

    try:
        asyncio.run(
            execute(
                got, devices, ssh, timeout, parallel, progress, lambda o: hub.emit(ev.FleetActionOutcome(run_id, o))
            )
        )
    finally:
        hub.emit(ev.FleetActionFinished(run_id))
