"""A dashboard panel: a bordered, focusable box with a one-line summary for small screens."""

from __future__ import annotations

from textual.containers import Vertical

from console.ui.widgets.text import LiveText


class Panel(Vertical, can_focus=True):
    """Shows its body, or only its summary line when the dashboard is compact and the
    panel is not focused (CSS does the switch; see app.tcss)."""

    DEFAULT_CLASSES = "panel"

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
        self.summary = LiveText("", classes="summary")

    def set_summary(self, text: str) -> None:
        self.summary.set(text)

    def on_focus(self) -> None:
        self.border_title = f"▶ {str(self.border_title or '').removeprefix('▶ ')}"

    def on_blur(self) -> None:
        self.border_title = str(self.border_title).removeprefix("▶ ")
