"""The Chat screen: the chat pane full size, the server's own figures beside it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen

from console.runtime.state import ConsoleState, launch_line
from console.ui.host import host
from console.ui.widgets.chat_pane import ChatPane
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.server_detail import ServerDetail
from console.ui.widgets.text import LiveText


class ChatScreen(Screen):
    def compose(self) -> ComposeResult:
        yield LiveText("jetconsole · chat", id="title")
        with Horizontal(id="chat-row"):
            yield ChatPane(id="chat-full")
            yield ServerDetail()
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one(ChatPane).focus_input()
        self.show_state(host(self).state)

    def on_screen_resume(self) -> None:
        self.show_state(host(self).state)
        host(self).chat_control.panes_shown()

    def show_state(self, state: ConsoleState) -> None:
        chat = host(self).chat_control.chat
        command = launch_line(state, chat.endpoint.url) if chat.endpoint is not None else ""
        self.query_one(ServerDetail).show(chat.endpoint, state.servers.selected_status, command)
        self.query_one(ChatPane).show_head(chat, "")

    def action_leave_chat(self) -> None:
        self.app.pop_screen()

    def action_zoom_chat(self) -> None:
        self.app.pop_screen()
