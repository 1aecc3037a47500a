"""Streaming Markdown cut into finished pieces and a live tail (pure).

A chat answer can be 20,000+ tokens.  Re-rendering (or re-laying-out) the whole answer
for every batch makes the cost of each batch grow with the answer, and the pane falls
behind.  This splitter hands out finished pieces of about ``target`` characters, cut
at blank lines outside code fences (before a line that starts a new block, so an
indented continuation stays with its list item), so the UI renders each piece once and
re-renders only the short tail.  Pieces cut at a blank line, drawn one under the other
with a blank line between (``console.chat.mdrender``), look exactly like the whole text.
Output without blank lines is still cut: at a line end past ``hard`` characters (a code
fence is closed there and reopened in the next piece), and at a space when a single line
grows past ``hard``.
"""

from __future__ import annotations

import re

FENCE = re.compile(r"^ {0,3}(```+|~~~+)")
LIST_ITEM = re.compile(r"^([-*+]|\d{1,9}[.)])(\s|$)")  # a list goes on: keep its items in one piece


class MarkdownSplitter:
    def __init__(self, target: int = 400, hard: int = 6000) -> None:
        self.target, self.hard = target, hard
        self._lines: list[str] = []  # complete lines (with their \n) of the current piece
        self._size = 0
        self._partial = ""  # the last line, not ended yet
        self._fence: str | None = None  # the opening line of the fence we are inside

    @property
    def tail(self) -> str:
        """What is not finished yet: render it again after each feed."""
        return "".join(self._lines) + self._partial

    def feed(self, text: str) -> list[str]:
        """Add streamed text; returns the pieces it finished (render each once)."""
        done: list[str] = []
        self._partial += text
        while "\n" in self._partial:
            line, self._partial = self._partial.split("\n", 1)
            self._add_line(line + "\n", done)
        if len(self._partial) > self.hard:  # one endless line: cut it at a space
            cut = self._partial.rfind(" ", 0, self.hard) + 1 or self.hard
            head, self._partial = self._partial[:cut], self._partial[cut:]
            self._lines.append(head + "\n")
            self._size += len(head)
            done.append(self._take())
        return done

    def finish(self) -> list[str]:
        """The stream ended: the tail becomes the last piece."""
        rest = self.tail
        self._lines, self._size, self._partial, self._fence = [], 0, "", None
        return [rest] if rest else []

    def _add_line(self, line: str, done: list[str]) -> None:
        if (
            self._fence is None
            and self._size >= self.target
            and self._lines
            and not self._lines[-1].strip()
            and line[:1] not in (" ", "\t")
            and line.strip()
            and not LIST_ITEM.match(line)
        ):
            done.append(self._take())  # the blank line before ended a block, and this line starts one
        m = FENCE.match(line)
        if m:
            if self._fence is None:
                self._fence = line.rstrip("\n")
            elif line.strip().startswith(FENCE.match(self._fence).group(1)[:3]):  # type: ignore[union-attr]
                self._fence = None
        self._lines.append(line)
        self._size += len(line)
        if self._size >= self.hard and not (self._fence is None and not line.strip()):
            if self._fence is not None:
                opener = self._fence
                self._lines.append(opener[: len(FENCE.match(opener).group(0))].strip() + "\n")  # type: ignore[union-attr]
                done.append(self._take())
                self._lines, self._size = [opener + "\n"], len(opener) + 1
            else:
                done.append(self._take())

    def _take(self) -> str:
        piece = "".join(self._lines)
        self._lines, self._size = [], 0
        return piece


def ends_block(piece: str) -> bool:
    """The piece was cut at a blank line: draw a blank line between it and the next."""
    return piece.endswith("\n") and not piece[:-1].rpartition("\n")[2].strip()
