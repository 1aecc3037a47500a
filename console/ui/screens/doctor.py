"""Doctor: every check with its status, the evidence it saw and its fix; Enter applies the fixes
that can run from here (daemon.json, the stuck-memory wizard, power), ``r`` reruns the checks.

The checks and fixes run in the runtime (``console.runtime.services.doctor``); this screen
renders ``ConsoleState.doctor`` and sends ``RerunDoctor`` / ``ApplyFix``.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Input, RichLog

from console.doctor.check import Check
from console.doctor.session import MARK, detail_text, first_problem, in_app_fix
from console.keymap import DOCTOR_BINDINGS
from console.runtime.commands import RerunDoctor
from console.runtime.events import Event, FixEnded, FixLine
from console.runtime.state import ConsoleState, DoctorState
from console.ui.bindings import bindings
from console.ui.host import host
from console.ui.screens.filtering import FilterScreen
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.tables import sync_rows
from console.ui.widgets.text import LiveText

STATUS_WORD = {"ok": "OK", "warn": "WARN", "fail": "FAIL", "skip": "SKIP"}


class DoctorScreen(FilterScreen):
    BINDINGS = bindings(DOCTOR_BINDINGS)
    FILTERED_TABLE = "#t-doctor"

    def __init__(self, focus: str | None = None) -> None:
        """``focus``: a check id to put the cursor on ("problem": the first failing one)."""
        super().__init__()
        self._focus = focus
        self.checks: list[Check] = []
        self.doctor = DoctorState()

    def compose(self) -> ComposeResult:
        yield LiveText("Doctor", id="title")
        yield Input(placeholder="filter: words in status, check, evidence (Esc clears)", id="filter")
        table: DataTable = DataTable(id="t-doctor", cursor_type="row")
        table.add_columns("", "status", "check", "Enter")
        yield table
        with VerticalScroll(id="doctor-detail-box"):
            yield LiveText("", id="doctor-detail")
        yield RichLog(id="doctor-log", wrap=True, markup=False, highlight=False, max_lines=2000)
        yield KeyHints()

    def on_mount(self) -> None:
        for line in host(self).state.doctor.log:
            self.query_one(RichLog).write(line)
        super().on_mount()
        self.query_one(DataTable).focus()

    def show_state(self, state: ConsoleState) -> None:
        self.doctor = state.doctor
        self.show_checks(list(state.doctor.checks))

    def show_checks(self, checks: list[Check]) -> None:
        """A new run's results; the cursor stays on the check it was on."""
        self.checks = list(checks)
        table = self.query_one(DataTable)
        rows = [
            (c.id, (MARK[c.status], STATUS_WORD[c.status], c.title, "fix" if in_app_fix(c) else ""))
            for c in self.checks
            if self.matches(c)
        ]
        sync_rows(table, rows)
        if self._focus is not None and rows:
            ids = [k for k, _ in rows]
            want = (
                ids[first_problem([c for c in self.checks if self.matches(c)])]
                if self._focus == "problem"
                else self._focus
            )
            if want in ids:
                table.move_cursor(row=ids.index(want))
            self._focus = None
        self._show_title()
        self._show_detail()

    def matches(self, check: Check) -> bool:
        needle = self.needle.lower()
        return not needle or needle in f"{check.status} {check.title} {' '.join(check.evidence)}".lower()

    def _show_title(self) -> None:
        doctor = self.doctor
        at = doctor.at
        counts = {s: sum(c.status == s for c in self.checks) for s in STATUS_WORD}
        ran = time.strftime("%H:%M:%S", time.localtime(at)) if at else "running…"
        every = doctor.interval if doctor.enabled else 0
        busy = f" · fixing: {doctor.fixing}" if doctor.fixing else ""
        running = " · checking…" if doctor.running else ""
        self.query_one("#title", LiveText).set(
            f"Doctor · {counts['fail']} fail, {counts['warn']} warn, {counts['ok']} ok · last run {ran}"
            + (f" (every {every:g} s)" if every else "")
            + running
            + busy
            + (f" · filter: {self.needle}" if self.needle else "")
        )

    def selected(self) -> Check | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((c for c in self.checks if c.id == key), None)

    def _show_detail(self) -> None:
        check = self.selected()
        self.query_one("#doctor-detail", LiveText).set(
            detail_text(check) if check else "No checks yet: they are running (r reruns)."
        )

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_fix()  # Enter on a row (the table binds Enter itself)

    def take_event(self, event: Event) -> None:
        """A fix's output line, as it comes (the runtime keeps the last lines for a screen opened later)."""
        if isinstance(event, FixLine):
            self.query_one(RichLog).write(event.line)
        elif isinstance(event, FixEnded):
            self.query_one(RichLog).write("done" if event.ok else "not fixed")

    def action_fix(self) -> None:
        check = self.selected()
        if check is None:
            return
        if not in_app_fix(check):
            self.notify(
                f"{check.title}: " + (f"run {check.fix}" if check.fix and check.status != "ok" else "nothing to fix"),
                timeout=5,
            )
            return
        host(self).doctor_fix(check.id)

    def action_rerun(self) -> None:
        host(self).send(RerunDoctor())
