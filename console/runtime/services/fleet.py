"""The fleet: every device's agent read each interval, as one asyncio round in one thread.

Answers reach the state in batches as they come (at most every ``FLUSH_S``), so nine fast devices are
shown while the tenth runs into its time limit, and a slow or dead device delays nobody.  The hosts file
is read when the service starts; a mistake in it is a state the Fleet view shows (file:line: what).
With ``[fleet] prometheus`` set, a round is one query to that Prometheus instead (console/fleet/prometheus.py);
without a hosts file the devices are then the ones Prometheus scrapes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from console.config_error import ConfigError
from console.fleet.hosts import Device, load_hosts
from console.fleet.poll import new_client, read_device
from console.fleet.prometheus import read_prometheus
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


def start_fleet(hub: Hub, hosts: str, interval: float, timeout: float, prometheus: str = "") -> None:
    """List the devices, then read them every ``interval`` until the runtime stops."""
    devices: tuple[Device, ...] = ()
    error = None
    if hosts or not prometheus:  # with Prometheus and no hosts file, its targets are the devices
        devices, error = devices_from(hosts)
    hub.emit(ev.FleetListed(devices, error))
    if prometheus and not error:
        limit = max(timeout, 0.9 * interval)  # one query for all: it may take the round
        hub.runner.spawn(
            "fleet", lambda life: asyncio.run(_poll_prometheus(hub, devices, prometheus, interval, limit, life))
        )
    elif devices:
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
            if await _rest(start, interval, life):
                return


async def _poll_prometheus(
    hub: Hub, devices: tuple[Device, ...], base: str, interval: float, timeout: float, life: Lifecycle
) -> None:
    listed: tuple[tuple[Device, ...], str | None] = (devices, None)
    async with new_client(1) as client:
        while not life.stopped:
            start = time.monotonic()
            got = await read_prometheus(client, base, devices, timeout)
            if (got.devices, got.error) != listed:  # a target came or went, Prometheus went down or came back
                listed = (got.devices, got.error)
                hub.emit(ev.FleetListed(got.devices, got.error))
            hub.emit(ev.FleetAnswered(tuple(got.answers)))
            if await _rest(start, interval, life):
                return


async def _rest(start: float, interval: float, life: Lifecycle) -> bool:
    """Wait out the round's interval; True when the runtime stops meanwhile."""
    left = interval - (time.monotonic() - start)
    return left > 0 and await asyncio.to_thread(life.stop_event.wait, left)
