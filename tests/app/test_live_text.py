"""LiveText lays the screen out again only when its new text needs other room than the old one."""

from __future__ import annotations

from textual.app import App, ComposeResult

from console.ui.widgets.text import LiveText
from tests.app.helpers import wait_for


class TextApp(App[None]):
    CSS = """
    #fixed { width: 20; }
    #auto { width: auto; }
    #hidden { display: none; }
    """

    def compose(self) -> ComposeResult:
        yield LiveText("GPU 12%", id="fixed")
        yield LiveText("GPU 12%", id="fill")  # no width: it fills the screen's width
        yield LiveText("GPU 12%", id="auto")
        yield LiveText("GPU 12%", id="hidden")


async def test_a_new_reading_of_the_same_size_is_drawn_without_a_layout_and_anything_else_gets_one() -> None:
    app = TextApp()
    async with app.run_test(size=(60, 12)) as pilot:
        fixed, fill, auto, hidden = (app.query_one(f"#{i}", LiveText) for i in ("fixed", "fill", "auto", "hidden"))
        await wait_for(pilot, lambda: fixed.content_size.width == 20)
        assert fixed.same_room("GPU 12%", "GPU 100%") and fill.same_room("GPU 12%", "GPU 100%")
        assert not fixed.same_room("GPU 12%", "GPU 12%\nMEM 3%")  # a line more: taller
        assert not fixed.same_room("GPU 12%", "x" * 21)  # wraps at 20 columns: taller
        assert not auto.same_room("GPU 12%", "GPU 100%")  # its width follows the text
        assert hidden.same_room("GPU 12%", "a\nb\nc")  # not shown: showing it lays it out

        asked: list[bool] = []  # the layout= of each refresh the updates ask for
        refresh = fixed.refresh
        fixed.refresh = lambda *a, **k: (asked.append(k.get("layout", False)), refresh(*a, **k))[1]  # type: ignore[method-assign]
        fixed.set("GPU 100%")
        await pilot.pause()
        assert asked == [False] and str(fixed.render()) == "GPU 100%"
        fixed.set("GPU 100%\nMEM 3%")
        await wait_for(pilot, lambda: fixed.size.height == 2)  # the taller text got its room
        assert asked[1] is True
