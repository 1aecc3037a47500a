"""Rows fitted to a width (issue 15 item 21): one line each, cuts end in "…", columns give room in order."""

from __future__ import annotations

from rich.cells import cell_len

from console.ui.widgets.columns import Column, ellipsize, fit_rows, widths


def test_ellipsize_marks_the_cut_and_counts_cells() -> None:
    assert ellipsize("abcdef", 6) == "abcdef"
    assert ellipsize("abcdef", 4) == "abc…"
    assert ellipsize("abc", 0) == ""
    assert cell_len(ellipsize("模型模型模型", 5)) <= 5  # wide characters are two cells


def test_columns_align_and_give_room_in_order() -> None:
    columns = (Column(least=2), Column(most=10, least=4, give=1), Column(least=3, give=2))
    rows = [("a", "long-name-here", "model-x"), ("bb", "n", "m")]
    assert widths(rows, columns, 80) == [2, 10, 7]
    assert widths(rows, columns, 16) == [2, 9, 3]  # the last column gave first, down to its least
    lines = fit_rows(rows, columns, 16)
    assert lines == ["a  long-nam… mo…", "bb n         m"]
    assert all(cell_len(line) <= 16 for line in fit_rows(rows, columns, 9))  # below every least: cut at the end
    assert fit_rows(rows, columns, 9)[0].endswith("…")
