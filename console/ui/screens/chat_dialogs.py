"""Small modal dialogs of the chat: pick one of a list, ask for a line, edit the settings."""

from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from console.chat.session import ChatSettings, SettingsError, parse_settings
from console.keymap import ASK_BINDINGS, PICK_BINDINGS, SETTINGS_BINDINGS
from console.ui.bindings import bindings


class PickScreen(ModalScreen[str | None]):
    """Choose one (Enter), or Esc for none."""

    BINDINGS = bindings(PICK_BINDINGS)

    def __init__(self, title: str, options: list[tuple[str, str]], current: str | None = None) -> None:
        super().__init__()
        self._title, self._options, self._current = title, options, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._title, classes="table-title", markup=False)
            yield OptionList(*[Option(label, id=value) for label, value in self._options], id="pick")
            yield Static("Enter: choose    Esc: cancel", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [value for _, value in self._options]
        if self._current in ids:
            options.highlighted = ids.index(self._current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AskScreen(ModalScreen[str | None]):
    """One line of text (rename): Enter keeps it, Esc cancels."""

    BINDINGS = bindings(ASK_BINDINGS)

    def __init__(self, title: str, value: str = "") -> None:
        super().__init__()
        self._title, self._value = title, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._title, classes="table-title", markup=False)
            yield Input(self._value, id="ask")
            yield Static("Enter: keep    Esc: cancel", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


FIELD_IDS = {"temperature": "temperature", "top_p": "top_p", "max_tokens": "max_tokens", "extra_body": "extra"}


def _num(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


class SettingsScreen(ModalScreen[ChatSettings | None]):
    """System prompt, temperature, top_p, max_tokens and extra body fields (JSON)."""

    BINDINGS = bindings(SETTINGS_BINDINGS)

    def __init__(self, settings: ChatSettings, max_model_len: int | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._ctx = max_model_len

    def compose(self) -> ComposeResult:
        s = self._settings
        ctx = f" (the model's context is {self._ctx})" if self._ctx else ""
        with Vertical(classes="dialog", id="settings"):
            yield Static("Chat settings (this conversation)", classes="table-title", markup=False)
            yield Label("System prompt")
            yield Input(s.system_prompt, id="set-system")
            yield Label("Temperature (0-2, empty: the server's default)")
            yield Input(_num(s.temperature), id="set-temperature")
            yield Label("top_p (0-1, empty: the server's default)")
            yield Input(_num(s.top_p), id="set-top_p")
            yield Label(f"max_tokens{ctx}")
            yield Input(_num(s.max_tokens), id="set-max_tokens")
            yield Label('Extra body fields, JSON, e.g. {"chat_template_kwargs": {"enable_thinking": false}}')
            yield Input(json.dumps(s.extra_body) if s.extra_body else "", id="set-extra")
            yield Static("", id="settings-error", markup=False)
            yield Button("Save (Ctrl+S)", id="settings-save")

    def on_mount(self) -> None:
        self.query_one("#set-system", Input).focus()

    def _value(self, name: str) -> str:
        return self.query_one(f"#set-{name}", Input).value

    def action_save(self) -> None:
        """Check every field together: each bad one is marked and named, all at once."""
        try:
            settings = parse_settings(
                self._value("system"),
                self._value("temperature"),
                self._value("top_p"),
                self._value("max_tokens"),
                self._value("extra"),
                self._ctx,
            )
        except SettingsError as exc:
            for name, field_id in FIELD_IDS.items():
                self.query_one(f"#set-{field_id}", Input).set_class(name in exc.fields, "-invalid")
            self.query_one("#settings-error", Static).update("\n".join(f"⚠ {why}" for _, why in exc.problems))
            return
        self.dismiss(settings)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_save()

    def on_button_pressed(self, _event: Button.Pressed) -> None:
        self.action_save()

    def action_cancel(self) -> None:
        self.dismiss(None)
