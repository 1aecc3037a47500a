"""MarkdownStreamView: finished pieces are drawn for the theme in use, also after it changes;
text selected in an answer is drawn selected and Ctrl+C copies it."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.geometry import Offset
from textual.selection import Selection

from console.chat.model import ChatMessage
from console.ui.widgets.chat_pane import AnswerView
from console.ui.widgets.markdown_stream import MarkdownStreamView
from tests.app.helpers import wait_for

ANSWER = "Some code:\n\n```python\nprint('hello')\n```\n\nThat is all.\n"


class OneAnswer(App):
    def compose(self) -> ComposeResult:
        yield MarkdownStreamView(ANSWER, done=True, classes="first")


def lines(view: MarkdownStreamView) -> list[list]:
    return [list(view.render_line(y)) for y in range(view.line_count)]


async def test_a_theme_change_redraws_finished_pieces() -> None:
    app = OneAnswer()
    async with app.run_test(size=(60, 20)) as pilot:
        app.theme = "textual-dark"
        await pilot.pause()
        view = app.query_one(".first", MarkdownStreamView)
        dark = lines(view)
        app.theme = "textual-light"  # the code block's colours follow the theme (monokai / default)
        await pilot.pause()
        fresh = MarkdownStreamView(ANSWER, done=True)
        await app.screen.mount(fresh)
        await pilot.pause()
        assert lines(fresh) != dark  # the two themes do draw the code differently
        assert lines(view) == lines(fresh)


COPY_ANSWER = "First paragraph here.\n\nSecond line with **bold** words.\n"


class ChatAnswer(App):
    def compose(self) -> ComposeResult:
        yield AnswerView(ChatMessage("assistant", COPY_ANSWER))


async def test_ctrl_c_copies_text_selected_with_the_mouse_in_an_answer() -> None:
    """Drag across the answer's first line, press Ctrl+C: the selected words are on the clipboard.

    The old widget's ``_render`` shadowed Textual's ``Widget._render``: the copy raised TypeError."""
    app = ChatAnswer()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(MarkdownStreamView)
        await wait_for(pilot, lambda: view.line_count > 0 and view.size.width > 0)
        first = view.render_line(0).text
        start = first.index("paragraph")
        await pilot.mouse_down(view, offset=(start, 0))
        await pilot.hover(view, offset=(start + len("paragraph") - 1, 0))
        await pilot.mouse_up(view, offset=(start + len("paragraph") - 1, 0))
        await wait_for(pilot, lambda: view in app.screen.selections)
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.clipboard != "")
        assert app.clipboard == "paragraph"
        assert app.is_running and app.return_code is None


async def test_ctrl_c_copies_a_selection_across_lines_as_the_answer_reads() -> None:
    app = ChatAnswer()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(MarkdownStreamView)
        await wait_for(pilot, lambda: view.line_count >= 3 and view.size.width > 0)
        texts = [view.render_line(y).text.rstrip() for y in range(view.line_count)]
        assert texts[:3] == ["First paragraph here.", "", "Second line with bold words."]
        app.screen.selections = {view: Selection(Offset(6, 0), Offset(11, 2))}  # the public selection API
        await pilot.pause()
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.clipboard != "")
        assert app.clipboard == "paragraph here.\n\nSecond line"
        assert app.is_running and app.return_code is None


async def test_a_selection_is_drawn_highlighted_and_cleared() -> None:
    app = ChatAnswer()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(MarkdownStreamView)
        await wait_for(pilot, lambda: view.line_count > 0 and view.size.width > 0)
        plain = list(view.render_line(0))
        app.screen.selections = {view: Selection(Offset(0, 0), Offset(5, 0))}
        await pilot.pause()
        selected = list(view.render_line(0))
        assert "".join(s.text for s in selected) == "".join(s.text for s in plain)
        highlight = app.screen.get_component_rich_style("screen--selection")
        shaded = "".join(s.text for s in selected if s.style and s.style.bgcolor == highlight.bgcolor)
        assert shaded == "First"
        app.screen.clear_selection()
        await pilot.pause()
        assert [s.text for s in view.render_line(0)] == [s.text for s in plain]
        assert not any(s.style and s.style.bgcolor == highlight.bgcolor for s in view.render_line(0))
