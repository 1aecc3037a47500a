"""At start, the cluster ``jetconsole cluster up`` recorded, if there is one: its server joins the servers list.
Only the record file is read (no SSH), and only its module is loaded: the app's first seconds stay light
(the Cluster screen's service, console/runtime/services/cluster.py, loads the rest when it is opened)."""

from __future__ import annotations

import time

from console.cluster import record
from console.runtime import events as ev
from console.runtime.hub import Hub


def record_at_start(hub: Hub) -> None:
    """At start: the recorded cluster, if there is one, without asking its nodes (its server joins the list)."""
    try:
        rec = record.load()
    except ValueError:
        return  # the Cluster screen says what is wrong with the file
    if rec is not None:
        hub.emit(ev.ClusterRead(rec, "", None, time.monotonic()))
