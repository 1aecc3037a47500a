"""Containers: every container with live stats; filter, sort, act (asking first), inspect, logs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Input

from console.containers import view
from console.containers.docker_source import describe
from console.keymap import CONTAINERS_BINDINGS
from console.runtime.commands import ContainerAction, Inspect
from console.runtime.state import ConsoleState
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.screens.confirm import ConfirmScreen
from console.ui.screens.filtering import FilterScreen
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.tables import sync_rows
from console.ui.widgets.text import LiveText


class ContainersScreen(FilterScreen):
    BINDINGS = bindings(CONTAINERS_BINDINGS)
    FILTERED_TABLE = "#t-containers"

    def __init__(self) -> None:
        super().__init__()
        self.sort = "name"

    def compose(self) -> ComposeResult:
        yield LiveText("Containers", id="title")
        yield LiveText("", id="docker-status")
        yield Input(placeholder="filter: words in name, image, state, ports (Esc clears)", id="filter")
        table: DataTable = DataTable(id="t-containers", cursor_type="row")
        table.add_columns(*view.COLUMNS)
        yield table
        yield KeyHints()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(DataTable).focus()

    def show_state(self, state: ConsoleState) -> None:
        docker = state.docker
        table = self.query_one(DataTable)
        sync_rows(table, view.rows(docker.containers, docker.stats, self.needle, self.sort))
        title = f"Containers · {len(docker.containers)} · sort: {self.sort} (o)"
        if self.needle:
            title += f" · filter: {self.needle!r} ({table.row_count} shown)"
        self.query_one("#title", LiveText).set(title)
        if docker.error:
            status = f"Docker: {docker.error}" + (f" → {docker.hint}" if docker.hint else "")
        elif not docker.connected:
            status = "Docker: connecting…"
        elif not docker.containers:
            status = "No containers on this daemon."
        else:
            status = ""
        self.query_one("#docker-status", LiveText).set(status)

    def selected(self) -> tuple[str, str] | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        name = str(table.get_row(key)[0]) if key else ""
        return (str(key), name) if key else None

    # ---- actions ------------------------------------------------------------------------
    def action_sort(self) -> None:
        self.sort = view.SORTS[(view.SORTS.index(self.sort) + 1) % len(view.SORTS)]
        self.show_state(host(self).state)

    def action_container(self, action: str) -> None:
        chosen = self.selected()
        if chosen is None:
            self.notify("No container selected.", severity="warning")
            return
        cid, name = chosen

        def answered(yes: bool | None) -> None:
            if yes:
                host(self).send(ContainerAction(action, cid, name))

        if action == "start":
            answered(True)  # starting is not destructive
        else:
            self.app.push_screen(ConfirmScreen(f"{action.title()} {name}?", describe(action, name)), answered)

    def action_inspect(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            host(self).send(Inspect(*chosen))

    def action_launch(self) -> None:
        from console.ui.screens.launch import LaunchScreen

        self.app.push_screen(LaunchScreen())

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_logs()  # Enter on a row (the table binds Enter itself)

    def action_logs(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            from console.ui.screens.logs import LogsScreen

            self.app.push_screen(LogsScreen(*chosen))
