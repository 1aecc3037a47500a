"""The Bench screen's three views as widgets (the form, the results table and charts, the saved runs), and the
rows its two tables show.

The screen (``console.ui.screens.bench``) composes these inside its ``ContentSwitcher`` and fills them; the
rows are built here from plain values, so what a table shows is decided in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, DataTable, Input, Label, ProgressBar

from console.bench import form as bf
from console.bench.report import BenchReport
from console.bench.results import SavedRun
from console.bench.view import TABLE_HEADS, table_rows
from console.ui.widgets.cut_hint import CutHint
from console.ui.widgets.text import LiveText

# field, label, placeholder
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("endpoints", "endpoints", "[LABEL=]URL ... e.g. FP16=http://127.0.0.1:8000/v1 FP8=http://127.0.0.1:8001/v1"),
    ("model", "model", "blank: the first model each server lists"),
    ("trials", "trials", "median of this many trials"),
    ("concurrency", "concurrency", "requests in flight, e.g. 1,4,16"),
    ("prompts", "prompt file", "blank: the built-in set (the workshop prompt and five more)"),
    ("max_tokens", "max tokens", "blank: each prompt's own (256 for the workshop prompt)"),
    ("power_ab", "power A/B", "blank: none; e.g. MAXN,30W or clocks-off,clocks-on (asks first)"),
    ("baseline", "baseline", "blank: the first configuration"),
)
LABELS = {f: label for f, label, _ in FIELDS} | {"ignore_eos": "ignore EOS"}
# TABLE_HEADS in the order shown: throughput and its change against the baseline first, so they are
# on screen at 80 and 120 columns (the latency triples scroll in from the right)
ORDER = (0, 1, 6, 10, 2, 3, 4, 5, 7, 8, 9)
HEADS = tuple(TABLE_HEADS[i] for i in ORDER)
NUMERIC = frozenset(i for i, head in enumerate(HEADS) if head not in ("config", "tok/s vs baseline"))


def form_view(form: bf.BenchForm) -> ComposeResult:
    """The form, its problems, the progress bar and the run's notes (``#bench-form-view``)."""
    with Vertical(id="bench-form-view"):
        with Vertical(id="bench-form"):
            for field, label, placeholder in FIELDS:
                with Horizontal(classes="bench-row", id=f"row-{field}"):
                    yield Label(label, markup=False)
                    yield Input(getattr(form, field), placeholder=placeholder, compact=True, id=f"bench-{field}")
                if field == "power_ab":
                    with Horizontal(classes="bench-row", id="row-ignore_eos"):
                        yield Label(LABELS["ignore_eos"], markup=False)
                        yield Checkbox(
                            "every answer exactly max tokens long (vLLM, SGLang)",
                            form.ignore_eos,
                            compact=True,
                            id="bench-ignore_eos",
                        )
            with Horizontal(classes="bench-row", id="row-start"):
                yield Label("", markup=False)
                yield Button("Run", id="bench-start", compact=True)
                yield LiveText("", id="bench-known")
        yield LiveText("", id="bench-error")
        yield LiveText("", id="bench-progress-text")
        yield ProgressBar(id="bench-progress", show_eta=False)
        yield VerticalScroll(id="bench-notes")


def results_view() -> ComposeResult:
    """The comparison table and the charts (``#bench-results-view``)."""
    with Vertical(id="bench-results-view"):
        yield LiveText("", id="bench-results-head")
        table: DataTable = DataTable(id="bench-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*HEADS)
        yield table
        yield CutHint(table, id="bench-table-cut")
        with VerticalScroll(id="bench-charts-box"):
            yield LiveText("", id="bench-charts")


def saved_view() -> ComposeResult:
    """The saved runs with their filter (``#bench-saved-view``)."""
    with Vertical(id="bench-saved-view"):
        yield Input(placeholder="filter: words in configurations, time, file, device (Esc clears)", id="filter")
        yield LiveText("", id="bench-saved-status")
        saved: DataTable = DataTable(id="bench-saved", cursor_type="row")
        saved.add_columns("", "started (UTC)", "configurations", "conc", "trials", "file")
        yield saved


def result_rows(report: BenchReport, baseline: str) -> list[tuple[str, tuple[str | Text, ...]]]:
    """The results table's rows in ``HEADS`` order, numbers right-aligned, each keyed by its place and name."""
    return [
        (
            f"{i}:{r.name}@{r.concurrency}",
            tuple(Text(row[k], justify="right") if j in NUMERIC else row[k] for j, k in enumerate(ORDER)),
        )
        for i, (r, row) in enumerate(zip(report.results, table_rows(report, baseline), strict=True))
    ]


def saved_rows(runs: Iterable[SavedRun], marked: set[Path]) -> list[tuple[str, tuple[str, ...]]]:
    """The saved-runs table's rows, keyed by path; ``*`` on the runs selected for a comparison."""
    rows: list[tuple[str, tuple[str, ...]]] = []
    for r in runs:
        trials = str(r.report.settings.get("trials", "?")) if r.report else ""
        what = r.labels if r.report else f"unreadable: {r.error}"
        rows.append(
            (
                str(r.path),
                (
                    "*" if r.path in marked else "",
                    r.started[:19].replace("T", " "),
                    what,
                    r.levels,
                    trials,
                    r.path.name,
                ),
            )
        )
    return rows
