"""The fleet: every device's agent read each interval, as one asyncio round in one thread.

Answers reach the state in batches as they come (at most every ``FLUSH_S``), so nine fast devices are
shown while the tenth runs into its time limit, and a slow or dead device delays nobody.  The hosts file
is read when the service starts; a mistake in it is a state the Fleet view shows (file:line: what).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from console.config_error import ConfigError
from console.fleet.hosts import Device, load_hosts
from console.fleet.poll import new_client, read_device
from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Lifecycle

FLUSH_S = 0.1


def devices_from(hosts: str) -> tuple[tuple[Device, ...], str | None]:
    """The devices of the hosts file ``hosts`` ("" = none), or () and why not."""
    if not hosts:
        return (), "no devices: set [fleet] hosts in config.toml to a hosts file (README, Fleet)"
    try:
        return load_hosts(Path(hosts).expanduser()), None
    except ConfigError as exc:
        return (), str(exc)


def start_fleet(hub: Hub, hosts: str, interval: float, timeout: float) -> None:
    """List the devices, then read them every ``interval`` until the runtime stops."""
    devices, error = devices_from(hosts)
    hub.emit(ev.FleetListed(devices, error))
    if devices:
        hub.runner.spawn("fleet", lambda life: asyncio.run(_poll(hub, devices, interval, timeout, life)))


async def _poll(hub: Hub, devices: tuple[Device, ...], interval: float, timeout: float, life: Lifecycle) -> None:
    async with new_client(len(devices)) as client:
        while not life.stopped:
            start = time.monotonic()
            pending = {asyncio.create_task(read_device(client, d, timeout)) for d in devices}
            while pending:  # what has come, every FLUSH_S: the fast ones never wait for the slow
                done, pending = await asyncio.wait(pending, timeout=FLUSH_S)
                if done:
                    hub.emit(ev.FleetAnswered(tuple(t.result() for t in done)))
            left = interval - (time.monotonic() - start)
            if left > 0 and await asyncio.to_thread(life.stop_event.wait, left):
                return
