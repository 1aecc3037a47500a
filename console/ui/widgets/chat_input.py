"""The chat's input box: several lines (a paste keeps all of them), Enter sends.

A Textual TextArea whose Enter sends the text instead of starting a line; Shift+Enter or Ctrl+J
(``chat.newline`` in the keymap, bound on the pane) starts a line, and a paste keeps its newlines.
TextArea's own F6/F7 (select line, select all) are left off so F6 reaches the pane (zoom).
"""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import TextArea

LEFT_TO_THE_PANE = frozenset({"select_line", "select_all"})  # TextArea's F6/F7: F6 is the chat's zoom


class ChatInput(TextArea):
    DEFAULT_CSS = """
    ChatInput { padding: 0 2; }
    ChatInput:focus { background-tint: $foreground 5%; }
    ChatInput > .text-area--placeholder { color: $text-disabled; }
    """

    class Submitted(Message):
        """Enter: the text to send (the box keeps it until the pane clears it)."""

        def __init__(self, chat_input: ChatInput, value: str) -> None:
            super().__init__()
            self.chat_input, self.value = chat_input, value

    def __init__(self, *, placeholder: str = "", classes: str | None = None) -> None:
        super().__init__(
            "",
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            highlight_cursor_line=False,
            placeholder=placeholder,
            classes=classes,
        )

    @property
    def value(self) -> str:
        """The text typed or pasted (all its lines)."""
        return self.text

    @value.setter
    def value(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)

    def on_key(self, event: events.Key) -> None:
        """Enter sends: it never reaches TextArea's own key handling, which would start a line."""
        if event.key == "enter":
            event.prevent_default()
            event.stop()
            self.post_message(self.Submitted(self, self.text))

    async def action_submit(self) -> None:
        """Send what is typed (what Enter does)."""
        self.post_message(self.Submitted(self, self.text))

    def action_newline(self) -> None:
        """Start a line where the cursor is."""
        self.insert("\n")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in LEFT_TO_THE_PANE:
            return False
        return super().check_action(action, parameters)
