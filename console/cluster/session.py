"""What ``jetconsole cluster`` and the Cluster screen do alike around a recorded cluster: find it with its
nodes' devices, and take both nodes down (the record forgotten once both are clean)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from console.cluster import record
from console.cluster.down import NodeDown, down, report
from console.cluster.nodes import Link
from console.cluster.plan import ClusterPlan
from console.cluster.planning import PlanError, devices_of
from console.config_error import ConfigError
from console.fleet.hosts import Device

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
