"""Issue 15, chat: the context gauge and the "too long" error's way forward, settings checked against the
model's context, a multi-line input, and focus given back when the chat is left (Pilot, replay server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual import events
from textual.widgets import DataTable, Input

from console.chat.store import ChatStore
from console.runtime.events import Notice
from console.telemetry.model import TelemetrySnapshot
from console.ui.screens.chat import ChatScreen
from console.ui.screens.chat_dialogs import SettingsScreen
from console.ui.screens.containers import ContainersScreen
from console.ui.screens.dashboard import DashboardScreen
from console.ui.screens.history import HistoryScreen
from console.ui.widgets.chat_input import ChatInput
from console.ui.widgets.servers_panel import ServersPanel
from console.ui.widgets.telemetry_panel import TelemetryPanel
from tests.app.test_chat_ui import ask, make_app, pane, ready, screen_text
from tests.app.test_dashboard import wait_for
from tests.replay import ReplayServer, Script, token_frames

# vLLM 0.32's words for a prompt longer than the context (reference/domain.md §4.3)
TOO_LONG = {
    "error": {
        "message": "This model's maximum context length is 1024 tokens. However, your prompt contains at least "
        "1025 input tokens, which exceeds this limit even without any output tokens. Please reduce the length "
        "of the input prompt. (parameter=input_tokens, value=1025)",
        "type": "BadRequestError",
        "param": "input_tokens",
        "code": 400,
    }
}


@pytest.fixture
def small(srv: ReplayServer) -> Iterator[ReplayServer]:
    """The replay server with a 1,024-token model, as in the issue."""
    srv.max_model_len = 1024
    yield srv
    srv.max_model_len = 32768


# ---- 15: the gauge, and the way forward from a context that ran out ----------------------------------------------


async def test_the_gauge_shows_the_context_used_and_warns_near_full(
    small: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(small, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        chat = pane(app)
        await wait_for(pilot, lambda: chat.border_subtitle == "ctx 0/1024")
        small.script = Script(frames=token_frames(["short"], prompt_tokens=300))
        await ask(pilot, "first")
        assert chat.border_subtitle == "ctx 301/1024" and not chat.has_class("-ctx-warn", "-ctx-full")
        assert "ctx 301/1024" in screen_text(chat)
        small.script = Script(frames=token_frames(["long"] * 20, prompt_tokens=800))
        await ask(pilot, "second")
        assert chat.border_subtitle == "ctx 820/1024" and chat.has_class("-ctx-warn")
        assert "ctx 820/1024" in screen_text(chat)
        assert chat.summary.text.endswith("· 2 questions · ctx 820/1024 (a: ask)")  # the 80x24 line too


async def test_a_context_error_says_what_to_do_and_ctrl_r_trims_and_asks_again(
    small: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(small, tmp_path, orin_snapshot, start_screen="chat")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        chat = pane(app)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await pilot.press(*"Be brief.", "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        for n in (1, 2):
            small.script = Script(frames=token_frames([f"answer {n}"], prompt_tokens=400 * n))
            await ask(pilot, f"question {n}")
        small.script = Script(status=400, body=json.dumps(TOO_LONG))
        await ask(pilot, "question 3")
        await wait_for(pilot, lambda: bool(chat.query(".chat-advice")))
        shown = screen_text(chat)
        assert "⚠ This model's maximum context length is 1024 tokens." in shown
        advice = chat.query_one(".chat-advice").render()
        assert str(advice) == (
            "→ The conversation no longer fits the model's context (1024 tokens). ^r: stop sending the oldest "
            "turns and ask again (the system prompt stays; nothing is deleted) · ^n: start a new conversation"
        )
        assert chat.border_subtitle == "ctx 1025/1024" and chat.has_class("-ctx-full")

        small.script = Script(frames=token_frames(["fits now"], prompt_tokens=500))
        before = len(small.requests)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(small.requests) == before + 1 and app.chat_control.chat.answering is None)
        await wait_for(pilot, lambda: app.chat_control.chat.messages[-1].content == "fits now")
        sent = [(m["role"], m["content"]) for m in small.requests[-1]["messages"]]
        assert sent == [
            ("system", "Be brief."),  # kept
            ("user", "question 2"),
            ("assistant", "answer 2"),
            ("user", "question 3"),  # asked again, once
        ]
        session = app.chat_control.chat
        assert session.trimmed == 2 and len(session.messages) == 8  # nothing deleted from the conversation

        def saved_trim() -> object:
            with ChatStore(tmp_path / "c.sqlite3") as store:
                conv = store.load(store.conversations()[0].id)
            return conv.settings.get("trimmed"), len(conv.messages)

        await wait_for(pilot, lambda: saved_trim() == (2, 8))  # reopened later, it still fits
        await wait_for(pilot, lambda: "✂ the 2 oldest" in screen_text(chat))
        shown = screen_text(chat)
        assert "✂ the 2 oldest messages are no longer sent to the model" in shown
        assert "question 1" in shown and "fits now" in shown
        assert chat.border_subtitle == "ctx 501/1024"

        await pilot.press("ctrl+n")  # the other way forward: a new conversation
        await wait_for(pilot, lambda: app.chat_control.chat.messages == ())
        assert app.chat_control.chat.trimmed == 0 and chat.border_subtitle == "ctx 0/1024"


async def test_nothing_to_trim_says_so(small: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot) -> None:
    small.script = Script(status=400, body=json.dumps(TOO_LONG))
    app = make_app(small, tmp_path, orin_snapshot)
    notices: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.runtime.subscribe(lambda _s, e: notices.append(e.text) if isinstance(e, Notice) else None)
        await ready(pilot)
        await ask(pilot, "a very long question")
        before = len(small.requests)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: any(n.startswith("Nothing left to trim") for n in notices))
        assert len(small.requests) == before and app.chat_control.chat.trimmed == 0


# ---- 16: settings checked against the model's context, every bad value named at once ------------------------------


async def test_settings_name_every_bad_value_and_check_max_tokens_against_the_context(
    small: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(small, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        before = app.chat_control.chat.settings
        await pilot.press("a", "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        dialog = app.screen
        await pilot.press("tab", *"5", "tab", "tab", *"99999", "ctrl+s")
        await wait_for(pilot, lambda: bool(str(dialog.query_one("#settings-error").render()).strip()))
        assert app.screen is dialog  # kept open
        error = str(dialog.query_one("#settings-error").render()).splitlines()
        assert error[0] == "⚠ Temperature: must be between 0 and 2"
        assert error[1].startswith("⚠ max_tokens: must be less than the model's context (1024 tokens)")
        assert len(error) == 2
        assert dialog.query_one("#set-temperature", Input).has_class("-invalid")
        assert dialog.query_one("#set-max_tokens", Input).has_class("-invalid")
        assert not dialog.query_one("#set-top_p", Input).has_class("-invalid")
        shown = screen_text(dialog)
        assert "Temperature: must be between 0 and 2" in shown and "max_tokens: must be less than" in shown
        await pilot.press("shift+tab", "shift+tab", *"0.5", "tab", "tab", *"256", "ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen))
        settings = app.chat_control.chat.settings
        assert (settings.temperature, settings.max_tokens) == (0.5, 256) and settings != before


# ---- 17: a multi-line input ------------------------------------------------------------------------------------


async def test_a_paste_keeps_every_line_and_shift_enter_starts_one(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("a")
        box = pane(app).input
        assert isinstance(app.focused, ChatInput) and app.focused is box
        app.post_message(events.Paste("def f():\n    return 1\n\nprint(f())"))
        await wait_for(pilot, lambda: box.text == "def f():\n    return 1\n\nprint(f())")
        await wait_for(pilot, lambda: box.size.height == 4)  # the box grows to show every line
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(srv.requests) == 1 and app.chat_control.chat.answering is None)
        assert srv.requests[-1]["messages"][-1]["content"] == "def f():\n    return 1\n\nprint(f())"
        assert box.text == ""  # sent
        await pilot.press(*"one", "shift+enter", *"two", "ctrl+j", *"three")
        assert box.text == "one\ntwo\nthree" and len(srv.requests) == 1  # new lines, nothing sent
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(srv.requests) == 2)
        assert srv.requests[-1]["messages"][-1]["content"] == "one\ntwo\nthree"


# ---- 18: leaving the chat gives focus back ---------------------------------------------------------------------


async def test_f6_and_back_gives_focus_back_to_the_panel(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        assert isinstance(app.focused, TelemetryPanel)
        chat = pane(app)
        await pilot.press("a", *"hi")
        await pilot.press("f6")  # from the input: F6 zooms (TextArea's own F6 is left to the pane)
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await wait_for(pilot, lambda: isinstance(app.focused, TelemetryPanel))
        assert chat.input.text == "hi"  # what was typed stays
        await pilot.press("c")  # a dashboard key, not text
        await wait_for(pilot, lambda: isinstance(app.screen, ContainersScreen))
        assert chat.input.text == "hi"


async def test_conversations_and_escape_gives_focus_back_and_opening_one_keeps_it(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        servers = app.screen.query_one(ServersPanel)
        servers.focus()
        await pilot.pause()
        await ask(pilot, "keep me")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await wait_for(pilot, lambda: app.focused is servers)
        await pilot.press("a")  # a dashboard key again: into the chat
        assert isinstance(app.focused, ChatInput)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        await pilot.press("enter")  # a conversation opened to go on with it: the input keeps the focus
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await wait_for(pilot, lambda: isinstance(app.focused, ChatInput))
