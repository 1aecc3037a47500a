"""``?``: every binding with its current keys (after the user's keymap), and the sources."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from console.keymap import ALL_BINDINGS
from console.ui.widgets.sources_panel import status_lines


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

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
            yield Static(status_lines(self.app.state.statuses()), id="help-sources", markup=False)  # type: ignore[attr-defined]
            yield Static("Esc, q or ? closes", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        overrides = self.app.keymap_overrides  # type: ignore[attr-defined]
        for spec in ALL_BINDINGS:
            keys = overrides.get(spec.id, spec.keys)
            shown = ", ".join(self.app.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))
            table.add_row(shown, spec.description, spec.id)
        table.focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
