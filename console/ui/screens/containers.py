"""Containers: every container with live stats; filter, sort (o: column, O: reverse; the header shows ▲/▼),
act (asking first, y only; the row says "stopping…" until Docker answers), inspect, logs."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Input

from console.containers import view
from console.containers.docker_source import describe
from console.keymap import CONTAINERS_BINDINGS
from console.runtime.commands import ContainerAction, Inspect
from console.runtime.state import ConsoleState
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.screens.confirm import StrictConfirmScreen
from console.ui.screens.filtering import FilterScreen
from console.ui.widgets.columns import ellipsize
from console.ui.widgets.cut_hint import CutHint
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.tables import sync_rows
from console.ui.widgets.text import LiveText

# Columns whose text changes as a container runs get the width of their widest value, so "restarting…" or
# a CPU figure going to 100% does not shift the columns to their right.  The status keeps Textual's auto
# width: at a fixed 38 cells (or the widest status seen, "Up Less than a second") the table no longer fit
# 120 columns, and the horizontal scroll bar it then needs is redrawn cell by cell with the table at each
# re-list (~3 kB; the list's idle output 525 -> 923 B/s, benchmarks/README.md).  Only the columns right of
# the status (image, ports, runtime, restart) move when its length changes.
FIXED_WIDTHS = {"state": 11, "CPU": 5, "MEM": 10, "health": 9}
STATUS_WIDTH = 38  # at most: a longer status ends in "…" (Inspect, i, has it whole)
SORT_COLUMNS = {"name": "name", "state": "state", "cpu": "CPU", "mem": "MEM", "image": "image"}
DESCENDING_FIRST = ("cpu", "mem")  # the busiest first, before O reverses it
ALREADY = {"start": ("running", "restarting"), "stop": ("exited", "created", "dead")}


class ContainersScreen(FilterScreen):
    BINDINGS = bindings(CONTAINERS_BINDINGS)
    FILTERED_TABLE = "#t-containers"

    def __init__(self) -> None:
        super().__init__()
        self.sort = "name"
        self.reverse = False

    def compose(self) -> ComposeResult:
        yield LiveText("Containers", id="title")
        yield LiveText("", id="docker-status")
        yield Input(placeholder="filter: words in name, image, state, ports (Esc clears)", id="filter")
        table: DataTable = DataTable(id="t-containers", cursor_type="row")
        for column in view.COLUMNS:  # a sortable column keeps two spaces for its arrow: its header keeps its width
            table.add_column(self._label(column, None), width=FIXED_WIDTHS.get(column), key=column)
        yield table
        yield CutHint(table)  # at 80 columns some are out of view: say so
        yield KeyHints()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(DataTable).focus()

    def show_state(self, state: ConsoleState) -> None:
        docker = state.docker
        table = self.query_one(DataTable)
        rows = view.rows(docker.containers, docker.stats, self.needle, self.sort)
        if self.reverse:
            rows.reverse()
        status_column = view.COLUMNS.index("status")
        for key, cells in rows:
            word = docker.pending_word(key)
            if word:
                cells[1] = word
            cells[status_column] = ellipsize(
                view.short_status(str(cells[status_column])), STATUS_WIDTH
            )  # Inspect: whole
        sync_rows(table, rows)
        self._headers(table)
        arrow = self._arrow()
        title = f"Containers · {len(docker.containers)} · sort: {self.sort} {arrow} (o column, O reverse)"
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

    def _arrow(self) -> str:
        descending = (self.sort in DESCENDING_FIRST) != self.reverse
        if getattr(self.app, "ascii_only", False):
            return "v" if descending else "^"
        return "▼" if descending else "▲"

    def _label(self, name: str, sorted_column: str | None) -> str:
        if name == sorted_column:
            return f"{name} {self._arrow()}"
        return f"{name}  " if name in SORT_COLUMNS.values() else name

    def _headers(self, table: DataTable) -> None:
        """The sorted column's header carries ▲ (ascending) or ▼ (descending)."""
        sorted_column = SORT_COLUMNS.get(self.sort)
        changed = False
        for key, column in table.columns.items():
            label = self._label(str(key.value), sorted_column)
            if column.label.plain != label:
                column.label = Text(label)
                changed = True
        if changed:  # DataTable caches drawn lines until its content changes; a label is not content
            table.notify_style_update()  # the public call that drops those caches
            table.refresh()

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
        self.reverse = False
        self.show_state(host(self).state)

    def action_reverse_sort(self) -> None:
        self.reverse = not self.reverse
        self.show_state(host(self).state)

    def action_container(self, action: str) -> None:
        chosen = self.selected()
        if chosen is None:
            self.notify("No container selected.", severity="warning")
            return
        cid, name = chosen
        refusal = self._refusal(action, cid, name)
        if refusal:
            self.notify(refusal, severity="warning", timeout=3)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                host(self).send(ContainerAction(action, cid, name))

        if action == "start":
            answered(True)  # starting is not destructive
        else:  # stop/restart/remove interrupt or destroy: only y says yes, Enter and Esc cancel
            self.app.push_screen(StrictConfirmScreen(f"{action.title()} {name}?", describe(action, name)), answered)

    def _refusal(self, action: str, cid: str, name: str) -> str:
        """Why ``action`` would do nothing now ("already stopped", a stop under way), else "".  Decided on
        the runtime's state, not the frozen one shown while paused (``p``)."""
        docker = host(self).runtime.state.docker
        word = docker.pending_word(cid)
        if word:
            return f"{name} is {word} wait until Docker answers."
        container = next((c for c in docker.containers if c.id == cid), None)
        if container is not None and container.state in ALREADY.get(action, ()):
            return f"{name} is already {'running' if action == 'start' else 'stopped'}."
        return ""

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
