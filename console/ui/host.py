"""What screens and widgets use of the app, typed: ``host(self).state``, ``host(self).send(command)``.

Textual types ``self.app`` as a bare ``App``; the console's own face of it (the state to render,
the command port, the config, the chat side) is described here as Protocols, so screens neither
read untyped attributes off the app nor import ``console.ui.app`` (which imports every screen:
that would be an import circle). ``cli.py`` assigns the real ``JetconsoleApp`` to a
``ConsoleHost`` so mypy checks that the app keeps this promise.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from textual.dom import DOMNode

from console.chat.session import ChatSession
from console.config import Config
from console.runtime.commands import Command
from console.runtime.runtime import Runtime
from console.runtime.state import ConsoleState


class ChatSide(Protocol):
    """The chat side composed into the app (``console.ui.chat_control.ChatControl``)."""

    @property
    def chat(self) -> ChatSession: ...
    def panes_shown(self) -> None: ...
    def select_server(self, url: str | None) -> None: ...
    def list_conversations(self, needle: str) -> None: ...
    def open_conversation(self, conv_id: int) -> None: ...
    def rename_conversation(self, conv_id: int, title: str) -> None: ...
    def delete_conversation(self, conv_id: int) -> None: ...
    def export_conversation(self, conv_id: int, fmt: str) -> None: ...


class ConsoleHost(Protocol):
    """The console's face of the running app (``console.ui.app.JetconsoleApp``)."""

    @property
    def state(self) -> ConsoleState:
        """What to render: the frozen state while paused, else the runtime's."""

    @property
    def paused(self) -> bool:
        """The screen shows the state of the moment ``p`` was pressed."""

    @property
    def runtime(self) -> Runtime: ...
    @property
    def config(self) -> Config: ...
    @property
    def keymap_overrides(self) -> dict[str, str]: ...
    @property
    def ascii_only(self) -> bool: ...
    @property
    def chat_control(self) -> ChatSide: ...

    def send(self, command: Command) -> Any:
        """Hand a command to the runtime."""

    def doctor_fix(self, check_id: str) -> None: ...
    def toggle_pause(self) -> None: ...
    def action_doctor(self) -> None: ...
    def action_hud(self) -> None: ...
    def action_fit(self) -> None: ...
    def action_bench(self) -> None: ...


def host(node: DOMNode) -> ConsoleHost:
    """The app ``node`` runs in, as the console's host."""
    return cast(ConsoleHost, node.app)
