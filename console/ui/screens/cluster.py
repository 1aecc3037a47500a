"""Cluster: two devices of the fleet serving one model (Ray, or vLLM's Ray-free multi-node mode).

The cluster ``jetconsole cluster up`` (or this screen) started, read every few seconds while the screen
is shown: each node's container and the last lines of its server's log, Ray's nodes with their resources,
the head server's health and figures.  ``p`` runs the preflight on both nodes (``L`` with the link test),
``u`` runs ``up`` again, ``d`` takes both nodes down; both ask first, showing what will run.  ``n`` plans a
new cluster from the fleet's devices.  What a running operation says appears as it comes.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable

from console.cluster.plan import lines
from console.cluster.state import ClusterState
from console.cluster.status import lines as status_lines
from console.keymap import CLUSTER_BINDINGS
from console.runtime.commands import ReadCluster, RunCluster
from console.runtime.state import ConsoleState
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.screens.confirm import ConfirmScreen
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.tables import sync_rows
from console.ui.widgets.text import LiveText

READ_EVERY_S = 5.0
STATUS = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


class ClusterView(VerticalScroll):
    """The screen's body (scrolls on a small terminal)."""


class ClusterScreen(Screen):
    BINDINGS = bindings(CLUSTER_BINDINGS)
    DEFAULT_CSS = """
    ClusterScreen #cluster-nodes { height: auto; }
    ClusterScreen #cluster-checks { height: auto; max-height: 20; }
    ClusterScreen LiveText { height: auto; }
    ClusterScreen #cluster-said { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield LiveText("Cluster", id="title")
        with ClusterView():
            yield LiveText("", id="cluster-plan")
            nodes: DataTable = DataTable(id="cluster-nodes", cursor_type="row")
            nodes.add_columns("role", "device", "interface", "container", "last log line")
            yield nodes
            yield LiveText("", id="cluster-ray")
            yield LiveText("", id="cluster-server")
            yield LiveText("", id="cluster-op")
            checks: DataTable = DataTable(id="cluster-checks", cursor_type="row")
            checks.add_columns("", "check", "evidence")
            yield checks
            yield LiveText("", id="cluster-said")
        yield KeyHints()

    def on_mount(self) -> None:
        host(self).send(ReadCluster())
        self.set_interval(READ_EVERY_S, self._read)
        self.show_state(host(self).state)

    def _read(self) -> None:
        cluster = host(self).state.cluster
        if cluster is None or not cluster.busy:  # an operation reads again when it ends
            host(self).send(ReadCluster())

    def show_state(self, state: ConsoleState) -> None:
        c = state.cluster or ClusterState()
        rec = c.record
        title = self.query_one("#title", LiveText)
        plan_box = self.query_one("#cluster-plan", LiveText)
        if rec is None:
            title.set("Cluster · none started from here")
            plan_box.set(
                (c.note or "reading…")
                + "\nn: plan one from the fleet's devices (or `jetconsole cluster plan|preflight|up` in a shell)"
            )
        else:
            p = rec.plan
            title.set(f"Cluster · {p.preset.name} ({p.preset.mode}) · {rec.url}")
            plan_box.set(f"{p.preset.model} on {p.preset.image}" + (f"\n{c.note}" if c.note else ""))
        status = c.status
        rows = []
        if rec is not None:
            for i, node in enumerate((rec.plan.head, rec.plan.worker)):
                seen = status.nodes[i] if status is not None else None
                role = "head" if i == 0 else "worker"
                container = seen.container if seen is not None else "…"
                style = "green" if container.startswith("running") else "bold red" if seen is not None else ""
                last = seen.log[-1] if seen is not None and seen.log else ""
                cells = [  # Text, never markup: a log line's "[rank0]" or "[/data]" is text
                    Text(role),
                    Text(node.device),
                    Text(f"{node.interface} {node.ip}"),
                    Text(container, style=style),
                    Text(last[-90:]),
                ]
                rows.append((role, cells))
        sync_rows(self.query_one("#cluster-nodes", DataTable), rows)
        shown = status_lines(status) if status is not None else []
        self.query_one("#cluster-ray", LiveText).set(next((line for line in shown if line.startswith("ray")), ""))
        self.query_one("#cluster-server", LiveText).set(next((ln for ln in shown if ln.startswith("server")), ""))
        op = f"{c.busy}… (running)" if c.busy else c.result
        self.query_one("#cluster-op", LiveText).set(op)
        checks = [
            (f"{i}", [Text(k.status, style=STATUS.get(k.status, "")), Text(k.title), Text("; ".join(k.evidence)[:160])])
            for i, k in enumerate(c.checks)
        ]
        table = self.query_one("#cluster-checks", DataTable)
        table.display = bool(checks)
        sync_rows(table, checks)
        self.query_one("#cluster-said", LiveText).set("\n".join(c.said[-20:]))

    def _cluster(self) -> ClusterState:
        return host(self).state.cluster or ClusterState()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        host(self).send(ReadCluster())

    def action_preflight(self, link_test: bool) -> None:
        if self._cluster().record is None:
            self.notify("no cluster to check: n plans one", severity="warning")
        elif not self._cluster().busy:
            host(self).send(RunCluster("preflight", link_test))

    def action_up(self) -> None:
        c = self._cluster()
        if c.record is None:
            self.action_new_plan()
            return
        if c.busy:
            return
        shown = "\n".join(f"{device}: {line}" for device, node in lines(c.record.plan).items() for line in node)
        self.app.push_screen(
            ConfirmScreen("Start both nodes (up)?", f"{shown}\n\nthen follow the server to /health 200"),
            lambda yes: host(self).send(RunCluster("up")) if yes else None,
        )

    def action_down(self) -> None:
        c = self._cluster()
        if c.record is None or c.busy:
            return
        p = c.record.plan
        text = (
            f"On {p.head.device} and {p.worker.device}: everything in the container jetconsole-cluster is asked to "
            "end (vllm serve, Ray), then the container is removed; then each node is checked for what is left."
        )
        self.app.push_screen(
            ConfirmScreen("Take both nodes down?", text),
            lambda yes: host(self).send(RunCluster("down")) if yes else None,
        )

    def action_new_plan(self) -> None:
        from console.ui.screens.cluster_form import ClusterFormScreen

        if self._cluster().record is not None:  # refused before the form is filled, not after
            self.notify("a cluster is recorded: d takes it down first, then n plans another", severity="warning")
            return
        self.app.push_screen(ClusterFormScreen())
