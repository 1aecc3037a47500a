"""MarkdownStreamView: finished pieces are drawn for the theme in use, also after it changes."""

from __future__ import annotations

from textual.app import App, ComposeResult

from console.ui.widgets.markdown_stream import MarkdownStreamView

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
