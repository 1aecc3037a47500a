"""Deleting a conversation (cannot be undone) is confirmed only by ``y``: Enter does not delete (issue 15)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from console.chat.store import ChatStore
from console.telemetry.model import TelemetrySnapshot
from console.ui.screens.confirm import StrictConfirmScreen
from tests.app.helpers import wait_for
from tests.app.test_chat_ui import ask, history_rows, make_app, open_conversations, ready
from tests.replay import ReplayServer


async def test_enter_does_not_delete_a_conversation_only_y_does(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await ask(pilot, "keep me")
        table = (await open_conversations(pilot, app)).query_one(DataTable)
        await history_rows(pilot, table, 1)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, StrictConfirmScreen))
        question = app.screen
        await pilot.press("enter", "enter")  # the key that opens a conversation, pressed out of habit
        await pilot.pause()
        assert app.screen is question
        with ChatStore(tmp_path / "c.sqlite3") as store:
            assert [s.title for s in store.conversations()] == ["keep me"]
        await pilot.press("y")
        await history_rows(pilot, table, 0)
        with ChatStore(tmp_path / "c.sqlite3") as store:
            assert store.conversations() == []
