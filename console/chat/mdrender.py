"""Markdown pieces (``console.chat.mdsplit``) drawn one under the other as Rich draws the whole text.

Rich separates top-level blocks with one blank line; a piece drawn on its own has none before
its first block, and a piece starting with a quote or a list gets a stray leading one (left over
from the nested paragraph's end).  :func:`piece_lines` drops the stray line and :func:`gap_after`
says where the blank line goes, so the pieces draw exactly like the whole answer.  No Textual.
"""

from __future__ import annotations

import re

from rich.console import Console, ConsoleOptions
from rich.markdown import Markdown
from rich.segment import Segment

from console.chat.mdsplit import ends_block

THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")


def markdown(text: str, dark: bool = True) -> Markdown:
    # hyperlinks off: a link's URL is model output and must not become a terminal escape
    return Markdown(text, code_theme="monokai" if dark else "default", hyperlinks=False)


def piece_lines(console: Console, options: ConsoleOptions, text: str, dark: bool = True) -> list[list[Segment]]:
    """The lines of one piece at ``options``' width, without Rich's stray leading blank line."""
    if not text:
        return []
    segments = list(console.render(markdown(text, dark), options))
    if segments and segments[0] == Segment.line():
        segments = segments[1:]
    return list(Segment.split_lines(segments))


def gap_after(piece: str) -> bool:
    """A blank line goes between this piece and the next (it ended at a block's end, not a rule)."""
    if not ends_block(piece):
        return False
    lines = piece.rstrip().split("\n")
    rule = THEMATIC_BREAK.match(lines[-1]) and (len(lines) == 1 or not lines[-2].strip())
    return not rule
