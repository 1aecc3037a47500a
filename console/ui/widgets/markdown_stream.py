"""Markdown that grows while it streams, at a cost per batch that does not grow with it.

Textual's Markdown widget lays out every block again as an answer grows: measured here,
a 20,000-token answer took 250 s to draw (80 tokens/s).  Statics of Rich Markdown were
better but still re-rendered every piece on every layout.  This is a line-API widget:
finished pieces (``console.chat.mdsplit``) are rendered to strips once per width, only
the short tail is rendered again per batch, and drawing touches only the visible lines.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from console.chat.mdrender import gap_after, piece_lines
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
        self._style = None
        self._dark: bool | None = None  # the theme's dark flag the strips were rendered for

    def _theme_dark(self) -> bool:
        return bool(getattr(self.app.current_theme, "dark", True))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style, self._shown = None, {}
        if self._dark is not None and self._dark != self._theme_dark():
            # rendered for the other theme (code colours): _ensure renders every piece again
            self._width, self._done_lines, self._rendered, self._tail_lines = -1, [], 0, []

    @property
    def source(self) -> str:
        return "".join(self._source)

    @property
    def line_count(self) -> int:
        return len(self._done_lines) + len(self._tail_lines)

    def _render(self, text: str, width: int, after: int) -> list[Strip]:
        """The strips of the piece ``text`` drawn after the first ``after`` finished pieces."""
        if not text or width <= 0:
            return []
        console = self.app.console
        dark = self._dark = self._theme_dark()
        lines = Strip.from_lines(piece_lines(console, console.options.update_width(width), text, dark))
        if lines and after and gap_after(self._pieces[after - 1]):
            lines.insert(0, Strip.blank(width))
        return lines

    def _render_tail(self) -> None:
        self._tail_lines = self._render(self._tail, self._width, len(self._pieces))

    def _ensure(self, width: int) -> None:
        """Render what is not rendered yet at ``width`` (everything again only when it changed)."""
        if width != self._width:
            self._width, self._done_lines, self._rendered, self._shown = width, [], 0, {}
            self._render_tail()
        while self._rendered < len(self._pieces):
            self._done_lines.extend(self._render(self._pieces[self._rendered], width, self._rendered))
            self._rendered += 1

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._ensure(width)
        return self.line_count

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        self._ensure(width)
        if y in self._shown:
            return self._shown[y]
        if self._style is None:
            self._style = self.rich_style  # costly to compute; changes only with the CSS or theme
        done = len(self._done_lines)
        if y < done:
            line = self._done_lines[y].crop_extend(0, width, self._style).apply_style(self._style)
            self._shown[y] = line
            return line
        if y - done < len(self._tail_lines):
            return self._tail_lines[y - done].crop_extend(0, width, self._style).apply_style(self._style)
        return Strip.blank(width, self._style)

    async def add(self, text: str) -> None:
        """Append streamed text: finished pieces render once, the tail again."""
        if not text:
            return
        self._source.append(text)
        self._pieces.extend(self._splitter.feed(text))
        self._tail = self._splitter.tail
        if self._width > 0:
            self._render_tail()
        self.refresh(layout=True)

    async def finish(self) -> None:
        """The stream ended: what is left is the last piece."""
        self._pieces.extend(self._splitter.finish())
        self._tail, self._tail_lines = "", []
        self.refresh(layout=True)
