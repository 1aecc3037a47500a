"""A container's log: follows, pauses, searches, jumps to errors; bounded, ANSI-free."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Input, Log

from console.containers.logbuffer import LogBuffer
from console.keymap import LOGS_BINDINGS
from console.runtime.commands import FollowLogs, StopLogs
from console.runtime.events import Event, LogBatch
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.text import LiveText

MAX_LINES = 10_000


class LogsScreen(Screen):
    BINDINGS = bindings(LOGS_BINDINGS)

    def __init__(self, container_id: str, name: str) -> None:
        super().__init__()
        self.container_id, self.container_name = container_id, name
        self.buffer = LogBuffer(MAX_LINES)
        self.follower: int | None = None
        self.following = True
        self.matches: list[int] = []
        self.at: int | None = None  # absolute line number the cursor jumped to
        self.ended: str | None = None

    def compose(self) -> ComposeResult:
        yield LiveText(f"Logs · {self.container_name}", id="title")
        yield Input(placeholder="search (Enter: first match, n/N next/previous, Esc: close)", id="search")
        yield Log(max_lines=MAX_LINES, auto_scroll=True, id="log")
        yield LiveText("", id="log-status")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        self.query_one(Log).focus()
        self.follower = host(self).send(FollowLogs(self.container_id))
        self._status()

    def on_unmount(self) -> None:
        if self.follower is not None:
            host(self).send(StopLogs(self.follower))

    def take_event(self, event: Event) -> None:
        """A batch of log text: this screen's follower's is shown."""
        if isinstance(event, LogBatch) and event.follower == self.follower:
            self.add_lines(event)

    def add_lines(self, message: LogBatch) -> None:
        """A batch from this screen's follower."""
        lines = self.buffer.feed(message.text)
        if message.ended is not None:
            lines += self.buffer.flush()
            self.ended = message.ended
        log = self.query_one(Log)
        if lines:
            log.write_lines(lines[-MAX_LINES:])  # older ones would be trimmed at once
        self._status()

    def _status(self) -> None:
        parts = [
            f"{self.buffer.total} lines ({len(self.buffer)} kept)",
            "following" if self.following else "PAUSED (space follows)",
        ]
        if self.matches:
            parts.append(f"{len(self.matches)} matches")
        if self.at is not None:
            parts.append(f"at line {self.at}")
        if self.ended:
            parts.append(f"stream ended: {self.ended}")
        self.query_one("#log-status", LiveText).set(" · ".join(parts))

    def _jump(self, number: int | None) -> None:
        if number is None:
            self.notify("nothing to jump to", timeout=2)
            return
        self.following = False
        log = self.query_one(Log)
        log.auto_scroll = False
        self.at = number
        log.scroll_to(y=max(0, number - self.buffer.first_number - 2), animate=False)
        self._status()

    # ---- actions ------------------------------------------------------------------------
    def action_back(self) -> None:
        box = self.query_one("#search", Input)
        if box.display:
            box.display = False
            self.query_one(Log).focus()
            return
        self.app.pop_screen()

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        log = self.query_one(Log)
        log.auto_scroll = self.following
        if self.following:
            self.at = None
            log.scroll_end(animate=False)
        self._status()

    def action_end(self) -> None:
        self.following = False
        self.action_toggle_follow()

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.matches = self.buffer.search(event.value.strip())
        self.query_one("#search", Input).display = False
        self.query_one(Log).focus()
        self._jump(self.matches[0] if self.matches else None)

    def action_next_match(self) -> None:
        after = self.at or 0
        self._jump(next((n for n in self.matches if n > after), self.matches[0] if self.matches else None))

    def action_prev_match(self) -> None:
        before = self.at or self.buffer.total + 1
        self._jump(next((n for n in reversed(self.matches) if n < before), self.matches[-1] if self.matches else None))

    def action_next_error(self) -> None:
        self._jump(self.buffer.next_error(self.at or 0))

    def action_prev_error(self) -> None:
        self._jump(self.buffer.prev_error(self.at or self.buffer.total + 1))
