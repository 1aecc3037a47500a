"""Conversations: list, search (/), open, rename, delete (asks first), export to Markdown or JSON."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.widgets import DataTable, Input

from console.chat.model import ConversationSummary
from console.keymap import HISTORY_BINDINGS
from console.runtime.events import ChatDeleted, ChatListed, ChatRenamed, Event
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.screens.chat_dialogs import AskScreen
from console.ui.screens.confirm import StrictConfirmScreen
from console.ui.screens.filtering import FilterScreen
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.tables import sync_rows
from console.ui.widgets.text import LiveText

COLUMNS = ("title", "updated", "model", "msgs", "matched / first question")


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""


class HistoryScreen(FilterScreen):
    BINDINGS = bindings(HISTORY_BINDINGS)
    FILTERED_TABLE = "#t-history"

    def __init__(self) -> None:
        super().__init__()
        self.summaries: list[ConversationSummary] = []
        self._asked = ""

    def compose(self) -> ComposeResult:
        yield LiveText("Conversations", id="title")
        yield Input(placeholder="search titles and messages (Esc clears)", id="filter")
        table: DataTable = DataTable(id="t-history", cursor_type="row")
        table.add_columns(*COLUMNS)
        yield table
        yield LiveText("", id="history-status")
        yield KeyHints()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(DataTable).focus()

    def show_state(self, _state: object = None) -> None:
        """Ask the store again when the search changed (the answer comes as ``show_list``)."""
        needle = self.needle
        if needle != self._asked or not self.summaries:
            self._asked = needle
            host(self).chat_control.list_conversations(needle)

    def take_event(self, event: Event) -> None:
        """The store's answers: a list asked for, a conversation renamed or deleted (ask again)."""
        if isinstance(event, ChatListed):
            self.show_list(list(event.summaries), event.needle)
        elif isinstance(event, ChatRenamed | ChatDeleted):
            self.refresh_list()

    def refresh_list(self) -> None:
        host(self).chat_control.list_conversations(self.needle)

    def show_list(self, summaries: list[ConversationSummary], needle: str) -> None:
        if needle != self.needle:
            return  # an older search's answer
        self.summaries = summaries
        sync_rows(
            self.query_one(DataTable),
            [
                (
                    str(s.id),
                    [
                        s.title[:40],
                        _when(s.updated),
                        s.model[:20],
                        str(s.message_count),
                        " ".join(s.snippet.split())[:60],
                    ],
                )
                for s in summaries
            ],
        )
        title = f"Conversations · {len(summaries)}"
        if needle:
            title += f" · search {needle!r}"
        self.query_one("#title", LiveText).set(title)
        self.query_one("#history-status", LiveText).set(
            "" if summaries else ("Nothing matches." if needle else "No conversations yet: ask something first.")
        )

    def selected(self) -> ConversationSummary | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((s for s in self.summaries if str(s.id) == key), None)

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            host(self).chat_control.open_conversation(chosen.id)
            self.app.pop_screen()

    def action_rename(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return

        def done(title: str | None) -> None:
            if title:
                host(self).chat_control.rename_conversation(chosen.id, title)

        self.app.push_screen(AskScreen(f"Rename {chosen.title!r} to:", chosen.title), done)

    def action_delete(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return

        def done(yes: bool | None) -> None:
            if yes:
                host(self).chat_control.delete_conversation(chosen.id)

        self.app.push_screen(
            StrictConfirmScreen(  # cannot be undone: only y deletes, Enter (pressed twice, held) does not
                f"Delete {chosen.title!r}?",
                f"Deletes the conversation and its {chosen.message_count} messages from the store for good. "
                "Export it first (e / j) to keep a copy.",
            ),
            done,
        )

    def action_export(self, fmt: str) -> None:
        chosen = self.selected()
        if chosen is not None:
            host(self).chat_control.export_conversation(chosen.id, fmt)
