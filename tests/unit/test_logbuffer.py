"""The bounded log buffer: splitting, cleaning, bounds, search and error jumps."""

from __future__ import annotations

import pytest

from console.containers.logbuffer import MAX_LINE, LogBuffer, clean


def test_lines_split_across_chunks_and_flush() -> None:
    buf = LogBuffer()
    assert buf.feed("hel") == []
    assert buf.feed("lo\nwor") == ["hello"]
    assert buf.feed("ld\n\n") == ["world", ""]
    buf.feed("tail without newline")
    assert buf.flush() == ["tail without newline"]
    assert [ln.number for ln in buf.lines()] == [1, 2, 3, 4]


def test_control_characters_never_reach_the_terminal() -> None:
    dirty = "\x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07 nul\x00 esc\x1b unit\x1f del\x7f csi\x9b"
    text = clean(dirty)
    assert "red" in text and "\x1b" not in text and "\x07" not in text and "\x00" not in text
    assert all(ch == "\n" or ch >= " " for ch in text) and "\x7f" not in text and "\x9b" not in text


def test_bounded_in_lines_and_length_with_absolute_numbers() -> None:
    buf = LogBuffer(max_lines=100)
    for i in range(10):
        buf.feed("".join(f"line {i * 1000 + j}\n" for j in range(1000)))
    assert len(buf) == 100 and buf.total == 10_000
    assert buf.first_number == 9901 and buf.lines()[-1].text == "line 9999"
    buf.feed("x" * (MAX_LINE * 3))  # a runaway line without newline is cut, not kept growing
    assert len(buf.lines()[-1].text) == MAX_LINE


def test_one_huge_chunk_keeps_only_the_newest() -> None:
    buf = LogBuffer(max_lines=10)
    buf.feed("".join(f"{i}\n" for i in range(1000)))
    assert [ln.text for ln in buf.lines()] == [str(i) for i in range(990, 1000)]
    assert buf.total == 1000 and buf.first_number == 991


def test_search_and_error_jumps() -> None:
    buf = LogBuffer()
    buf.feed("INFO start\nERROR boom\nINFO Loading weights\nTraceback (most recent call last):\nINFO ok\n")
    assert buf.search("loading") == [3]
    assert buf.search(r"ERR\w+", regex=True) == [2]
    with pytest.raises(ValueError, match="bad search pattern"):
        buf.search("(", regex=True)
    assert buf.next_error(0) == 2 and buf.next_error(2) == 4 and buf.next_error(4) == 2  # wraps
    assert buf.prev_error(4) == 2 and buf.prev_error(1) == 4
    assert LogBuffer().next_error(0) is None
