"""Pilot tests of the chat: the real app polling a real (replay) server, answers streamed into the panes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from textual.widget import Widget
from textual.widgets import Collapsible, DataTable, Input, OptionList, Static

from console.chat.store import ChatStore
from console.config import Config
from console.telemetry.model import TelemetrySnapshot
from console.ui.screens.chat import ChatScreen
from console.ui.screens.chat_dialogs import AskScreen, PickScreen, SettingsScreen
from console.ui.screens.confirm import ConfirmScreen
from console.ui.screens.dashboard import DashboardScreen
from console.ui.screens.history import HistoryScreen
from console.ui.widgets.chat_input import ChatInput
from console.ui.widgets.chat_pane import AnswerView, ChatPane
from console.ui.widgets.server_detail import ServerDetail
from console.ui.widgets.servers_panel import ServersPanel
from tests.app.helpers import live_app
from tests.app.test_dashboard import wait_for
from tests.replay import MODEL, UNKNOWN_MODEL, ReplayServer, Script, token_frames, transcript


def screen_text(widget: Widget) -> str:
    """What the terminal shows inside ``widget``'s region, line by line."""
    strips = widget.app.screen._compositor.render_strips()
    r = widget.region
    return "\n".join(strips[y].crop(r.x, r.right).text.rstrip() for y in range(r.y, min(r.bottom, len(strips))))


def words(widget: Widget) -> str:
    """The words on screen inside ``widget``, borders dropped: wrapped lines read as one."""
    return " ".join(re.sub(r"[│┃╭╮╰╯┏┓┗┛─━]", " ", screen_text(widget)).split())


def make_app(srv: ReplayServer, tmp_path: Path, snap: TelemetrySnapshot, **kw):
    """The app with its server poller; ``start_screen="chat"`` (``--screen chat``) for room to read long
    answers: the dashboard's chat pane scrolls all but the last lines out of sight."""
    config = Config(refresh_interval=0.2, servers=(srv.url,), chat_store=str(tmp_path / "c.sqlite3"))
    return live_app([snap], config=config, poll_servers=True, **kw)


def pane(app) -> ChatPane:
    return app.screen.query_one(ChatPane)


async def ready(pilot) -> None:
    """The poller has seen the server and its model."""
    await wait_for(pilot, lambda: pilot.app.chat_control.chat.model == MODEL, 10.0)


async def ask(pilot, question: str, wait: bool = True) -> None:
    app = pilot.app
    if not isinstance(app.focused, ChatInput):
        await pilot.press("a")
    await pilot.press(*question)
    before = len(app.chat_control.chat.messages)
    await pilot.press("enter")
    if wait:
        await wait_for(
            pilot,
            lambda: app.chat_control.chat.answering is None and len(app.chat_control.chat.messages) == before + 2,
            10.0,
        )
        await pilot.pause(0.1)


# ---- the server, the head, asking -----------------------------------------------------------------------------


async def test_server_row_ready_and_chat_head(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        servers = app.screen.query_one(ServersPanel)
        await wait_for(pilot, lambda: "Ready" in servers.body.text)
        row = servers.body.text.splitlines()[0]
        assert re.match(rf"› ◆ 127\.0\.0\.1:{srv.port} +Ready +{MODEL}$", row), row  # ◆: an endpoint, no container
        assert servers.summary.text == "Servers: 0 running, 1 ready of 1"
        head = pane(app).head.text
        assert head.startswith(f"{srv.url} · {MODEL} (32768 ctx) · temp 0.7 top_p 1 max 512")
        assert "server: Ready replay" in head
        await pilot.pause(0.1)
        shown = screen_text(pane(app))
        assert f"{srv.url} · {MODEL} (32768 ctx)" in shown


async def test_a_focuses_the_chat_input(srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot) -> None:
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        chat = pane(app)
        assert not chat.input.has_focus
        await pilot.press("a")
        assert chat.input.has_focus
        await pilot.press(*"typed")
        assert chat.input.value == "typed"
        assert srv.requests == []  # nothing sent before Enter


async def test_question_streams_a_markdown_answer_with_its_figures(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    tokens = ["Some ", "**bold**", " text", " and", " more"] + [f" w{i}" for i in range(12)]
    srv.script = Script(frames=token_frames(tokens, prompt_tokens=9), rate=20)
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await ask(pilot, "What is bold?", wait=False)
        chat = pane(app)
        assert chat.input.value == ""  # sent
        # it streams: part of the answer is on screen while the rest is still coming
        await wait_for(pilot, lambda: "Some bold" in screen_text(chat), 5.0)
        assert app.chat_control.chat.answering is not None
        assert "w11" not in screen_text(chat)
        await wait_for(pilot, lambda: app.chat_control.chat.answering is None, 10.0)
        await pilot.pause(0.2)
        shown = screen_text(chat)
        assert "What is bold?" in shown
        assert "Some bold text and more w0 w1" in shown and "w11" in shown
        assert "**" not in shown  # Markdown rendered, not printed
        stats = chat.query(".chat-stats").last().text
        assert re.fullmatch(r"TTFT \d+ ms · \d+\.\d tok/s · 9\+17 tokens · stop", stats), stats
        assert stats in shown
        answer = app.chat_control.chat.messages[-1]
        assert (answer.content, answer.status) == ("".join(tokens), "done")
        body = srv.requests[-1]
        assert body["messages"] == [{"role": "user", "content": "What is bold?"}]
        assert (body["model"], body["temperature"], body["max_tokens"], body["stream"]) == (MODEL, 0.7, 512, True)
        assert chat.summary.text == f"Chat: {MODEL} · 1 questions · ctx 26/32768 (a: ask)"  # 9 + 17 tokens
        assert chat.border_subtitle == "ctx 26/32768"


async def test_escape_stops_a_slow_answer(srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot) -> None:
    srv.script = Script(frames=token_frames([f" w{i}" for i in range(200)]), rate=10)
    before = srv.disconnects
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await ask(pilot, "Count slowly", wait=False)
        chat = pane(app)
        await wait_for(pilot, lambda: "w1" in screen_text(chat), 5.0)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.chat_control.chat.answering is None, 5.0)
        answer = app.chat_control.chat.messages[-1]
        assert answer.status == "stopped" and answer.stats.finish_reason == "abort"
        assert answer.content.startswith(" w0 w1") and "w199" not in answer.content
        await wait_for(pilot, lambda: srv.disconnects == before + 1, 5.0)
        await pilot.pause(0.2)
        shown = screen_text(chat)
        assert "w0 w1" in shown  # the partial answer stays
        assert "stopped (Esc)" in shown
        assert isinstance(app.screen, DashboardScreen) and chat.input.has_focus  # Esc stopped, did not leave
    with ChatStore(tmp_path / "c.sqlite3") as store:
        saved = store.load(store.conversations()[0].id).messages[-1]
    assert (saved.status, saved.content) == ("stopped", answer.content)


async def test_reasoning_is_collapsed_and_f4_shows_it(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    srv.script = Script(frames=transcript("vllm-0.32-qwen3-reasoning.sse"))
    app = make_app(srv, tmp_path, orin_snapshot, start_screen="chat")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await ask(pilot, "2+2?")
        chat = pane(app)
        box = chat.query_one(AnswerView).query_one(Collapsible)
        assert box.display and box.collapsed and box.title == "Reasoning"
        shown = screen_text(chat)
        assert "Reasoning" in shown and "The user asks" not in shown
        assert "2 + 2 = 4" in shown and "**" not in shown
        assert "addition" in shown and "no carry" in shown
        await pilot.press("f4")
        await pilot.pause(0.2)
        assert not box.collapsed and app.chat_control.show_reasoning
        assert "The user asks for 2+2. That is 4." in screen_text(chat)
        await pilot.press("f4")
        await pilot.pause(0.2)
        assert box.collapsed and "The user asks" not in screen_text(chat)
        assert app.chat_control.chat.messages[-1].reasoning == "The user asks for 2+2. That is 4."


async def test_no_reasoning_no_reasoning_box(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await ask(pilot, "hi")
        assert not pane(app).query_one(AnswerView).query_one(Collapsible).display
        assert "Reasoning" not in screen_text(pane(app))


async def test_error_midstream_keeps_the_partial_answer_and_shows_the_error(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    srv.script = Script(frames=transcript("vllm-0.32-error-midstream.sse"))
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await ask(pilot, "Go")
        chat = pane(app)
        shown = screen_text(chat)
        assert "Partial answer kept" in shown
        assert (
            "⚠ EngineCore encountered an issue. See stack trace (above) for the root cause. (InternalServerError)"
        ) in shown
        assert chat.query(".chat-error")
        assert app.chat_control.chat.messages[-1].status == "error"


async def test_control_characters_show_as_pictures(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    srv.script = Script(frames=transcript("control-characters.sse"))
    app = make_app(srv, tmp_path, orin_snapshot, start_screen="chat")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        pane(app).input.value = "Colours \x1b[1m please"  # pasted: a key press of ESC would be Esc
        await ask(pilot, "")
        shown = screen_text(pane(app))
        for raw in ("\x1b", "\x07", "\x9b"):
            assert raw not in shown
        assert "plain ␛[31mred␛[0m ␛[2J␛[H␛]0;pwned␇bell␇ \\x9b31m c1 [bold]markup[/bold]" in shown
        assert "Colours ␛[1m please" in shown  # the question too
        # cleaned where it entered: the session (and so the store, exports, --json) hold the visible form
        assert app.chat_control.chat.messages[-1].content.startswith("plain ␛[31m")


async def test_unknown_model_404_is_shown_inline(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    srv.script = Script(status=404, body=json.dumps(UNKNOWN_MODEL))
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await ask(pilot, "hello?")
        shown = screen_text(pane(app))
        assert "⚠ The model `nope` does not exist. Valid aliases: tiny. (NotFoundError)" in shown
        answer = app.chat_control.chat.messages[-1]
        assert (answer.status, answer.content) == ("error", "")


# ---- the Chat screen ---------------------------------------------------------------------------------------------


async def test_f6_zooms_to_the_chat_screen_and_back(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    """The Chat screen shows the same conversation and the Server panel; F6 again goes back."""
    srv.script = Script(frames=token_frames(["Zoomed", " answer"]))
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await ask(pilot, "Before zoom")
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        full = app.screen.query_one(ChatPane)
        assert full.id == "chat-full" and full.input.has_focus
        await wait_for(pilot, lambda: "Zoomed answer" in screen_text(full))
        shown = screen_text(full)
        assert "Before zoom" in shown and "10+2 tokens · stop" in shown
        assert f"{srv.url} · {MODEL} (32768 ctx)" in shown
        detail = app.screen.query_one(ServerDetail)
        await wait_for(pilot, lambda: "health     Ready" in detail.body.text)
        lines = detail.body.text.splitlines()
        assert lines[0] == f"http://127.0.0.1:{srv.port}"
        assert "version    replay" in lines
        assert f"model      {MODEL} · max_model_len 32768" in lines
        assert lines[-1] == "no /metrics (SGLang needs --enable-metrics)"
        await pilot.pause(0.1)
        # the narrow panel wraps its lines
        assert f"health Ready version replay model {MODEL} · max_model_len 32768" in words(detail)
        srv.script = Script(frames=token_frames(["Second"]))
        await ask(pilot, "On the chat screen")
        assert "Second" in screen_text(full)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.pause(0.2)
        dash = screen_text(pane(app))
        assert "On the chat screen" in dash and "Second" in dash  # the dashboard pane followed
        body = srv.requests[-1]
        assert [m["content"] for m in body["messages"]] == ["Before zoom", "Zoomed answer", "On the chat screen"]


async def test_f6_while_an_answer_streams_shows_it_once(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    tokens = [f" w{i}" for i in range(30)]
    srv.script = Script(frames=token_frames(tokens), rate=6)  # 5 s: time to zoom in the middle
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await ask(pilot, "Stream on", wait=False)
        await wait_for(pilot, lambda: "w2" in screen_text(pane(app)), 5.0)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        assert app.chat_control.chat.answering is not None  # zoomed mid-answer
        dash_pane = app.screen_stack[-2].query_one(ChatPane)
        [hidden] = dash_pane.query(AnswerView)
        seen_at_zoom = hidden.source
        await wait_for(pilot, lambda: app.chat_control.chat.answering is None, 10.0)
        await pilot.pause(0.3)
        full = app.screen.query_one(ChatPane)
        [answer] = full.query(AnswerView)
        assert answer.source == "".join(tokens)  # every batch once, in order
        shown = words(full)
        assert shown.count("w0 w1 w2") == 1 and "".join(tokens).strip() in shown
        # the dashboard's pane, hidden under the Chat screen, drew nothing meanwhile ...
        assert hidden.source == seen_at_zoom and len(seen_at_zoom) < len("".join(tokens))
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.pause(0.3)
        # ... and shows the whole answer, once, when it is back in front
        [back] = pane(app).query(AnswerView)
        assert back.source == "".join(tokens) and "10+30 tokens" in screen_text(pane(app))


async def test_escape_with_nothing_streaming_leaves_the_chat(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(srv, tmp_path, orin_snapshot, start_screen="chat")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        assert isinstance(app.screen, ChatScreen) and pane(app).input.has_focus
        await pilot.press("escape")  # the Chat screen: back to the dashboard
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), 2.0)
        await pilot.press("a", "escape")  # the dashboard: from the input back to the servers panel
        await wait_for(pilot, lambda: app.screen.query_one(ServersPanel).has_focus, 2.0)


# ---- conversations -------------------------------------------------------------------------------------------


async def history_rows(pilot, table: DataTable, n: int) -> list[list[str]]:
    await wait_for(pilot, lambda: table.row_count == n, 5.0)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def open_conversations(pilot, app) -> HistoryScreen:
    """Ctrl+O from the chat: the conversations screen, once it is in front."""
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
    return app.screen


async def test_conversations_search_rename_export_delete(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await ask(pilot, "alpha question")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.chat_control.chat.messages == ())
        srv.script = Script(frames=token_frames(["Beta", " reply"]))
        await ask(pilot, "beta question")
        screen = await open_conversations(pilot, app)
        table = screen.query_one(DataTable)
        rows = await history_rows(pilot, table, 2)
        assert [r[0] for r in rows] == ["beta question", "alpha question"]  # newest first
        assert rows[0][2] == MODEL and rows[0][3] == "2"

        await pilot.press("slash")
        search = screen.query_one("#filter", Input)
        assert search.has_focus
        await pilot.press(*"alpha")
        rows = await history_rows(pilot, table, 1)
        assert rows[0][0] == "alpha question"
        assert "search 'alpha'" in screen.query_one("#title").text
        await pilot.press("enter")  # back to the table, the search stays
        assert table.has_focus

        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen))
        assert app.screen.query_one("#ask", Input).value == "alpha question"
        await pilot.press("home", "ctrl+k", *"Renamed alpha", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await wait_for(pilot, lambda: table.row_count == 1 and str(table.get_row_at(0)[0]) == "Renamed alpha", 5.0)
        with ChatStore(tmp_path / "c.sqlite3") as store:
            assert sorted(s.title for s in store.conversations()) == ["Renamed alpha", "beta question"]

        await pilot.press("e")
        exports = tmp_path / "exports"
        await wait_for(pilot, lambda: exports.is_dir() and any(exports.glob("*.md")), 5.0)
        [md] = list(exports.glob("*.md"))
        text = md.read_text(encoding="utf-8")
        assert "alpha question" in text and "Hello!" in text and "Renamed alpha" in text
        assert "beta question" not in text

        await pilot.press("escape")  # clears the search
        await history_rows(pilot, table, 2)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Delete 'beta question'?" in screen_text(app.screen)
        await pilot.press("y")
        rows = await history_rows(pilot, table, 1)
        assert rows[0][0] == "Renamed alpha"
        with ChatStore(tmp_path / "c.sqlite3") as store:
            assert [s.title for s in store.conversations()] == ["Renamed alpha"]
        await wait_for(pilot, lambda: app.chat_control.chat.messages == ())  # the open conversation was the deleted one


async def test_delete_can_be_cancelled_and_enter_opens(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await ask(pilot, "keep me")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.chat_control.chat.messages == ())
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        table = app.screen.query_one(DataTable)
        await history_rows(pilot, table, 1)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.pause(0.3)
        assert table.row_count == 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await wait_for(pilot, lambda: [m.content for m in app.chat_control.chat.messages] == ["keep me", "Hello!"])
        await pilot.pause(0.2)
        assert "keep me" in screen_text(pane(app)) and "Hello!" in screen_text(pane(app))


# ---- settings and model ------------------------------------------------------------------------------------------


async def test_settings_reject_bad_values_and_apply_good_ones(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("a", "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        dialog = app.screen
        assert "the model's context is 32768" in screen_text(dialog)
        await pilot.press("tab", *"5", "enter")  # tab selects the temperature; typing replaces it
        assert dialog.query_one("#set-temperature", Input).value == "5"
        await pilot.pause(0.1)
        assert app.screen is dialog  # kept open
        error = str(dialog.query_one("#settings-error").render())
        assert error == "⚠ Temperature: must be between 0 and 2"
        assert "⚠ Temperature: must be between 0 and 2" in screen_text(dialog)
        await pilot.press(
            "shift+tab", *"Answer in French.", "tab", *"0.25", "tab", "tab", *"64", "tab", *'{"top_k": 7}', "ctrl+s"
        )
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen))
        assert app.chat_control.chat.settings.temperature == 0.25 and app.chat_control.chat.settings.max_tokens == 64
        await pilot.pause(0.1)
        assert "temp 0.25 top_p 1 max 64" in pane(app).head.text
        await ask(pilot, "Bonjour")
        body = srv.requests[-1]
        assert (body["temperature"], body["top_p"], body["max_tokens"], body["top_k"]) == (0.25, 1.0, 64, 7)
        assert body["messages"] == [
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Bonjour"},
        ]


async def test_settings_escape_changes_nothing(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot
) -> None:
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        before = app.chat_control.chat.settings
        await pilot.press("a", "f3")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await pilot.press("tab", *"1.5", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert app.chat_control.chat.settings == before


async def test_f2_lists_the_servers_models(srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot) -> None:
    app = make_app(srv, tmp_path, orin_snapshot)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("a", "f2")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
        options = app.screen.query_one(OptionList)
        assert options.option_count == 1
        option = options.get_option_at_index(0)
        assert option.id == MODEL and str(option.prompt) == f"{MODEL}  · max_model_len 32768"
        assert options.highlighted == 0
        assert f"{MODEL}  · max_model_len 32768" in screen_text(app.screen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert app.chat_control.chat.model == MODEL


def test_shown_count_keeps_the_last_turns_within_both_budgets(monkeypatch) -> None:
    from console.ui.widgets import chat_pane

    monkeypatch.setattr(chat_pane, "SHOWN_CHARS", 100)
    monkeypatch.setattr(chat_pane, "SHOWN_MESSAGES", 3)
    assert chat_pane.shown_count(["a" * 10] * 5) == 3  # message budget
    assert chat_pane.shown_count(["a" * 40] * 5) == 2  # character budget
    assert chat_pane.shown_count(["q", "a" * 500]) == 1 and chat_pane.shown_count(["q", "a" * 500], at_least=2) == 2
    assert chat_pane.shown_count([]) == 0


async def test_old_turns_leave_the_pane_past_the_budget_and_stay_in_the_conversation(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot, monkeypatch
) -> None:
    from console.ui.widgets import chat_pane

    monkeypatch.setattr(chat_pane, "SHOWN_CHARS", 300)
    answer = [f" word{i}" for i in range(30)]  # ~210 characters: one turn fits, two do not
    app = make_app(srv, tmp_path, orin_snapshot, start_screen="chat")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        for n in range(3):
            srv.script = Script(frames=token_frames([f" turn{n}", *answer]))
            await ask(pilot, f"Question {n}")
        await pilot.pause(0.3)
        chat = pane(app)
        assert [v.source for v in chat.query(chat_pane.UserView)] == ["Question 2"]
        assert [v.source.split()[0] for v in chat.query(AnswerView)] == ["turn2"]
        assert "… 4 earlier messages (Ctrl+O lists them; export shows all)" in screen_text(chat)
        assert len(app.chat_control.chat.messages) == 6  # all kept; the next question sends them all
        srv.script = Script(frames=token_frames(["ok"]))
        await ask(pilot, "Question 3")
        assert [m["content"] for m in srv.requests[-1]["messages"]][:1] == ["Question 0"]
        await pilot.press("f6")  # back to the dashboard: its pane is drawn from the session, same budget
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.pause(0.3)
        assert [v.source for v in pane(app).query(chat_pane.UserView)] == ["Question 2", "Question 3"]  # 239 chars
        assert "… 4 earlier messages" in str(pane(app).query_one(".chat-note", Static).render())


async def test_reasoning_counts_against_the_budget_as_the_answer_ends_as_on_reload(
    srv: ReplayServer, tmp_path: Path, orin_snapshot: TelemetrySnapshot, monkeypatch
) -> None:
    from console.ui.widgets import chat_pane

    monkeypatch.setattr(chat_pane, "SHOWN_CHARS", 300)
    thinking = [f" step{i}" for i in range(30)]  # ~210 characters of reasoning: one turn fits, two do not
    app = make_app(srv, tmp_path, orin_snapshot, start_screen="chat")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        for n in range(2):
            srv.script = Script(frames=token_frames([f" turn{n}"], reasoning=thinking))
            await ask(pilot, f"Question {n}")
        await pilot.pause(0.3)
        assert [v.source for v in pane(app).query(chat_pane.UserView)] == ["Question 1"]
        await pilot.press("f6")  # the dashboard's pane is drawn from the session: the same turns
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.pause(0.3)
        assert [v.source for v in pane(app).query(chat_pane.UserView)] == ["Question 1"]
