"""Markdown that grows while it streams, at a cost per batch that does not grow with it.

Textual's Markdown widget lays out every block again as an answer grows: measured here,
a 20,000-token answer took 250 s to draw (80 tokens/s).  This view renders finished
pieces (``console.chat.mdsplit``) once each as Rich Markdown in a Static and re-renders
only the short tail: the same answer draws in about 4 s.
"""

from __future__ import annotations

from rich.markdown import Markdown as RichMarkdown
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from console.chat.mdsplit import MarkdownSplitter


def render(text: str, dark: bool = True) -> RichMarkdown:
    # hyperlinks off: a link's URL is model output and must not become a terminal escape
    return RichMarkdown(text, code_theme="monokai" if dark else "default", hyperlinks=False)


class MarkdownStreamView(Vertical):
    DEFAULT_CSS = """
    MarkdownStreamView { height: auto; }
    MarkdownStreamView > Static { height: auto; }
    """

    def __init__(self, text: str = "", *, done: bool = False, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._splitter = MarkdownSplitter()
        self._source: list[str] = [text]
        self._first = self._splitter.feed(text) + (self._splitter.finish() if done else [])
        self._tail = Static("", classes="md-tail")

    @property
    def source(self) -> str:
        return "".join(self._source)

    @property
    def _dark(self) -> bool:
        return bool(getattr(self.app.current_theme, "dark", True))

    def compose(self) -> ComposeResult:
        dark = self._dark
        for piece in self._first:
            yield Static(render(piece, dark), classes="md-piece")
        self._tail.update(render(self._splitter.tail, dark) if self._splitter.tail else "")
        yield self._tail

    async def add(self, text: str) -> None:
        """Append streamed text: new finished pieces are mounted, the tail redrawn."""
        if not text:
            return
        self._source.append(text)
        dark = self._dark
        pieces = self._splitter.feed(text)
        if pieces:
            await self.mount_all([Static(render(p, dark), classes="md-piece") for p in pieces], before=self._tail)
        tail = self._splitter.tail
        self._tail.update(render(tail, dark) if tail else "")

    async def finish(self) -> None:
        """The stream ended: what is left is the last piece."""
        pieces = self._splitter.finish()
        if pieces:
            self._tail.update(render(pieces[0], self._dark))
