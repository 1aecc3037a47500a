"""The `/` filter box that screens with a table share: open, live filter, Esc clears, Esc again leaves."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import DataTable, Input

from console.runtime.state import ConsoleState
from console.ui.host import host


class FilterScreen(Screen):
    """A screen with an ``Input#filter`` narrowing ``FILTERED_TABLE``; subclasses define
    ``show_state`` (called on every keystroke in the box)."""

    FILTERED_TABLE = "DataTable"

    @property
    def needle(self) -> str:
        return self.query_one("#filter", Input).value.strip()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.show_state(host(self).state)

    def on_screen_resume(self) -> None:
        self.show_state(host(self).state)

    def show_state(self, state: ConsoleState) -> None:
        raise NotImplementedError

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.show_state(host(self).state)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.focus_results()

    def focus_results(self) -> None:
        """Where the keys go when the filter box closes: the table, unless a screen shows another view."""
        self.query_one(self.FILTERED_TABLE, DataTable).focus()

    def action_back(self) -> None:
        """Esc: first close and clear the filter, then leave the screen."""
        box = self.query_one("#filter", Input)
        if box.display and (box.has_focus or box.value):
            box.value = ""
            box.display = False
            self.focus_results()
            return
        self.app.pop_screen()
