"""The bottom line: the keys the focused widget and its screen offer, drawn as one line of text.

Textual's ``Footer`` shows the same keys, but as a widget per key that it mounts again on every
focus change; styling those cost ~35 ms of the first frame (benchmarks/README.md). This is one
widget: a focus change redraws one line. A click on a key presses it, as on the Footer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.screen import Screen

Span = tuple[int, int, str]  # start column, end column, the key a click there presses


class KeyHints(Widget):
    """The active bindings with ``show`` set, in the order the Footer gives them; the palette's last."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-hints--key", "key-hints--disabled"}
    DEFAULT_CSS = """
    KeyHints {
        dock: bottom;
        height: 1;
        text-wrap: nowrap;
        background: $footer-background;
        color: $footer-description-foreground;
        .key-hints--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-hints--disabled {
            text-style: dim;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[Span] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: Screen[object]) -> None:
        self.refresh()

    def entries(self) -> list[tuple[str, str, str, bool]]:
        """(key to press, key as shown, description, enabled) for each key on the line."""
        app = self.app
        palette = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
        seen: set[str] = set()
        shown, last = [], []
        for key, (_node, binding, enabled, _tooltip) in self.screen.active_bindings.items():
            if key == palette:
                last.append((binding.key, app.get_key_display(binding), binding.description, enabled))
            elif binding.show and binding.action not in seen:  # one entry per action, as on the Footer
                seen.add(binding.action)
                shown.append((binding.key, app.get_key_display(binding), binding.description, enabled))
        return shown + last

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-hints--key")
        dim = self.get_component_rich_style("key-hints--disabled")
        entries = self.entries()
        palette = (
            bool(entries) and self.app.ENABLE_COMMAND_PALETTE and entries[-1][0] == self.app.COMMAND_PALETTE_BINDING
        )
        parts: list[tuple[Text, str]] = []
        for key, display, description, enabled in entries:
            part = Text(end="")  # Text(text, style) would style the description as the key too
            part.append(f" {display} ", key_style + dim if not enabled else key_style)
            if description:
                part.append(f"{description} ", dim if not enabled else None)
            parts.append((part, key if enabled else ""))
        width = self.size.width or sum(p.cell_len for p, _ in parts)
        last = parts.pop() if palette else None
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[Span] = []
        room = width - (last[0].cell_len if last else 0)
        for part, key in parts:
            if line.cell_len + part.cell_len > room:  # what does not fit is left out; the palette stays
                line.append("…" if line.cell_len < room else "")
                break
            spans.append((line.cell_len, line.cell_len + part.cell_len, key))
            line.append_text(part)
        if last is not None:  # the palette's key sits at the right edge, as on the Footer
            line.append(" " * max(0, room - line.cell_len))
            spans.append((line.cell_len, line.cell_len + last[0].cell_len, last[1]))
            line.append_text(last[0])
        self._spans = spans
        return line

    def key_at(self, x: int) -> str | None:
        """The key drawn at column ``x`` ("" for a disabled one, None between keys)."""
        return next((key for start, end, key in self._spans if start <= x < end), None)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        key = self.key_at(event.x)
        if key == "":
            self.app.bell()
        elif key is not None:
            self.app.simulate_key(key)
