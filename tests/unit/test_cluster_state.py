"""The cluster in the runtime's state (issue 17): what the Cluster screen shows, and the recorded cluster's
server in the servers list like any other (added with the record, taken out with it, a configured URL
left alone)."""

from __future__ import annotations

import time

from console.cluster.plan import ClusterPlan, Node
from console.cluster.presets import BUILTIN
from console.cluster.record import Record
from console.doctor.check import Check
from console.runtime import events as ev
from console.runtime.reducer import reduce
from console.runtime.state import ConsoleState, ServersState, server_rows

PLAN = ClusterPlan(Node("orin-a", "eth1", "10.10.0.1"), Node("orin-b", "eth1", "10.10.0.2"), BUILTIN["nnodes"])
URL = "http://orin-a:8000/v1"


def test_the_clusters_server_joins_the_servers_list_and_leaves_with_its_record() -> None:
    s = ConsoleState(servers=ServersState(configured=("http://127.0.0.1:8000/v1",)))
    s = reduce(s, ev.ClusterRead(Record(PLAN, URL, 0.0), "", None, time.monotonic()))
    assert s.servers.configured == ("http://127.0.0.1:8000/v1", URL)
    assert [r.url for r in server_rows(s)] == ["http://127.0.0.1:8000/v1", URL]
    s = reduce(s, ev.ClusterRead(Record(PLAN, URL, 0.0), "", None, time.monotonic()))  # read again: once
    assert s.servers.configured == ("http://127.0.0.1:8000/v1", URL)
    s = reduce(s, ev.ClusterRead(None, "no cluster was started from here", None, time.monotonic()))
    assert s.servers.configured == ("http://127.0.0.1:8000/v1",)


def test_a_url_the_config_lists_is_left_alone() -> None:
    s = ConsoleState(servers=ServersState(configured=(URL,)))
    s = reduce(s, ev.ClusterRead(Record(PLAN, URL, 0.0), "", None, time.monotonic()))
    s = reduce(s, ev.ClusterRead(None, "gone", None, time.monotonic()))
    assert s.servers.configured == (URL,)


def test_an_operation_its_lines_and_checks() -> None:
    s = reduce(ConsoleState(), ev.ClusterBegan("preflight"))
    assert s.cluster is not None and s.cluster.busy == "preflight"
    for n in range(250):
        s = reduce(s, ev.ClusterSaid(f"line {n}"))
    assert s.cluster is not None and len(s.cluster.said) == 200 and s.cluster.said[-1] == "line 249"
    check = Check("link.mtu", "MTU", "ok")
    s = reduce(s, ev.ClusterEnded("preflight: 0 failures", (check,)))
    assert s.cluster is not None and (s.cluster.busy, s.cluster.checks, s.cluster.runs) == ("", (check,), 1)
    s = reduce(s, ev.ClusterBegan("down"))  # the last preflight's checks stay beside a down
    s = reduce(s, ev.ClusterEnded("down: both nodes clean"))
    assert s.cluster is not None and s.cluster.checks == (check,) and s.cluster.result == "down: both nodes clean"
