"""The Cluster screen's work, off the UI's loop: reading the recorded cluster's status, and running ``up``,
``down`` or a preflight on it (or ``up`` on a new plan), each line they say emitted as it comes.  The same
code as ``jetconsole cluster`` (console/cluster/); a failed ``up`` takes both nodes down again, as the CLI
does, and the app quitting mid-way cancels the operation and takes them down too."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from console.cluster import record
from console.cluster.nodes import Link
from console.cluster.plan import ClusterPlan
from console.cluster.planning import (
    PlanRequest,
    devices_of,
    health,
    link_of,
    make_plan,
    offer,
    preflight,
    server_answer,
    server_url,
)
from console.cluster.session import ERRORS, NoCluster, bring_up, recorded, refuse_if_recorded, take_down
from console.cluster.status import status
from console.cluster.up import UpResult
from console.fleet.hosts import Device
from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Lifecycle
from console.runtime.sanitise import clean

if TYPE_CHECKING:
    from console.config import Config


def read(hub: Hub, config: Config) -> None:
    hub.emit(asyncio.run(_read(config)))


async def _read(config: Config) -> ev.ClusterRead:
    try:
        rec, devices = recorded(config)
    except NoCluster as exc:
        return ev.ClusterRead(None, str(exc), None, time.monotonic())
    except ERRORS as exc:
        try:  # the record may be good and the hosts file not: show the record with what is wrong
            rec_only = record.load()
        except ValueError:
            rec_only = None
        return ev.ClusterRead(rec_only, clean(str(exc)), None, time.monotonic())
    got = await status(rec.plan, link_of(config, devices), server_answer(rec.url))
    return ev.ClusterRead(rec, "", got, time.monotonic())


def offer_nodes(hub: Hub, config: Config, names: tuple[str, ...]) -> None:
    """The devices with ssh= of the hosts file, and what ``names`` of them offer (read over SSH at once)."""
    try:
        _, devices = devices_of(config)
    except ERRORS as exc:
        hub.emit(ev.ClusterOffered((), (), clean(str(exc))))
        return
    usable = tuple(sorted(name for name, d in devices.items() if d.ssh))
    asked = [devices[n] for n in dict.fromkeys(names) if n in usable]

    async def all_of() -> list[tuple[bool, str]]:
        return list(await asyncio.gather(*(offer(config, d) for d in asked)))

    said = asyncio.run(all_of()) if asked else []
    offers = tuple((d.name, ok, clean(text)) for d, (ok, text) in zip(asked, said, strict=True))
    hub.emit(ev.ClusterOffered(usable, offers))


def run(hub: Hub, config: Config, what: str, link_test: bool, request: PlanRequest | None, life: Lifecycle) -> None:
    """``what`` (up | down | preflight) from start to end; the state says each line, then the result."""
    hub.emit(ev.ClusterBegan(what))

    def say(text: str) -> None:
        hub.emit(ev.ClusterSaid(clean(text)))

    async def until_stopped() -> None:
        work = asyncio.create_task(_operate(config, what, link_test, request, say, hub))
        loop = asyncio.get_running_loop()

        def cancel() -> None:  # from the thread that stops the runtime
            with contextlib.suppress(RuntimeError):  # the loop already closed: the operation had ended
                loop.call_soon_threadsafe(work.cancel)

        life.on_stop(cancel)
        await asyncio.wait({work})
        if work.cancelled():
            hub.emit(ev.ClusterEnded(f"{what}: stopped (the app quit)"))
        else:
            work.result()

    try:
        asyncio.run(until_stopped())
    except Exception as exc:  # noqa: BLE001 - an operation that breaks is said, never the app's end
        hub.emit(ev.ClusterEnded(clean(f"{what} failed: {type(exc).__name__}: {exc}")))


async def _operate(
    config: Config, what: str, link_test: bool, request: PlanRequest | None, say: Callable[[str], None], hub: Hub
) -> None:
    try:
        plan, devices, url = await _plan(config, request)
    except ERRORS as exc:
        hub.emit(ev.ClusterEnded(clean(f"{what}: {exc}")))
        return
    link = link_of(config, devices)
    if request is not None:  # a new plan is kept (the screen shows it; u brings it up)
        record.save(record.Record(plan, url, time.time()))
    if what == "preflight":
        found, seconds = await preflight(config, plan, link, link_test)
        fails = sum(c.status == "fail" for c in found)
        warns = sum(c.status == "warn" for c in found)
        summary = f"preflight: {fails} failures, {warns} warnings ({seconds:.1f} s)"
        hub.emit(ev.ClusterEnded(summary, tuple(found)))
    elif what == "down":
        hub.emit(ev.ClusterEnded(await _down(plan, link, say)))
    else:
        await _up(plan, link, health(url), say, hub)


async def _plan(config: Config, request: PlanRequest | None) -> tuple[ClusterPlan, dict[str, Device], str]:
    """The request's new plan, else the recorded one; with the hosts file's devices and the server's URL."""
    if request is not None:
        refuse_if_recorded()  # n on a cluster that is up would lose its nodes: d first
        plan, devices = await make_plan(config, request)
        return plan, devices, server_url(None, plan, devices[plan.head.device])
    rec, devices = recorded(config)
    return rec.plan, devices, rec.url


async def _up(
    plan: ClusterPlan, link: Link, ready: Callable[[], Awaitable[bool]], say: Callable[[str], None], hub: Hub
) -> None:
    def told(result: UpResult) -> None:
        for line in result.cause.lines() if result.cause else ():
            say(line)

    result = await bring_up(plan, link, ready, say, told)
    cause = result.cause
    ended = f"failed: {cause.title} [{cause.key}]" if cause else "ready"
    hub.emit(ev.ClusterEnded(f"{ended} ({result.timing})"))


async def _down(plan: ClusterPlan, link: Link, say: Callable[[str], None]) -> str:
    nodes = await take_down(plan, link, say)
    return "down: both nodes clean" if all(n.clean for n in nodes) else "down: not finished (see above); d again"
