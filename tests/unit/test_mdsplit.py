"""The streaming Markdown splitter: pieces cut where rendering them apart changes nothing."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from console.chat.mdrender import gap_after, piece_lines
from console.chat.mdsplit import MarkdownSplitter, ends_block


def run(text: str, step: int, **kw: int) -> list[str]:
    s = MarkdownSplitter(**kw)
    pieces: list[str] = []
    for i in range(0, len(text), step):
        pieces += s.feed(text[i : i + step])
    return pieces + s.finish()


PARAS = "\n\n".join(f"paragraph {i} " + "word " * 30 for i in range(20))


@pytest.mark.parametrize("step", [1, 7, 100, 10_000])
def test_pieces_are_the_text_cut_at_blank_lines(step: int) -> None:
    pieces = run(PARAS, step, target=400, hard=2000)
    assert "".join(pieces) == PARAS  # nothing lost, nothing added, in order, whatever the chunking
    assert len(pieces) > 3
    for piece in pieces[:-1]:
        assert piece.endswith("\n\n") and len(piece) >= 400  # cut only after a blank line, once big enough


def test_small_text_stays_in_the_tail_until_finish() -> None:
    s = MarkdownSplitter(target=400, hard=2000)
    assert s.feed("Hello **wor") == [] and s.feed("ld**\n\nmore") == []
    assert s.tail == "Hello **world**\n\nmore"
    assert s.finish() == ["Hello **world**\n\nmore"] and s.tail == ""


def test_blank_lines_inside_a_code_fence_do_not_cut() -> None:
    code = "```python\n" + "x = 1\n\n" * 100 + "```\n\nafter\n"
    pieces = run("intro\n\n" + code, 13, target=50, hard=100_000)
    fenced = [p for p in pieces if "```python" in p]
    assert len(fenced) == 1 and fenced[0].count("```") == 2  # the whole fence in one piece
    assert "".join(pieces) == "intro\n\n" + code


def test_a_fence_longer_than_hard_is_closed_and_reopened() -> None:
    code = "```sh\n" + "".join(f"echo {i}\n" for i in range(400)) + "```\n"
    pieces = run(code, 64, target=100, hard=500)
    assert len(pieces) > 3
    for piece in pieces:
        assert piece.startswith("```sh\n") and piece.rstrip("\n").endswith("```")  # each renders as code
    body = "".join(p.removeprefix("```sh\n").rstrip("\n").removesuffix("```") for p in pieces)
    assert body.split() == code.removeprefix("```sh\n").removesuffix("```\n").split()


def test_text_without_newlines_is_cut_at_spaces() -> None:
    text = "tok " * 5000  # 20,000 characters, one line, as a random-weight model writes
    pieces = run(text, 50, target=2000, hard=6000)
    assert all(len(p) <= 6001 for p in pieces)
    assert len(pieces) >= 4
    assert "".join(p.rstrip("\n") for p in pieces).split() == text.split()


def test_tail_stays_bounded_whatever_the_line_lengths() -> None:
    """Redrawing the tail is the per-batch cost: at most ``hard`` of lines plus ``hard`` of one line."""
    s = MarkdownSplitter(target=2000, hard=6000)
    longest = 0
    for i in range(6000):
        s.feed(f"w{i} " + ("\n" if i % 500 == 499 else ""))
        longest = max(longest, len(s.tail))
    assert longest <= 2 * 6000 + 10


def rendered(pieces: list[str], width: int = 80) -> list[str]:
    """The lines the chat view draws for the pieces one under the other (console.chat.mdrender)."""
    console = Console(width=width, color_system=None, file=io.StringIO())
    out: list[str] = []
    for i, piece in enumerate(pieces):
        lines = ["".join(seg.text for seg in line).rstrip() for line in piece_lines(console, console.options, piece)]
        if i and lines and gap_after(pieces[i - 1]):
            out.append("")
        out += lines
    return out


MIXED = """# Title

First paragraph with **bold** and `code`, long enough to pass the target on its own line here.

- item one
- item two

- a loose item after a blank line
  with a lazy continuation

  and a second paragraph of the same item

1. first
2. second

```python
x = 1

y = 2
```

> quoted text
> more of it

---

Setext heading
---

| a | b |
|---|---|
| 1 | 2 |

Last paragraph.
"""


@pytest.mark.parametrize("target", [0, 30, 120, 400])
@pytest.mark.parametrize("step", [1, 13, 10_000])
def test_pieces_drawn_apart_look_like_the_whole(target: int, step: int) -> None:
    text = "\n".join([MIXED] * 3)
    pieces = run(text, step, target=target)
    assert "".join(pieces) == text
    assert len(pieces) >= 3
    assert rendered(pieces) == rendered([text])


def test_an_indented_continuation_or_list_item_stays_with_its_block() -> None:
    pieces = run("- a\n\n  more of a\n\n- b\n\nafter\n", 1, target=0)
    assert pieces == ["- a\n\n  more of a\n\n- b\n\n", "after\n"]
    assert ends_block(pieces[0]) and not ends_block("x\n") and not ends_block("```\n")
