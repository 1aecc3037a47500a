"""The bottom line of keys: what it lists, how it fits a narrow terminal, focus changes, clicks."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.pilot import Pilot
from textual.widgets import Input

from console.ui.widgets.key_hints import KeyHints
from tests.app.helpers import wait_for


class Pane(Vertical, can_focus=True):
    BINDINGS = [Binding("e", "edit", "Edit pane"), Binding("x", "hidden", "Not shown", show=False)]

    def action_edit(self) -> None:
        self.app.edits += 1  # type: ignore[attr-defined]


class HintsApp(App[None]):
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "reload", "Reload"),
        Binding("f5", "reload", "Reload again"),  # a second key for one action: listed once, as on the Footer
        Binding("d", "nothing", "Disabled"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.reloads = self.edits = 0

    def compose(self) -> ComposeResult:
        yield Pane(id="pane")
        yield Input(id="input")
        yield KeyHints()

    def action_reload(self) -> None:
        self.reloads += 1

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if action == "nothing" else True  # None: shown dimmed, does nothing


def line(app: App[None]) -> str:
    return app.screen.query_one(KeyHints).render().plain


async def pane_focused(app: HintsApp, pilot: Pilot[None]) -> str:
    """Focus the pane and wait until the line lists its key; returns the line."""
    app.query_one("#pane").focus()
    await wait_for(pilot, lambda: "Edit pane" in line(app))
    return line(app)


async def test_lists_the_shown_keys_of_the_focused_widget_and_screen_with_the_palette_at_the_right() -> None:
    app = HintsApp()
    async with app.run_test(size=(100, 10)) as pilot:
        text = await pane_focused(app, pilot)
        assert text.startswith(" e Edit pane ")
        assert " q Quit " in text and " r Reload " in text and "Reload again" not in text
        assert "Not shown" not in text
        assert text.rstrip().endswith("^p palette") and len(text) == 100  # the palette's key at the right edge
        hints = app.query_one(KeyHints)
        assert [e[0] for e in hints.entries() if not e[3]] == ["d"]  # the disabled action is listed, dimmed

        app.query_one("#input").focus()  # the pane's keys go with its focus; letters now type into the input
        await wait_for(pilot, lambda: "Edit pane" not in line(app))
        assert " f5 Reload again " in line(app) and " q Quit " not in line(app)


async def test_a_narrow_terminal_cuts_the_list_with_an_ellipsis_and_keeps_the_palette() -> None:
    app = HintsApp()
    async with app.run_test(size=(40, 10)) as pilot:
        text = await pane_focused(app, pilot)
        assert len(text) == 40 and "…" in text and text.rstrip().endswith("^p palette")
        assert "Disabled" not in text  # what does not fit is left out, never wrapped onto a hidden line


async def test_a_click_on_a_key_presses_it_and_a_click_on_a_disabled_one_does_nothing() -> None:
    app = HintsApp()
    async with app.run_test(size=(100, 10)) as pilot:
        text = await pane_focused(app, pilot)
        hints = app.query_one(KeyHints)
        await pilot.click(KeyHints, offset=(text.index("Reload") - 2, 0))
        await wait_for(pilot, lambda: app.reloads == 1)
        await pilot.click(KeyHints, offset=(text.index("Edit pane"), 0))
        await wait_for(pilot, lambda: app.edits == 1)
        assert hints.key_at(text.index("Disabled")) == ""  # disabled: a click rings the bell, runs nothing
        await pilot.click(KeyHints, offset=(text.index("Disabled"), 0))
        await pilot.pause()
        assert (app.reloads, app.edits) == (1, 1)
