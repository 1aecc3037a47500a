"""A Static that redraws only when its text changes (idle screens write nothing)."""

from __future__ import annotations

from textual.widgets import Static


class LiveText(Static):
    def __init__(self, text: str = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(text, id=id, classes=classes, markup=False)
        self._text = text

    def set(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.update(text)

    @property
    def text(self) -> str:
        return self._text
