"""The HUD: read-only, big digits, for a workshop LCD from 40x12 up (and a kiosk browser).

Hostname and IP, the served model and its state, and six figures; the layout (``console.hud.layout``)
picks the digit size for the screen and rotates pages when the figures do not fit on one.  ``h``
raises or lowers the workshop help flag, which turns on a full-width banner on every HUD of this
device.  Nothing here does I/O: the app's threads read the sources and post messages.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.geometry import Region, Size
from textual.screen import Screen
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from console.hud import bigdigits
from console.hud.layout import Plan, plan, text_row
from console.hud.view import ERROR, READY, STARTING, HudView, Tile, build, pick_server
from console.keymap import HUD_BINDINGS
from console.runtime.commands import SetHelpFlag
from console.runtime.state import ConsoleState, server_rows
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.widgets.sparkline import changed_span
from console.ui.widgets.text import LiveText

STATE_CLASS = {READY: "-ready", STARTING: "-starting", ERROR: "-error"}
FIGURES_EVERY_S = 2.0  # figures repaint at most this often: a wall display, and half the bytes over SSH
HELP_TEXT = "HELP REQUESTED"


class HudTile(Widget):
    """One figure: its label over the value in big digits, the unit after the last row.

    Drawn line by line: a new value asks for the rows whose cells changed, from the first changed cell to
    the last, so a figure going from 38 to 39 rewrites the rows of its last digit that differ, not the
    whole tile (a Static laid the screen out and wrote every row of the tile, twice as many once the digits
    were stretched, issue 15)."""

    def __init__(self) -> None:
        super().__init__()
        self._key: tuple | None = None
        self._rows: list[str] = []
        self._label = False  # the first row is the label (big digits) or the whole figure (normal type)
        self._unit = ""  # after the last row, in bold

    @property
    def tile(self) -> Tile | None:
        """The figure it shows (None before the first)."""
        return self._key[0] if self._key else None

    def show(self, tile: Tile, scale: int, ascii_only: bool, tall: int = 0) -> None:
        key = (tile, scale, ascii_only, tall)
        if key == self._key:
            return  # nothing changed: nothing is written to the terminal
        self._key = key
        for level in ("warn", "crit"):
            self.set_class(tile.level == level, f"-{level}")
        old, old_unit = self._rows, self._unit
        if scale == 0:
            rows, self._label, self._unit = [text_row(tile, self.screen.size.width)], False, ""
        else:
            lines = bigdigits.render(tile.value, scale, ascii_only, tall)
            width = max((len(line) for line in lines), default=0)
            rows = [tile.label, *lines[:-1], *(lines[-1:] and [lines[-1].ljust(width)])]
            self._label, self._unit = True, " " + tile.unit if tile.unit and lines else ""
        self._rows = rows
        if len(old) != len(rows) or _width(old, old_unit) != _width(rows, self._unit):
            self.refresh(layout=True)
            return
        for y, (was, now) in enumerate(zip(old, rows, strict=True)):
            room = max(len(was), len(now))
            span = changed_span(was.ljust(room), now.ljust(room))
            if span is not None:
                self.refresh(Region(span[0], y, span[1] - span[0], 1))
        if old_unit != self._unit:  # as wide as the wider of the two: a shorter unit must not leave the old's tail
            start = min(len(old[-1]), len(rows[-1]))
            end = max(len(old[-1]) + len(old_unit), len(rows[-1]) + len(self._unit))
            self.refresh(Region(start, len(rows) - 1, end - start, 1))

    def render(self) -> Text:
        """The tile as text (what it shows, for tests and screen readers)."""
        text = Text()
        for y, row in enumerate(self._rows):
            text.append(("\n" if y else "") + row)
        return text.append(self._unit)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return _width(self._rows, self._unit)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._rows)

    def render_line(self, y: int) -> Strip:
        width, base = self.size.width, self.rich_style
        if y >= len(self._rows):
            return Strip.blank(width, base)
        style = base + Style(bold=True, dim=True) if y == 0 and self._label else base
        segments = [Segment(self._rows[y], style)]
        if y == len(self._rows) - 1 and self._unit:
            segments.append(Segment(self._unit, base + Style(bold=True)))
        return Strip(segments).adjust_cell_length(width, base)


def _width(rows: list[str], unit: str) -> int:
    """Cells a tile takes: its widest row, the unit after the last one."""
    if not rows:
        return 0
    return max(max((cell_len(r) for r in rows[:-1]), default=0), cell_len(rows[-1]) + cell_len(unit))


class HudScreen(Screen):
    BINDINGS = bindings(HUD_BINDINGS)
    DEFAULT_CSS = """
    HudScreen { background: $background; }
    HudScreen #hud-help { display: none; width: 100%; height: auto; background: $error; color: $text;
                          text-style: bold; content-align: center middle; text-align: center; }
    HudScreen #hud-help.-on { display: block; }
    HudScreen #hud-help.-tall { height: 3; }
    HudScreen #hud-head { height: 1; color: $text-muted; }
    HudScreen #hud-status { height: 1; text-style: bold; }
    HudScreen #hud-status.-ready { color: $success; }
    HudScreen #hud-status.-starting { color: $warning; }
    HudScreen #hud-status.-error { color: $error; }
    HudScreen #hud-tiles { height: 1fr; grid-gutter: 1 2; grid-rows: auto; }
    HudScreen HudTile { height: auto; color: $accent; }
    HudScreen HudTile.-warn { color: $warning; }
    HudScreen HudTile.-crit { color: $error; }
    """

    def __init__(self, ascii_only: bool = False) -> None:
        super().__init__()
        self.ascii_only = ascii_only
        self.view: HudView | None = None
        self.plan: Plan | None = None
        self.page = 0
        self._timer: Timer | None = None
        self._figures_due = False

    def compose(self) -> ComposeResult:
        yield LiveText(HELP_TEXT, id="hud-help")
        yield LiveText("", id="hud-head")
        yield LiveText("", id="hud-status")
        yield Grid(id="hud-tiles")

    def on_mount(self) -> None:
        seconds = host(self).config.hud_page_seconds
        self._timer = self.set_interval(seconds, self.next_page, pause=True)
        self.set_interval(FIGURES_EVERY_S, self._repaint_figures)
        self.show_state(host(self).state)
        self._show_tiles()

    def on_screen_resume(self) -> None:
        self.show_state(host(self).state)

    def on_resize(self) -> None:
        self.plan = None  # laid out again for the new size
        self.show_state(host(self).state)

    def show_state(self, state: ConsoleState) -> None:
        row = pick_server(server_rows(state), state.servers.selected)
        status = state.servers.status.get(row.url) if row is not None and row.url else None
        startup = state.startups.get(row.container.id) if row is not None and row.container else None
        hud = state.hud
        view = build(state.telemetry.merged, row, status, startup, hud.host, hud.ip, hud.help_flag)
        self.view = view
        help_box = self.query_one("#hud-help", LiveText)
        help_box.set_class(view.help, "-on")
        help_box.set_class(self.size.height >= 24, "-tall")
        chrome = 2 + ((3 if self.size.height >= 24 else 1) if view.help else 0)
        wanted = plan(view.tiles, self.size.width, max(1, self.size.height - chrome), self.ascii_only)
        laid_out = wanted != self.plan
        if laid_out:
            self._lay_out(wanted)
        page = f"  ·  page {self.page + 1}/{len(self.plan.pages)}" if self.plan and self.plan.rotating else ""
        self.query_one("#hud-head", LiveText).set(f"{view.head}{page}")
        status_box = self.query_one("#hud-status", LiveText)
        status_box.set(view.status[: max(1, self.size.width)])
        for phase, cls in STATE_CLASS.items():
            status_box.set_class(view.state == phase, cls)
        if laid_out:
            self._show_tiles()
        else:
            self._figures_due = True  # shown by the next tick of _repaint_figures

    def _repaint_figures(self) -> None:
        if self._figures_due:
            self._figures_due = False
            self._show_tiles()

    def _lay_out(self, wanted: Plan) -> None:
        self.plan = wanted
        self.page = min(self.page, len(wanted.pages) - 1)
        grid = self.query_one("#hud-tiles", Grid)
        grid.styles.grid_size_columns = wanted.columns
        per_page = max(len(p) for p in wanted.pages)
        tiles = list(grid.query(HudTile))
        if len(tiles) != per_page:
            grid.remove_children()
            grid.mount_all([HudTile() for _ in range(per_page)])
            self.call_after_refresh(self._show_tiles)  # the new tiles, once mounted (the old are still listed now)
        if self._timer is not None:
            (self._timer.resume if wanted.rotating else self._timer.pause)()

    def _show_tiles(self) -> None:
        if self.view is None or self.plan is None:
            return
        shown = self.plan.pages[self.page]
        for i, widget in enumerate(self.query(HudTile)):
            widget.display = i < len(shown)
            if i < len(shown):
                widget.show(self.view.tiles[shown[i]], self.plan.scale, self.ascii_only, self.plan.tall)

    def next_page(self) -> None:
        if self.plan is not None and self.plan.rotating:
            self.page = (self.page + 1) % len(self.plan.pages)
            self.show_state(host(self).state)
            self._show_tiles()

    def action_next_page(self) -> None:
        self.next_page()

    def action_toggle_help(self) -> None:
        host(self).send(SetHelpFlag(not host(self).runtime.state.hud.help_flag))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.app.check_action(action, parameters)  # kiosk: only the help flag and the pages

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
