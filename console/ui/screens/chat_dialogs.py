"""Small modal dialogs of the chat: pick one of a list, ask for a line, edit the settings, pick an image
(path completion), type the answers' shape."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from console.chat.images import SUFFIXES
from console.chat.session import ChatSettings, SettingsError, parse_settings
from console.chat.shape import ShapeError, parse_shape
from console.keymap import ASK_BINDINGS, IMAGE_PICK_BINDINGS, PICK_BINDINGS, SETTINGS_BINDINGS, SHAPE_BINDINGS
from console.runtime.sanitise import visible_controls
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


LISTED = 12  # entries the image picker lists under the path


def entries(typed: str) -> tuple[str, list[str]]:
    """(folder, names) for a path being typed: the folder's subfolders (with /) and images whose names start
    with what follows the last /, sorted, folders first (blocking: a thread)."""
    path = Path(os.path.expanduser(typed or "./"))
    folder, stem = (path, "") if typed.endswith("/") or not typed else (path.parent, path.name)
    try:
        found = list(os.scandir(folder))
    except OSError:
        return str(folder), []
    names = []
    for entry in found:
        if not entry.name.startswith(stem) or (entry.name.startswith(".") and not stem.startswith(".")):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            names.append(entry.name + "/")
        elif entry.name.lower().endswith(SUFFIXES):
            names.append(entry.name)
    return str(folder), sorted(names, key=lambda n: (not n.endswith("/"), n.lower()))


class PathSuggester(Suggester):
    """Completes the last part of a path with the first folder or image it can be (read in a thread)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        _folder, names = await asyncio.to_thread(entries, value)
        if not names:
            return None
        head = value[: value.rfind("/") + 1]
        return head + names[0]


class ImagePickScreen(ModalScreen[str | None]):
    """A path to an image: Tab completes, the folder's images and subfolders are listed, Enter attaches."""

    BINDINGS = bindings(IMAGE_PICK_BINDINGS)

    def __init__(self, start: str = "") -> None:
        super().__init__()
        self._start = start

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="image-pick"):
            yield Static("Attach an image (PNG, JPEG, WebP, GIF, BMP, TIFF)", classes="table-title", markup=False)
            yield Input(self._start, placeholder="~/pictures/cat.jpg", suggester=PathSuggester(), id="image-path")
            yield Static("", id="image-listing", markup=False)
            yield Static("Tab: complete    Enter: attach    Esc: cancel", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._list(self._start)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._list(event.value)

    def _list(self, typed: str) -> None:
        self.run_worker(asyncio.to_thread(entries, typed), exclusive=True, group="image-listing")

    def on_worker_state_changed(self, event: object) -> None:
        worker = getattr(event, "worker", None)
        if worker is None or worker.group != "image-listing" or not worker.is_finished or worker.result is None:
            return
        folder, names = worker.result
        shown = names[:LISTED]
        more = f"\n… {len(names) - LISTED} more" if len(names) > LISTED else ""
        listing = "\n".join(shown) + more if shown else f"(no images or folders in {folder} start so)"
        listing = visible_controls(listing)  # file names may hold control characters
        self.query_one("#image-listing", Static).update(listing)

    def action_complete(self) -> None:
        field = self.query_one(Input)
        field.cursor_position = len(field.value)
        field.action_cursor_right()  # at the end: takes the suggestion

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


SHAPE_HELP = (
    "A JSON schema ({...}), choice: a, b, c, regex: PATTERN, or @/path/schema.json. "
    "Sent as response_format json_schema or structured_outputs (never guided_*); every answer is checked."
)


class ShapeScreen(ModalScreen[str | None]):
    """The shape answers must take, typed; Ctrl+S keeps it, Ctrl+L makes answers free again, Esc cancels."""

    BINDINGS = bindings(SHAPE_BINDINGS)

    def __init__(self, spec: str) -> None:
        super().__init__()
        self._spec = spec

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="shape"):
            yield Static("Answer shape (structured output)", classes="table-title", markup=False)
            yield Static(SHAPE_HELP, markup=False)
            yield TextArea(self._spec, id="shape-spec", soft_wrap=True, show_line_numbers=False)
            yield Static("", id="shape-error", markup=False)
            yield Static("Ctrl+S: keep    Ctrl+L: free text again    Esc: cancel", markup=False)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        spec = self.query_one(TextArea).text
        try:
            parse_shape(spec, read_file=False)  # a file is read by the chat service, off the event loop
        except ShapeError as exc:
            self.query_one("#shape-error", Static).update(f"⚠ {exc}")
            return
        self.dismiss(spec.strip())

    def action_clear(self) -> None:
        self.dismiss("")

    def action_cancel(self) -> None:
        self.dismiss(None)
