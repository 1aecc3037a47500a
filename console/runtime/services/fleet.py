"""The fleet: every device's agent read each interval, as one asyncio round in one thread.

Answers reach the state in batches as they come (at most every ``FLUSH_S``), so nine fast devices are
shown while the tenth runs into its time limit, and a slow or dead device delays nobody.  The hosts file
is read when the service starts; a mistake in it is a state the Fleet view shows (file:line: what).
With ``[fleet] prometheus`` set, a round is one query to that Prometheus instead (console/fleet/prometheus.py);
without a hosts file the devices are then the ones Prometheus scrapes.  Devices without an agent are read
over SSH in a loop of their own (every ``ssh_interval``), so a slow SSH read never delays the agents'.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from console.config_error import ConfigError
from console.fleet.device import DeviceDetail, detail
from console.fleet.hosts import Device, load_hosts
from console.fleet.poll import get_json, new_client, read_device, token_for
from console.fleet.prometheus import read_prometheus
from console.fleet.reading import BadAnswer
from console.fleet.ssh import SshSettings, read_over_ssh
from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Lifecycle
from console.runtime.sanitise import clean

FLUSH_S = 0.1


def devices_from(hosts: str) -> tuple[tuple[Device, ...], str | None]:
    """The devices of the hosts file ``hosts`` ("" = none), or () and why not."""
    if not hosts:
        return (), "no devices: set [fleet] hosts in config.toml to a hosts file (README, Fleet)"
    try:
        return load_hosts(Path(hosts).expanduser()), None
    except ConfigError as exc:
        return (), str(exc)


def start_fleet(
    hub: Hub, hosts: str, interval: float, timeout: float, prometheus: str = "", ssh: SshSettings | None = None
) -> None:
    """List the devices, then read them every ``interval`` until the runtime stops."""
    devices: tuple[Device, ...] = ()
    error = None
    if hosts or not prometheus:  # with Prometheus and no hosts file, its targets are the devices
        devices, error = devices_from(hosts)
    hub.emit(ev.FleetListed(devices, error))
    if error:
        return
    agents = tuple(d for d in devices if d.url)
    others = tuple(d for d in devices if not d.url)
    limit = max(timeout, 0.9 * interval)  # one query for all: it may take the round
    loops: list[Callable[[Lifecycle], Awaitable[None]]] = []
    if prometheus:
        loops.append(lambda life: _poll_prometheus(hub, agents, devices, prometheus, interval, limit, life))
    elif agents:
        loops.append(lambda life: _poll(hub, agents, interval, timeout, life))
    if others:
        loops.append(lambda life: _poll_ssh(hub, others, ssh or SshSettings(), life))
    if loops:
        hub.runner.spawn("fleet", lambda life: asyncio.run(_together(loops, life)))


async def _together(loops: list[Callable[[Lifecycle], Awaitable[None]]], life: Lifecycle) -> None:
    await asyncio.gather(*(loop(life) for loop in loops))


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


async def _poll_ssh(hub: Hub, devices: tuple[Device, ...], ssh: SshSettings, life: Lifecycle) -> None:
    """Each device without an agent on its own: one SSH read every ``ssh.interval``, never two at once."""

    async def one(device: Device) -> None:
        while not life.stopped:
            start = time.monotonic()
            hub.emit(ev.FleetAnswered((await read_over_ssh(device, ssh.config, ssh.timeout),)))
            if await _rest(start, ssh.interval, life):
                return

    await asyncio.gather(*(one(d) for d in devices))


async def _poll_prometheus(
    hub: Hub,
    devices: tuple[Device, ...],
    listed_first: tuple[Device, ...],
    base: str,
    interval: float,
    timeout: float,
    life: Lifecycle,
) -> None:
    listed: tuple[tuple[Device, ...], str | None] = (listed_first, None)
    others = tuple(d for d in listed_first if not d.url)  # read over SSH: listed, never asked of Prometheus
    async with new_client(1) as client:
        while not life.stopped:
            start = time.monotonic()
            got = await read_prometheus(client, base, devices, timeout)
            shown = (listed_first if devices else got.devices + others, got.error)
            if shown != listed:  # a target came or went, Prometheus went down or came back
                listed = shown
                hub.emit(ev.FleetListed(*shown))
            hub.emit(ev.FleetAnswered(tuple(got.answers)))
            if await _rest(start, interval, life):
                return


async def _rest(start: float, interval: float, life: Lifecycle) -> bool:
    """Wait out the round's interval; True when the runtime stops meanwhile."""
    left = interval - (time.monotonic() - start)
    return left > 0 and await asyncio.to_thread(life.stop_event.wait, left)


def watch_device(hub: Hub, device: Device, interval: float, timeout: float, life: Lifecycle) -> None:
    """The device view's reads: ``device``'s whole answer every ``interval`` while the view shows it (its
    reader is stopped when the view closes or opens on another device)."""

    async def reads() -> None:
        async with new_client(1) as client:
            while not life.stopped:
                fleet = hub.state.fleet
                if fleet is None or fleet.watched != device.name:
                    return
                got, error = await read_detail(client, device, timeout)
                if not life.stopped:
                    hub.emit(ev.DeviceDetailRead(device.name, got, error))
                if await _rest(time.monotonic(), interval, life):
                    return

    asyncio.run(reads())


async def read_detail(
    client: httpx.AsyncClient, device: Device, timeout: float
) -> tuple[DeviceDetail | None, str | None]:
    """The device's whole answer, or why there is none (read up to the agent's size limit)."""
    try:
        async with asyncio.timeout(timeout):
            return detail(await get_json(client, f"{device.url}/v1/state", token_for(device), timeout)), None
    except TimeoutError:
        return None, f"no answer within {timeout:g} s"
    except httpx.ConnectError as exc:
        return None, clean("unreachable: " + (str(exc).split("] ", 1)[-1] or "cannot connect"))
    except httpx.HTTPError as exc:
        return None, clean(f"{type(exc).__name__}: {exc}")
    except BadAnswer as exc:
        return None, clean(str(exc))
    except Exception as exc:  # noqa: BLE001 - an odd answer (nested too deep, a huge number) never ends the view's reads
        return None, clean(f"bad answer: {type(exc).__name__}: {exc}")[:300]
