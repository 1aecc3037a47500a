"""The Fleet screen's organiser actions, off the UI's loop: planned (reading L4T over SSH for a launch),
then run, each device's progress and outcome emitted as they come.  The same steps as ``jetconsole fleet
do`` (console/fleet/organise.py), audit log included."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

from console.fleet.actions import ActionOptions, Outcome, Plan
from console.fleet.hosts import Device
from console.fleet.organise import execute, prepare, record
from console.fleet.ssh import SshSettings
from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Lifecycle
from console.runtime.sanitise import clean

PROGRESS_EVERY_S = 0.5  # a device's progress reaches the state at most this often (rsync says more)


def plan(
    hub: Hub, run_id: int, action: str, devices: Sequence[Device], options: ActionOptions, ssh: SshSettings
) -> None:
    try:
        got = asyncio.run(prepare(action, devices, options, ssh))
    except Exception as exc:  # noqa: BLE001 - a plan that cannot be made is said, never the app's end
        hub.emit(ev.FleetActionPlanned(run_id, None, clean(f"{type(exc).__name__}: {exc}")))
        return
    hub.emit(ev.FleetActionPlanned(run_id, got))


def declined(got: Plan, devices: Sequence[Device]) -> None:
    record(got, devices, "not run: the answer was no")


def run(
    hub: Hub,
    run_id: int,
    got: Plan,
    devices: Sequence[Device],
    ssh: SshSettings,
    timeout: float,
    parallel: int,
    life: Lifecycle,
) -> None:
    """Run the plan; when the runtime stops (the app quits) the steps still going are cancelled and their
    processes killed, and the audit log says the action was stopped."""
    said: dict[str, float] = {}

    def progress(device: str, text: str) -> None:
        now = time.monotonic()
        if now - said.get(device, 0.0) >= PROGRESS_EVERY_S:
            said[device] = now
            hub.emit(ev.FleetActionProgress(run_id, device, text))

    def done(outcome: Outcome) -> None:
        hub.emit(ev.FleetActionOutcome(run_id, outcome))

    async def until_stopped() -> bool:
        """True when the runtime stopped it (its stop wakes this loop: no polling)."""
        work = asyncio.create_task(execute(got, devices, ssh, timeout, parallel, progress, done))
        loop = asyncio.get_running_loop()

        def cancel() -> None:  # from the thread that stops the runtime; once: a second cancel could cut a reap
            with contextlib.suppress(RuntimeError):  # the loop already closed: the action had ended
                loop.call_soon_threadsafe(work.cancel)

        life.on_stop(cancel)
        await asyncio.wait({work})
        if work.cancelled():
            return True
        work.result()
        return False

    try:
        record(got, devices, "run")
        if asyncio.run(until_stopped()):
            record(got, devices, "stopped: the app quit while it ran")
    finally:
        hub.emit(ev.FleetActionFinished(run_id))
