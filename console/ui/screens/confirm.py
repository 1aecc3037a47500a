"""A yes/no question that says exactly what will happen; Enter/y confirms, Esc/n cancels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self._title, self._text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(self._title, classes="table-title", markup=False)
            yield Static(self._text, id="confirm-text", markup=False)
            yield Static("y / Enter: do it    n / Esc: cancel", markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TextScreen(ModalScreen[None]):
    """Read-only text (inspect output) in a scrollable box; Esc closes."""

    BINDINGS = [Binding("escape,q", "close", "Close", id="text.close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self._title, self._text = title, text

    def compose(self) -> ComposeResult:
        from textual.containers import VerticalScroll

        with Vertical(id="textbox"):
            yield Static(self._title, classes="table-title", markup=False)
            with VerticalScroll():
                yield Static(self._text, id="text-body", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
