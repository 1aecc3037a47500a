"""A container's log: follows, pauses, searches and jumps to errors (the line shown and marked), colours
errors and warnings, wraps, shows Docker's timestamps, reads more or less of the past, saves to a file;
bounded, ANSI-free."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Input

from console.containers.logbuffer import LogBuffer
from console.containers.logsave import default_folder
from console.keymap import LOGS_BINDINGS
from console.runtime.commands import FollowLogs, SaveLog, StopLogs
from console.runtime.events import Event, LogBatch
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.logview import LogView
from console.ui.widgets.text import LiveText

MAX_LINES = 10_000
TAILS = (100, 1000, 2000, -1)  # lines of the past a follower starts with (T cycles; -1: all, up to MAX_LINES)
DEFAULT_TAIL = 2000


class LogsScreen(Screen):
    BINDINGS = bindings(LOGS_BINDINGS)

    def __init__(self, container_id: str, name: str, save_folder: Path | None = None) -> None:
        super().__init__()
        self.container_id, self.container_name = container_id, name
        self.save_folder = save_folder
        self.buffer = LogBuffer(MAX_LINES, timestamps=True)  # Docker's own, shown or not (t)
        self.tail = DEFAULT_TAIL
        self.follower: int | None = None
        self.following = True
        self.matches: list[int] = []
        self.at: int | None = None  # absolute line number the cursor jumped to
        self.ended: str | None = None

    def compose(self) -> ComposeResult:
        yield LiveText(f"Logs · {self.container_name}", id="title")
        yield Input(placeholder="search (Enter: first match, n/N next/previous, Esc: close)", id="search")
        yield LogView(self.buffer, id="log")
        yield LiveText("", id="log-status")
        yield KeyHints()

    def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        self.query_one(LogView).focus()
        self._follow()

    def on_unmount(self) -> None:
        if self.follower is not None:
            host(self).send(StopLogs(self.follower))

    def _follow(self) -> None:
        """(Re)start the follower with ``self.tail`` lines of the past; what was shown is read again."""
        if self.follower is not None:
            host(self).send(StopLogs(self.follower))
        self.buffer = LogBuffer(MAX_LINES, timestamps=True)
        self.matches, self.at, self.ended = [], None, None
        view = self.query_one(LogView)
        view.buffer, view.current = self.buffer, None
        view.lines_changed()
        self.follower = host(self).send(FollowLogs(self.container_id, self.tail, timestamps=True))
        self._status()

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
        if lines or message.ended is not None:
            self.query_one(LogView).lines_changed()
        self._status()

    def _status(self) -> None:
        view = self.query_one(LogView)
        parts = [
            f"{self.buffer.total} lines ({len(self.buffer)} kept)",
            "following" if self.following else "PAUSED (space follows)",
            f"tail {self.tail if self.tail >= 0 else 'all'} (T)",
            f"wrap {'on' if view.wrap else 'off'} (w)",
            f"timestamps {'on: Docker' + chr(39) + 's, UTC' if view.timestamps else 'off'} (t)",
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
        view = self.query_one(LogView)
        view.auto_scroll = False
        self.at = number
        view.show_line(number)
        self._status()

    # ---- actions ------------------------------------------------------------------------
    def action_back(self) -> None:
        box = self.query_one("#search", Input)
        if box.display:
            box.display = False
            self.query_one(LogView).focus()
            return
        self.app.pop_screen()

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        view = self.query_one(LogView)
        view.auto_scroll = self.following
        if self.following:
            self.at = view.current = None
            view.scroll_end(animate=False, immediate=True, x_axis=False)
            view.refresh()
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
        self.query_one(LogView).focus()
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

    def action_toggle_wrap(self) -> None:
        view = self.query_one(LogView)
        view.set_options(wrap=not view.wrap)
        self._status()

    def action_toggle_timestamps(self) -> None:
        view = self.query_one(LogView)
        view.set_options(timestamps=not view.timestamps)
        self._status()

    def action_cycle_tail(self) -> None:
        """Read the log again with the next tail size (100, 1000, 2000, all)."""
        self.tail = TAILS[(TAILS.index(self.tail) + 1) % len(TAILS)] if self.tail in TAILS else TAILS[0]
        self.following = True
        self.query_one(LogView).auto_scroll = True
        self._follow()
        what = f"the last {self.tail} lines" if self.tail >= 0 else f"all of it (the newest {MAX_LINES:,} kept)"
        self.notify(f"Reading the log again: {what}", timeout=2)

    def action_save(self) -> None:
        """Write the kept lines (as cleaned; credentials masked) to a file; a notice names it."""
        view = self.query_one(LogView)
        stamps = self.buffer.stamps() if view.timestamps else None
        texts = self.buffer.texts()
        lines = tuple(f"{st} {t}" if st else t for st, t in zip(stamps, texts, strict=True)) if stamps else tuple(texts)
        if not lines:
            self.notify("Nothing to save yet.", severity="warning", timeout=3)
            return
        host(self).send(SaveLog(self.save_folder or default_folder(), self.container_name, lines))
