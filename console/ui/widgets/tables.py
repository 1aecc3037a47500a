"""DataTable updates diffed cell by cell (only changed cells are redrawn)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import DataTable


def sync_rows(table: DataTable, rows: Sequence[tuple[str, Sequence[object]]]) -> None:
    """Make ``table`` show ``rows`` ((key, cells) pairs), touching only what changed."""
    keys = [k for k, _ in rows]
    current = [str(r.value) for r in table.rows]
    if current != keys:
        cursor = table.cursor_row
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))
        return
    columns = list(table.columns)
    for key, cells in rows:
        for column, value in zip(columns, cells, strict=False):
            if table.get_cell(key, column) != value:
                table.update_cell(key, column, value, update_width=True)
