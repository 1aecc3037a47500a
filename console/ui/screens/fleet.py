"""Fleet: every device of the hosts file in one list, read from its agent every second.

One row per device (raised help flags first): up, stale with the age of its last figures, or
unreachable; the server's phase, tok/s, running/waiting, GPU, memory, temperature, power and the flag.
The totals line is above; ``/`` filters, ``o``/``O`` sort, Enter shows the device's latest answer.
Opening the screen starts the reading (a start without it reads no fleet).
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Input

from console.fleet.state import FleetState
from console.fleet.view import HEADERS, FleetRow, cells, rows, totals, totals_line
from console.keymap import FLEET_BINDINGS
from console.runtime.commands import WatchFleet
from console.runtime.state import ConsoleState
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.screens.filtering import FilterScreen
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.tables import sync_rows
from console.ui.widgets.text import LiveText

SORTS: dict[str, tuple[str, bool]] = {  # column -> (FleetRow field, descending): every column sorts
    "flag": ("flag", True),
    "device": ("name", False),
    "state": ("condition", False),
    "server": ("phase", False),
    "tok/s": ("gen_tps", True),
    "run/wait": ("running", True),
    "GPU": ("gpu_pct", True),
    "memory": ("mem_used_gib", True),
    "temp": ("temp_c", True),
    "power": ("power_w", True),
    "via": ("via", False),
}


def sort_rows(listed: list[FleetRow], sort: str, reverse: bool) -> list[FleetRow]:
    """``listed`` (flags first already) by ``sort``; a device without the figure goes last."""
    if sort == "flag":
        return list(reversed(listed)) if reverse else listed
    field, descending = SORTS[sort]
    present = [r for r in listed if getattr(r, field) is not None]
    absent = [r for r in listed if getattr(r, field) is None]
    present.sort(key=lambda r: getattr(r, field), reverse=descending != reverse)
    return present + absent


class FleetScreen(FilterScreen):
    BINDINGS = bindings(FLEET_BINDINGS)
    FILTERED_TABLE = "#t-fleet"

    def __init__(self) -> None:
        super().__init__()
        self.sort = "flag"
        self.reverse = False
        self._shown: list[FleetRow] = []

    def compose(self) -> ComposeResult:
        yield LiveText("Fleet", id="title")
        yield LiveText("", id="fleet-status")
        yield Input(placeholder="filter: words in name, group, model, state (Esc clears)", id="filter")
        table: DataTable = DataTable(id="t-fleet", cursor_type="row")
        for header in HEADERS:
            table.add_column(header, key=header)
        yield table
        yield KeyHints()

    def on_mount(self) -> None:
        host(self).send(WatchFleet())
        super().on_mount()
        self.query_one(DataTable).focus()
        self.set_interval(1.0, lambda: self.show_state(host(self).state))  # ages move on between answers

    def show_state(self, state: ConsoleState) -> None:
        fleet = state.fleet or FleetState()
        interval = host(self).config.fleet_interval
        every = rows(fleet, time.monotonic(), interval)
        listed = every
        if self.needle:
            words = self.needle.lower().split()
            listed = [r for r in listed if all(w in _haystack(r) for w in words)]
        listed = sort_rows(listed, self.sort, self.reverse)
        self._shown = listed
        table = self.query_one(DataTable)
        sync_rows(table, [(r.name, [_cell(c, r) for c in cells(r)]) for r in listed])
        arrow = "▼" if (SORTS[self.sort][1] != self.reverse) else "▲"
        summary = totals_line(totals(every))  # the whole fleet's, whatever the filter shows
        self.query_one("#title", LiveText).set(f"Fleet · {summary} · sort: {self.sort} {arrow} (o, O)")
        if fleet.error:
            status = fleet.error
        elif fleet.devices and not fleet.status:
            status = f"reading {len(fleet.devices)} devices…"
        elif not fleet.devices and state.fleet is None:
            status = "starting…"
        else:
            status = ""
        self.query_one("#fleet-status", LiveText).set(status)

    def action_sort(self) -> None:
        names = list(SORTS)
        self.sort = names[(names.index(self.sort) + 1) % len(names)]
        self.reverse = False
        self.show_state(host(self).state)

    def action_reverse_sort(self) -> None:
        self.reverse = not self.reverse
        self.show_state(host(self).state)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a column's header sorts by it; a second click turns the order round."""
        column = str(event.column_key.value)
        if column not in SORTS:
            return
        self.reverse = not self.reverse if column == self.sort else False
        self.sort = column
        self.show_state(host(self).state)

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        """Enter on a row: the table takes the key, and says so with this message."""
        self.action_open_device()

    def action_open_device(self) -> None:
        table = self.query_one(DataTable)
        if not self._shown or table.cursor_row >= len(self._shown):
            return
        from console.ui.screens.confirm import TextScreen

        row = self._shown[table.cursor_row]
        self.app.push_screen(TextScreen(f"Fleet · {row.name}", device_text(row)))


def device_text(row: FleetRow) -> str:
    lines = [f"{header}: {value}" for header, value in zip(HEADERS, cells(row), strict=True) if value]
    if row.error:
        lines.append(f"latest read: {row.error}")
    if row.flag and row.flag_since:
        lines.append(f"help flag raised {time.strftime('%H:%M:%S', time.localtime(row.flag_since))}")
    return "\n".join(lines)


def _haystack(row: FleetRow) -> str:
    return " ".join((row.name, row.group, row.model, row.phase, row.condition)).lower()


def _cell(text: str, row: FleetRow) -> Text:
    if row.flag:
        return Text(text, style="bold reverse")
    if row.condition != "up":
        return Text(text, style="dim")
    return Text(text)
