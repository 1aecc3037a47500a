"""Markdown that grows while it streams, at a cost per batch that does not grow with it.

Textual's Markdown widget lays out every block again as an answer grows: measured here,
a 20,000-token answer took 250 s to draw (80 tokens/s).  Statics of Rich Markdown were
better but still re-rendered every piece on every layout.  This is a line-API widget:
finished pieces (``console.chat.mdsplit``) are rendered to strips once per width, only
the short tail is rendered again per batch, and drawing touches only the visible lines.

Text selection (mouse drag, then Ctrl+C) works through Textual's public line API: each drawn
line carries its offsets (``Strip.apply_offsets``), ``get_selection`` extracts from the text as
drawn and ``selection_updated`` redraws.  No helper here may take a name Textual's classes use
(an old ``_render`` shadowed ``Widget._render`` and made Ctrl+C raise TypeError):
tests/unit/test_no_textual_private_overrides.py keeps it so.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

from console.chat.mdsplit import MarkdownSplitter


class MarkdownStreamView(Widget):
    DEFAULT_CSS = "MarkdownStreamView { height: auto; }"

    def __init__(self, text: str = "", *, done: bool = False, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._splitter = MarkdownSplitter()
        self._source: list[str] = [text]
        self._pieces: list[str] = self._splitter.feed(text) + (self._splitter.finish() if done else [])
        self._tail = self._splitter.tail
        self._width = -1
        self._done_lines: list[Strip] = []  # the finished pieces, rendered at _width
        self._rendered = 0  # how many pieces _done_lines holds
        self._tail_lines: list[Strip] = []
        self._shown: dict[int, Strip] = {}  # finished lines as drawn (cropped, styled): they never change
        self._style: Style | None = None
        self._dark: bool | None = None  # the theme's dark flag the strips were rendered for

    def _theme_dark(self) -> bool:
        return bool(getattr(self.app.current_theme, "dark", True))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style, self._shown = None, {}
        if self._dark is not None and self._dark != self._theme_dark():
            # rendered for the other theme (code colours): _ensure_width renders every piece again
            self._width, self._done_lines, self._rendered, self._tail_lines = -1, [], 0, []

    @property
    def source(self) -> str:
        return "".join(self._source)

    @property
    def line_count(self) -> int:
        return len(self._done_lines) + len(self._tail_lines)

    def _piece_strips(self, text: str, width: int, after: int) -> list[Strip]:
        """The strips of the piece ``text`` drawn after the first ``after`` finished pieces."""
        if not text or width <= 0:
            return []
        from console.chat.mdrender import gap_after, piece_lines  # rich.markdown: ~20 ms, loaded by the first answer

        console = self.app.console
        dark = self._dark = self._theme_dark()
        lines = Strip.from_lines(piece_lines(console, console.options.update_width(width), text, dark))
        if lines and after and gap_after(self._pieces[after - 1]):
            lines.insert(0, Strip.blank(width))
        return lines

    def _update_tail(self) -> None:
        self._tail_lines = self._piece_strips(self._tail, self._width, len(self._pieces))

    def _ensure_width(self, width: int) -> None:
        """Render what is not rendered yet at ``width`` (everything again only when it changed)."""
        if width != self._width:
            self._width, self._done_lines, self._rendered, self._shown = width, [], 0, {}
            self._update_tail()
        while self._rendered < len(self._pieces):
            self._done_lines.extend(self._piece_strips(self._pieces[self._rendered], width, self._rendered))
            self._rendered += 1

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._ensure_width(width)
        return self.line_count

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        self._ensure_width(width)
        selection = self.text_selection
        span = selection.get_span(y) if selection is not None else None
        if span is None and y in self._shown:
            return self._shown[y]
        if self._style is None:
            self._style = self.rich_style  # costly to compute; changes only with the CSS or theme
        done = len(self._done_lines)
        if y < done:
            source, finished = self._done_lines[y], True
        elif y - done < len(self._tail_lines):
            source, finished = self._tail_lines[y - done], False
        else:
            return Strip.blank(width, self._style)
        line = source.crop_extend(0, width, self._style).apply_style(self._style)
        if span is not None:
            selected = self.screen.get_component_rich_style("screen--selection")
            return _shade(line, *span, selected).apply_offsets(0, y)
        if finished:  # where a mouse drag starts and ends, for text selection: drawn once, kept
            line = self._shown[y] = line.apply_offsets(0, y)
        # The streaming tail is drawn again every frame: offsets there would make new styles for every segment every
        # frame; it is selectable once its piece is finished.
        return line

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text as drawn (the offsets ``render_line`` gave each cell)."""
        text = "\n".join(line.text.rstrip() for line in (*self._done_lines, *self._tail_lines))
        return selection.extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()  # selected lines skip the _shown cache, so they draw shaded, then plain again

    async def add(self, text: str) -> None:
        """Append streamed text: finished pieces render once, the tail again."""
        if not text:
            return
        self._source.append(text)
        self._pieces.extend(self._splitter.feed(text))
        self._tail = self._splitter.tail
        if self._width > 0:
            self._update_tail()
        self.refresh(layout=True)

    async def finish(self) -> None:
        """The stream ended: what is left is the last piece."""
        self._pieces.extend(self._splitter.finish())
        self._tail, self._tail_lines = "", []
        self.refresh(layout=True)


def _shade(line: Strip, start: int, end: int, style: Style) -> Strip:
    """``line`` with the characters ``start``..``end`` (-1: to the end) in ``style``.

    Characters, not cells: ``Strip.apply_offsets`` and ``Selection`` count characters."""
    segments: list[Segment] = []
    x = 0
    for text, seg_style, control in line:
        n = len(text)
        a, b = max(start - x, 0), n if end == -1 else min(end - x, n)
        if control or a >= b:
            segments.append(Segment(text, seg_style, control))
        else:
            shaded = seg_style + style if seg_style else style
            segments.extend(
                Segment(part, part_style)
                for part, part_style in ((text[:a], seg_style), (text[a:b], shaded), (text[b:], seg_style))
                if part
            )
        x += n
    return Strip(segments, line.cell_length)
