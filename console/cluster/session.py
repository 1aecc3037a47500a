"""What ``jetconsole cluster`` and the Cluster screen do alike around a recorded cluster: find it with its
nodes' devices, bring it up (taking both nodes down again after a failure, an unexpected error or a
cancel), and take both nodes down (the record forgotten once both are clean)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from console.cluster import record
from console.cluster.causes import Cause
from console.cluster.down import NodeDown, down, report
from console.cluster.nodes import Link
from console.cluster.plan import ClusterPlan
from console.cluster.planning import PlanError, devices_of
from console.cluster.up import Limits, Up, UpResult
from console.config_error import ConfigError
from console.fleet.hosts import Device
from console.runtime.sanitise import clean

if TYPE_CHECKING:
    from console.config import Config

NONE_HERE = "no cluster was started from here"


class NoCluster(ValueError):
    """Why there is no recorded cluster to act on, in a user's words."""


def recorded(config: Config) -> tuple[record.Record, dict[str, Device]]:
    """The recorded cluster and the hosts file's devices; NoCluster when there is none, ValueError (or
    ConfigError, PlanError) when the record, the hosts file or a node's device is wrong."""
    rec = record.load()
    if rec is None:
        raise NoCluster(NONE_HERE)
    _, devices = devices_of(config)
    missing = [n.device for n in (rec.plan.head, rec.plan.worker) if n.device not in devices]
    if missing:
        raise PlanError(f"{', '.join(missing)} not in the hosts file ([fleet] hosts)")
    return rec, devices


async def take_down(plan: ClusterPlan, link: Link, say: Callable[[str], None]) -> tuple[NodeDown, NodeDown]:
    """Both nodes down, a line said for each; the record forgotten when both are clean."""
    nodes = await down(plan, link)
    for line in report(nodes):
        say(line)
    if all(n.clean for n in nodes):
        record.forget()
    return nodes


ERRORS = (ValueError, ConfigError)  # NoCluster and PlanError are ValueErrors


def refuse_if_recorded() -> None:
    """PlanError when a cluster is recorded already: a second plan would lose the first one's nodes."""
    rec = record.load()
    if rec is not None:
        p = rec.plan
        raise PlanError(
            f"a cluster is recorded already ({p.head.device} + {p.worker.device}, {p.preset.name}): "
            "`jetconsole cluster status` shows it, `down` takes it down first"
        )


async def bring_up(
    plan: ClusterPlan,
    link: Link,
    ready: Callable[[], Awaitable[bool]],
    say: Callable[[str], None],
    told: Callable[[UpResult], None],
    limits: Limits | None = None,
    keep: bool = False,
) -> UpResult:
    """``up``'s phases, its result handed to ``told`` as soon as it is known; after a failure both nodes are
    then taken down (unless ``keep``, or the failure is a cluster already up there, which is left alone);
    a cancel (Ctrl-C, the app quitting) takes them down before it goes on."""
    try:
        result = await Up(plan, link, ready, say, limits or Limits()).run()
    except asyncio.CancelledError:
        say("interrupted: taking both nodes down")
        await asyncio.shield(take_down(plan, link, say))
        raise
    except Exception as exc:  # noqa: BLE001 - whatever broke, the nodes are not left half up
        cause = Cause("unexpected", f"up stopped: {type(exc).__name__}", clean(str(exc))[:300], "both nodes go down")
        result = UpResult((), cause)
    told(result)
    if result.ok:
        return result
    assert result.cause is not None
    if result.cause.key == "already-up":
        say("the cluster already there is left as it is")
    elif keep:
        say("--keep: both nodes left as they are; `jetconsole cluster status`, then `down`")
    else:
        say("taking both nodes down")
        await asyncio.shield(take_down(plan, link, say))  # a Ctrl-C now does not cut it short
    return result
