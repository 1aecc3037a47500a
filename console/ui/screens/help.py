"""``?``: the keys of the screen underneath first, then the global ones, then the sources (as k9s does).

Every action the screen offers is listed, shown in its footer or not: at 80x24 a footer is cut, and
this table and the palette are where the rest are found.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

from console.keymap import HELP_BINDINGS, BindingSpec
from console.ui.actions import reachable
from console.ui.bindings import bindings, key_display
from console.ui.host import host
from console.ui.widgets.sources_panel import status_lines

SECTIONS = (("screen", "On this screen"), ("global", "Everywhere"))


class HelpScreen(ModalScreen[None]):
    BINDINGS = bindings(HELP_BINDINGS)

    def __init__(self, under: Screen) -> None:
        """``under``: the screen whose keys are listed (the one ``?`` was pressed on)."""
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static(
                "Keys (remap by id in config.toml [keys]; every action here is also in the palette)",
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
        items = reachable(self.under, self.app)
        for scope, title in SECTIONS:
            table.add_row(Text(title, style="bold"), "", "", key=f"section-{scope}")
            for item in (i for i in items if i.scope == scope):
                what = item.spec.description if item.available else Text(f"{item.spec.description} (not now)", "dim")
                table.add_row(self.shown_keys(item.spec), what, item.spec.id, key=item.spec.id)
        table.focus()

    def action_close(self) -> None:
        # not Screen.action_dismiss: every screen has that one, so the palette would offer help.close everywhere
        self.dismiss(None)
