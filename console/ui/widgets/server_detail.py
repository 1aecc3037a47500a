"""The server beside the chat: /health, /version, /v1/models and the /metrics figures."""

from __future__ import annotations

from textual.app import ComposeResult

from console.chat.endpoints import Endpoint
from console.servers.status import ServerStatus
from console.servers.view import detail_lines
from console.ui.widgets.panel import Panel
from console.ui.widgets.text import LiveText


class ServerDetail(Panel):
    def __init__(self, *, id: str | None = "server-detail") -> None:
        super().__init__("Server", id=id)
        self.body = LiveText("", classes="body")

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.body

    def show(self, endpoint: Endpoint | None, status: ServerStatus | None, command: str = "") -> None:
        """``command``: the server's launch line, where a container serves it (what it can take is told from it)."""
        self.body.set("\n".join(detail_lines(endpoint, status, command)))
