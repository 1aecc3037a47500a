"""The chat's dialogs and keys in the app: pick a model or a server, edit the settings, open the
conversations; everything else is a command to the runtime's chat service.

The session itself is ``ConsoleState.chat``; the chat panes subscribe to its deltas themselves
(``console.ui.widgets.chat_pane``).  Composed into the app as ``app.chat_control``, not mixed in.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal, Protocol

from console.chat.session import ChatSession, ChatSettings
from console.runtime import commands as cmd
from console.runtime.runtime import Runtime
from console.runtime.state import ConsoleState, server_rows


class ChatHost(Protocol):
    """What the chat side uses of the app."""

    runtime: Runtime

    @property
    def screen(self) -> Any: ...
    def send(self, command: cmd.Command) -> Any: ...
    def notify(
        self,
        message: str,
        *,
        title: str = ...,
        severity: Literal["information", "warning", "error"] = ...,
        timeout: float | None = ...,
        markup: bool = ...,
    ) -> None: ...
    def push_screen(self, screen: Any, callback: Any = None) -> Any: ...
    def copy_to_clipboard(self, text: str) -> None: ...


class ChatControl:
    def __init__(self, app: ChatHost) -> None:
        self.app = app
        self.show_reasoning = False
        self._pick_when_listed = False  # F2 asked for the models: show the picker when they come
        self._opened = False  # a conversation was opened from the list: its pane keeps the focus
        self._last_folder = ""  # where the image picker starts: the folder of the last image attached
        self._named: set[str] = set()  # @paths of the question being typed that were attached already

    @property
    def chat(self) -> ChatSession:
        """The session as the runtime holds it now."""
        return self.app.runtime.state.chat

    def state_changed(self, state: ConsoleState) -> None:
        """After a state change: the model picker F2 asked for, once the models are listed."""
        if self._pick_when_listed and state.chat.models:
            self._pick_when_listed = False
            self.pick_model()

    def panes_shown(self) -> None:
        """A screen came to the front: its panes redraw if they missed deltas while hidden."""
        from console.ui.widgets.chat_pane import ChatPane

        opened, self._opened = self._opened, False
        for pane in self.app.screen.query(ChatPane):
            pane.catch_up()
            pane.shown_again(keep_focus=opened)

    # ---- server and model ----------------------------------------------------------------------
    def select_server(self, url: str | None) -> None:
        """Bind the chat to another server (the servers panel's cursor, or F5)."""
        self.app.send(cmd.SelectServer(url))

    def pick_model(self) -> None:
        from console.ui.screens.chat_dialogs import PickScreen

        chat = self.chat
        if not chat.models:
            self.app.notify("Asking the server for its models…", timeout=2)
            self._pick_when_listed = True
            self.app.send(cmd.FetchModels())
            return
        options = [
            (f"{m.id}" + (f"  · max_model_len {m.max_model_len}" if m.max_model_len else ""), m.id) for m in chat.models
        ]

        def chosen(model: str | None) -> None:
            if model:
                self.app.send(cmd.ChooseModel(model))

        self.app.push_screen(PickScreen("Model (from /v1/models)", options, chat.model), chosen)

    def pick_server(self) -> None:
        from console.ui.screens.chat_dialogs import PickScreen

        state = self.app.runtime.state
        rows = [r for r in server_rows(state) if r.url]
        if not rows:
            self.app.notify(
                "No servers: add one to config.toml [endpoints] servers, or launch one (c, n).",
                severity="warning",
            )
            return
        options = [(f"{r.name} · {r.url}", r.url) for r in rows if r.url]

        def chosen(url: str | None) -> None:
            if url:
                self.select_server(url)

        self.app.push_screen(PickScreen("Chat with which server?", options, state.servers.selected), chosen)

    # ---- settings ------------------------------------------------------------------------------
    def edit_settings(self) -> None:
        from console.ui.screens.chat_dialogs import SettingsScreen

        def done(settings: ChatSettings | None) -> None:
            if settings is not None:  # the form has no shape or mode: those stay as they are
                current = self.chat.settings
                self.app.send(cmd.ChooseSettings(replace(settings, shape=current.shape, mode=current.mode)))

        self.app.push_screen(SettingsScreen(self.chat.settings, self.chat.max_model_len), done)

    def edit_shape(self) -> None:
        """Type the shape answers must take (structured output); empty: free text."""
        from console.ui.screens.chat_dialogs import ShapeScreen

        def done(spec: str | None) -> None:
            if spec is not None:
                self.app.send(cmd.ChooseShape(spec))

        shape = self.chat.settings.shape
        self.app.push_screen(ShapeScreen(shape.spec if shape is not None else ""), done)

    def toggle_mode(self) -> None:
        """Chat (``/v1/chat/completions``) or completion (``/v1/completions``: the text is the whole prompt)."""
        mode = "chat" if self.chat.settings.mode == "completion" else "completion"
        self.app.send(cmd.ChooseMode(mode))
        said = "completion mode: what you type is the whole prompt (/v1/completions)" if mode == "completion" else ""
        self.app.notify(said or "chat mode (/v1/chat/completions)", timeout=4)

    def pick_image(self) -> None:
        """A file picker with path completion; the image is read, checked and downscaled by the chat service."""
        from console.ui.screens.chat_dialogs import ImagePickScreen

        def chosen(path: str | None) -> None:
            if path:
                self._last_folder = path[: path.rfind("/") + 1]
                self.app.send(cmd.AttachImage(path))

        self.app.push_screen(ImagePickScreen(self._last_folder), chosen)

    def attach_named(self, text: str) -> bool:
        """Attach the images ``text`` names as ``@path`` and not attached yet; True when some were (the
        question then waits for the next Enter, with its images shown and costed)."""
        from console.chat.images import named_paths

        if self.chat.settings.mode == "completion":
            return False  # a completion's prompt is text alone: an @path in it is text
        fresh = [p for p in named_paths(text) if p not in self._named]
        for path in fresh:
            self._named.add(path)
            self.app.send(cmd.AttachImage(path))
        if fresh:
            self.app.notify(f"attaching {len(fresh)} image(s) the question names: Enter sends it", timeout=5)
        return bool(fresh)

    def detach_image(self) -> None:
        if not self.chat.draft_images:
            self.app.notify("No image is attached.", timeout=3)
            return
        self.app.send(cmd.DetachImage(-1))

    def copy_answer(self) -> None:
        """The last answer to the clipboard (OSC 52): a valid JSON answer pretty-printed, else as written."""
        last = next((m for m in reversed(self.chat.messages) if m.role == "assistant"), None)
        if last is None:
            self.app.notify("No answer to copy yet.", timeout=3)
            return
        text = last.check.pretty if last.check is not None and last.check.pretty else last.content
        self.app.copy_to_clipboard(text)
        self.app.notify(f"copied the answer ({len(text)} characters)", timeout=3)

    def trim_chat(self) -> None:
        """Stop sending the oldest turns; after a "too long" error, ask its question again."""
        self.app.send(cmd.TrimChat())

    def toggle_reasoning(self) -> None:
        from console.ui.widgets.chat_pane import ChatPane

        self.show_reasoning = not self.show_reasoning
        for pane in self.app.screen.query(ChatPane):
            pane.set_reasoning_shown(self.show_reasoning)

    # ---- asking and answering ------------------------------------------------------------------
    def send_chat(self, text: str) -> bool:
        """Start an answer to ``text``; False (and a notice saying why) when it cannot."""
        sent = bool(self.app.send(cmd.SendChat(text)))
        if sent:
            self._named.clear()
        return sent

    def stop_chat(self) -> None:
        self.app.send(cmd.StopChat())

    # ---- conversations -------------------------------------------------------------------------
    def new_chat(self) -> None:
        self.app.send(cmd.NewChat())

    def open_history(self) -> None:
        from console.ui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen())

    def list_conversations(self, needle: str) -> None:
        self.app.send(cmd.ListConversations(needle))

    def open_conversation(self, conv_id: int) -> None:
        self._opened = True
        self.app.send(cmd.OpenConversation(conv_id))

    def rename_conversation(self, conv_id: int, title: str) -> None:
        self.app.send(cmd.RenameConversation(conv_id, title))

    def delete_conversation(self, conv_id: int) -> None:
        self.app.send(cmd.DeleteConversation(conv_id))

    def export_conversation(self, conv_id: int, fmt: str) -> None:
        self.app.send(cmd.ExportConversation(conv_id, fmt))
