"""A yes/no question that says exactly what will happen; only y confirms, Esc/n cancel, Enter does nothing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.keymap import CONFIRM_BINDINGS, STRICT_CONFIRM_BINDINGS, TEXT_BINDINGS
from console.ui.bindings import bindings


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = bindings(CONFIRM_BINDINGS)

    HINT = "y: do it    n / Esc: cancel"

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self._title, self._text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(self._title, classes="table-title", markup=False)
            yield Static(self._text, id="confirm-text", markup=False)
            yield Static(self.HINT, markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class StrictConfirmScreen(ConfirmScreen, inherit_bindings=False):
    """Only ``y`` says yes: for changes to the system (daemon.json, ending processes), where the Enter that
    opened the question, pressed twice or held, must not also answer it.  (``inherit_bindings`` is a class
    keyword: as a class attribute it was ignored and ConfirmScreen's Enter still said yes.)"""

    BINDINGS = bindings(STRICT_CONFIRM_BINDINGS)
    HINT = "y: do it    n / Esc: cancel"


class TextScreen(ModalScreen[None]):
    """Read-only text (inspect output) in a scrollable box; Esc closes."""

    BINDINGS = bindings(TEXT_BINDINGS)

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
