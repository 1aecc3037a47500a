"""``?``: every binding with its current keys (after the user's keymap), and the sources."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from console.keymap import ALL_BINDINGS, HELP_BINDINGS, BindingSpec
from console.ui.bindings import bindings, key_display
from console.ui.host import host
from console.ui.widgets.sources_panel import status_lines


class HelpScreen(ModalScreen[None]):
    BINDINGS = bindings(HELP_BINDINGS)

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static(
                "Keys (remap by id in config.toml [keys]; every action is also in the palette)",
                classes="table-title",
                markup=False,
            )
            table: DataTable = DataTable(id="help-keys", cursor_type="row")
            table.add_columns("keys", "action", "id")
            yield table
            yield Static("Sources", classes="table-title", markup=False)
            yield Static(status_lines(host(self).state.telemetry.statuses()), id="help-sources", markup=False)
            yield Static(f"{self.shown_keys(HELP_BINDINGS[0])} closes", markup=False)

    def shown_keys(self, spec: BindingSpec) -> str:
        """The keys ``spec`` has now (the user's keymap first), as the footer writes them."""
        keys = host(self).keymap_overrides.get(spec.id, spec.keys)
        return ", ".join(key_display(self.app, k) for k in keys.split(","))

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for spec in ALL_BINDINGS:
            table.add_row(self.shown_keys(spec), spec.description, spec.id)
        table.focus()

    def action_close(self) -> None:
        # not Screen.action_dismiss: every screen has that one, so the palette would offer help.close everywhere
        self.dismiss(None)
