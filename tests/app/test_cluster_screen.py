"""The Cluster screen driven by Pilot (issue 17): `C` on the Fleet screen opens it; with no cluster it says
so and `n` opens the plan form, which names what is missing; a recorded cluster's nodes, Ray and server
are shown from the state; down asks first, saying what it will do; an operation's lines appear as they
come.  The real nodes behind it: tests/realparts/test_cluster_up.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import DataTable

from console.cluster.plan import ClusterPlan, Node
from console.cluster.presets import BUILTIN
from console.cluster.raystatus import RayStatus
from console.cluster.record import Record
from console.cluster.status import ClusterStatus, NodeStatus
from console.runtime import events as ev
from console.ui.screens.cluster import ClusterScreen
from console.ui.screens.cluster_form import ClusterFormScreen
from console.ui.screens.confirm import ConfirmScreen
from console.ui.widgets.text import LiveText
from tests.app.helpers import frozen_app, wait_for
from tests.app.test_snapshots import REPORT

PLAN = ClusterPlan(
    Node("orin-a", "eth1", "10.10.0.1"), Node("orin-b", "eth1", "10.10.0.2"), BUILTIN["orin-gpt-oss-20b"]
)
RAY = RayStatus(active=("node_1", "node_2"), used=(("CPU", 0.0, 24.0), ("GPU", 2.0, 2.0)))
STATUS = ClusterStatus(
    (
        NodeStatus("orin-a", "head", "running (0)", ("INFO: Application startup complete.",)),
        NodeStatus("orin-b", "worker", "exited (137)", ("[rank1]: mounted [/data/models] [bold]x",)),
    ),
    RAY,
    "ready",
    "run 1 wait 0 gen 11.8 tok/s",
)


def text(app, id: str) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(f"#{id}", LiveText).render())


@pytest.fixture(autouse=True)
def no_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the screen's own read finds no cluster


async def test_from_the_fleet_screen_with_no_cluster_and_the_plan_form(orin_snapshot) -> None:
    app = frozen_app([orin_snapshot], REPORT)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F", "C")
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen))
        await wait_for(pilot, lambda: "no cluster was started from here" in text(app, "cluster-plan"), timeout=10)
        assert text(app, "title") == "Cluster · none started from here"
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterFormScreen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "needed" in text(app, "form-error"))
        assert text(app, "form-error") == "head device, head interface, worker device, worker interface: needed"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen))


async def test_a_recorded_cluster_its_nodes_and_an_operation(orin_snapshot) -> None:
    app = frozen_app([orin_snapshot], REPORT, start_screen="cluster")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen))
        await wait_for(pilot, lambda: app.runtime.state.cluster is not None, timeout=10)  # its own read ended
        app.runtime.emit(ev.ClusterRead(Record(PLAN, "http://orin-a:8000/v1", 0.0), "", STATUS, time.monotonic()))
        table = app.screen.query_one("#cluster-nodes", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        assert [str(c) for c in table.get_row_at(0)] == [
            "head",
            "orin-a",
            "eth1 10.10.0.1",
            "running (0)",
            "INFO: Application startup complete.",
        ]
        assert str(table.get_row_at(1)[3]) == "exited (137)"
        assert str(table.get_row_at(1)[4]) == "[rank1]: mounted [/data/models] [bold]x"  # text, never markup
        assert text(app, "title") == "Cluster · orin-gpt-oss-20b (ray) · http://orin-a:8000/v1"
        assert text(app, "cluster-ray") == "ray: 2 nodes alive (0/24 CPU, 2/2 GPU), 0 pending"
        assert text(app, "cluster-server") == "server: ready; run 1 wait 0 gen 11.8 tok/s"

        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # nothing runs
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen))
        assert app.runtime.state.cluster is not None and app.runtime.state.cluster.busy == ""

        app.runtime.emit(ev.ClusterBegan("down"))
        app.runtime.emit(ev.ClusterSaid("orin-a: removed container jetconsole-cluster"))
        await wait_for(pilot, lambda: text(app, "cluster-op") == "down… (running)")
        assert "orin-a: removed container jetconsole-cluster" in text(app, "cluster-said")
        app.runtime.emit(ev.ClusterEnded("down: both nodes clean"))
        await wait_for(pilot, lambda: text(app, "cluster-op") == "down: both nodes clean")


async def test_the_form_lists_the_devices_and_says_what_a_named_one_offers(orin_snapshot, tmp_path: Path) -> None:
    """The hosts file's devices with ssh= are listed; a device named in full is asked over SSH (here a port
    of this machine that nothing listens on: the answer says why it has no interfaces to offer)."""
    from console.config import Config
    from console.ui.screens.cluster_form import ClusterFormScreen

    hosts = tmp_path / "hosts"
    hosts.write_text("orin-a - ssh=root@127.0.0.1\norin-b - ssh=root@127.0.0.1\nlab http://127.0.0.1:9\n")
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("Host *\n  Port 1\n  UserKnownHostsFile /dev/null\n")  # nothing listens on port 1
    config = Config(fleet_hosts=str(hosts), fleet_ssh_config=str(ssh_config))
    app = frozen_app([orin_snapshot], REPORT, config, start_screen="cluster")
    async with app.run_test(size=(120, 48)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterFormScreen))
        await wait_for(pilot, lambda: text(app, "form-devices") == "devices: orin-a, orin-b", timeout=10)
        for key in "orin-a":
            await pilot.press(key)
        await wait_for(pilot, lambda: "cannot read its interfaces" in text(app, "head-offers"), timeout=20)
        assert text(app, "head-offers").startswith("  orin-a offers: orin-a: cannot read its interfaces: ")
        assert text(app, "worker-offers") == ""
