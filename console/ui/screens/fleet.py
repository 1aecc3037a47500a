"""Fleet: every device of the hosts file, read from its agent (or Prometheus, or SSH) every second.

One row or tile per device (raised help flags first): up, stale with the age of its last figures, or
unreachable; the server's phase, tok/s, running/waiting, GPU, memory, temperature, power and the flag.
The view follows the terminal (``console.fleet.tiles.view_for``): tiles from 120x40, a dense list from
80x24, and on a smaller screen (a workshop LCD) the totals in the HUD's big type with the names of the
devices that need someone; ``v`` picks one.  The totals line is above; ``/`` filters, ``o``/``O`` sort,
Enter shows the device's latest answer.  Opening the screen starts the reading.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.widgets import DataTable, Input

from console.fleet.state import FleetState

if TYPE_CHECKING:
    from console.fleet.actions import ActionOptions
from console.fleet.tiles import AUTO, BIG, LIST, TILES, VIEWS, big_tiles, needing_someone, view_for
from console.fleet.view import HEADERS, FleetRow, cells, rows, totals, totals_line
from console.hud.layout import plan
from console.keymap import FLEET_BINDINGS
from console.runtime.commands import WatchFleet
from console.runtime.state import ConsoleState
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.screens.filtering import FilterScreen
from console.ui.screens.hud import HudTile
from console.ui.widgets.fleet_tiles import FleetTiles
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
    _runs = 0  # organiser actions asked in this app (their ids)
    FILTERED_TABLE = "#t-fleet"
    DEFAULT_CSS = """
    FleetScreen #fleet-tiles-box { height: 1fr; }
    FleetScreen #fleet-big { height: 1fr; grid-gutter: 1 2; grid-rows: auto; }
    FleetScreen #fleet-needs { height: auto; text-style: bold; color: $error; }
    FleetScreen HudTile { height: auto; color: $accent; }
    FleetScreen HudTile.-warn { color: $warning; }
    FleetScreen HudTile.-crit { color: $error; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.sort = "flag"
        self.reverse = False
        self.chosen_view = AUTO
        self.view = ""
        self._big_page = 0  # the big type's page, when its figures take more than one (a 40x12 LCD)
        self._big_pages = 1
        self.marked: set[str] = set()  # devices an action is for (space), else the one under the cursor
        self._shown: list[FleetRow] = []

    def compose(self) -> ComposeResult:
        yield LiveText("Fleet", id="title")
        yield LiveText("", id="fleet-status")
        yield Input(placeholder="filter: words in name, group, model, state (Esc clears)", id="filter")
        table: DataTable = DataTable(id="t-fleet", cursor_type="row")
        for header in HEADERS:
            table.add_column(header, key=header)
        yield table
        with VerticalScroll(id="fleet-tiles-box"):
            yield FleetTiles(id="fleet-tiles")
        yield Grid(id="fleet-big")
        yield LiveText("", id="fleet-needs")
        yield KeyHints()

    def on_mount(self) -> None:
        host(self).send(WatchFleet())
        super().on_mount()  # shows the state: the view for this size takes the focus
        self.set_interval(1.0, lambda: self.show_state(host(self).state))  # ages move on between answers
        self.set_interval(host(self).config.hud_page_seconds, self._next_big_page)

    def _next_big_page(self) -> None:
        if self.view == BIG and self._big_pages > 1:
            self._big_page = (self._big_page + 1) % self._big_pages
            self.show_state(host(self).state)

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
        if self.size.width:  # not laid out yet (mounting): the first resize picks the view
            self._set_view(view_for(self.size.width, self.size.height, self.chosen_view))
        shown = [replace(r, name=f"● {r.name}") if r.name in self.marked else r for r in listed]
        if self.view == LIST:
            sync_rows(
                self.query_one(DataTable),
                [(r.name, [_cell(c, s) for c in cells(s)]) for r, s in zip(listed, shown, strict=True)],
            )
        elif self.view == TILES:
            self.query_one(FleetTiles).show(shown)
        else:
            self._show_big(every)
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

    def _set_view(self, view: str) -> None:
        """Show the one view's widgets; the focus goes with them."""
        if view == self.view:
            return
        self.view = view
        table, tiles = self.query_one(DataTable), self.query_one(FleetTiles)
        table.display = view == LIST
        self.query_one("#fleet-tiles-box").display = view == TILES
        self.query_one("#fleet-big").display = view == BIG
        self.query_one("#fleet-needs").display = view == BIG
        box = self.query_one("#filter", Input)
        if not (box.display and box.has_focus):  # never out of the box while one types in it
            (table if view == LIST else tiles).focus()

    def focus_results(self) -> None:
        (self.query_one(FleetTiles) if self.view == TILES else self.query_one(DataTable)).focus()

    def _show_big(self, every: list[FleetRow]) -> None:
        """The totals in the HUD's big type, and who needs someone."""
        big = big_tiles(totals(every))
        needs = self.query_one("#fleet-needs", LiveText)
        needs.set(needing_someone(every, self.size.width))
        grid = self.query_one("#fleet-big", Grid)
        height = max(1, self.size.height - 4 - needs.text.count("\n"))
        laid = plan(big, self.size.width, height)
        grid.styles.grid_size_columns = laid.columns
        widgets = list(grid.query(HudTile))
        if len(widgets) != len(big):
            grid.remove_children()
            grid.mount_all([HudTile() for _ in big])
            self.call_after_refresh(lambda: self._show_big(every))
            return
        self._big_pages = len(laid.pages)
        shown = laid.pages[self._big_page % len(laid.pages)]
        for i, widget in enumerate(widgets):
            widget.display = i in shown
            widget.show(big[i], laid.scale, False, laid.tall)

    def on_resize(self) -> None:
        self.show_state(host(self).state)

    def action_next_view(self) -> None:
        """``v``: auto, then the list, the tiles, the big type, and back to auto."""
        self.chosen_view = VIEWS[(VIEWS.index(self.chosen_view) + 1) % len(VIEWS)]
        self.show_state(host(self).state)
        self.notify(f"view: {self.chosen_view}" + (f" ({self.view})" if self.chosen_view == AUTO else ""))

    def _current(self) -> FleetRow | None:
        """The device under the cursor (tiles or list)."""
        index = self.query_one(FleetTiles).selected if self.view == TILES else self.query_one(DataTable).cursor_row
        return self._shown[index] if 0 <= index < len(self._shown) and self.view != BIG else None

    def action_mark(self) -> None:
        row = self._current()
        if row is not None:
            self.marked ^= {row.name}
            self.show_state(host(self).state)

    def action_mark_all(self) -> None:
        """``M``: mark every device shown (the filter narrows them: a group, "HELP"); again: unmark them."""
        names = {r.name for r in self._shown}
        self.marked = self.marked - names if names <= self.marked else self.marked | names
        self.show_state(host(self).state)

    def action_cluster(self) -> None:
        """``C``: two of these devices serving one model."""
        from console.ui.screens.cluster import ClusterScreen

        self.app.push_screen(ClusterScreen())

    def action_actions(self) -> None:
        """``x``: an organiser action for the marked devices (or the one under the cursor), over SSH."""
        fleet = host(self).state.fleet
        run = fleet.action if fleet is not None else None
        if run is not None and run.started and not run.finished:
            from console.ui.screens.fleet_action import FleetActionScreen

            self.app.push_screen(FleetActionScreen(run.run_id))  # the running one first
            return
        current = self._current()
        names = tuple(r.name for r in self._shown if r.name in self.marked) or ((current.name,) if current else ())
        if not names:
            self.notify("no device: mark some with space, or put the cursor on one", severity="warning")
            return
        from console.fleet.actions import ACTIONS, DESCRIPTIONS
        from console.ui.screens.chat_dialogs import PickScreen

        what = f"{len(names)} device{'s' * (len(names) != 1)}" if len(names) > 1 else names[0]
        options = [(f"{a}: {DESCRIPTIONS[a]}", a) for a in ACTIONS]
        self.app.push_screen(
            PickScreen(f"Action for {what}", options), lambda a: self._options_for(a, names) if a else None
        )

    def _options_for(self, action: str, names: tuple[str, ...]) -> None:
        from console.fleet.actions import ActionOptions
        from console.ui.screens.chat_dialogs import AskScreen, PickScreen

        if action == "launch":
            from console.containers import presets

            try:
                available = presets.all_presets(host(self).config)
            except Exception as exc:  # noqa: BLE001 - a [presets] mistake: said, nothing planned
                self.notify(f"presets: {exc}", severity="error")
                return
            choices = [(f"{name}: {p.description}", name) for name, p in sorted(available.items())]

            def chosen(name: str | None) -> None:
                if name:
                    self._plan(action, names, ActionOptions(preset=name, image=available[name].image))

            self.app.push_screen(PickScreen("Which preset?", choices), chosen)
        elif action in ("push", "collect-bench"):
            here = "Directory here to copy from" if action == "push" else "Directory here to collect into"
            there = "Directory there ({name}: the device's name)"

            def source(path: str | None) -> None:
                if path:
                    self.app.push_screen(
                        AskScreen(there),
                        lambda dest: self._plan(action, names, ActionOptions(source=path, dest=dest)) if dest else None,
                    )

            self.app.push_screen(AskScreen(here), source)
        else:
            self._plan(action, names, ActionOptions())

    def _plan(self, action: str, names: tuple[str, ...], options: ActionOptions) -> None:
        from console.runtime.commands import PlanFleetAction
        from console.ui.screens.fleet_action import FleetActionScreen

        FleetScreen._runs += 1
        host(self).send(PlanFleetAction(FleetScreen._runs, action, names, options))
        self.app.push_screen(FleetActionScreen(FleetScreen._runs))

    def on_fleet_tiles_opened(self, event: FleetTiles.Opened) -> None:
        self._open(event.index)

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
        if self.view == TILES:
            self._open(self.query_one(FleetTiles).selected)
        elif self.view == LIST:
            self._open(self.query_one(DataTable).cursor_row)

    def _open(self, index: int) -> None:
        """The device, whole, read from its agent (its latest fleet answer when it is not listed)."""
        if not 0 <= index < len(self._shown):
            return
        row = self._shown[index]
        fleet = host(self).state.fleet
        device = next((d for d in fleet.devices if d.name == row.name), None) if fleet else None
        if device is None:
            from console.ui.screens.confirm import TextScreen

            self.app.push_screen(TextScreen(f"Fleet · {row.name}", device_text(row)))
            return
        from console.ui.screens.fleet_device import DeviceScreen  # on first use

        self.app.push_screen(DeviceScreen(device))


def device_text(row: FleetRow) -> str:
    lines = [f"{header}: {value}" for header, value in zip(HEADERS, cells(row), strict=True) if value]
    if row.error:
        lines.append(f"latest read: {row.error}")
    if row.flag and row.flag_since:
        lines.append(f"help flag raised {time.strftime('%H:%M:%S', time.localtime(row.flag_since))}")
    return "\n".join(lines)


def _haystack(row: FleetRow) -> str:
    return " ".join((row.name, row.group, row.model, row.phase, row.condition, "help" if row.flag else "")).lower()


def _cell(text: str, row: FleetRow) -> Text:
    if row.flag:
        return Text(text, style="bold reverse")
    if row.condition != "up":
        return Text(text, style="dim")
    return Text(text)
