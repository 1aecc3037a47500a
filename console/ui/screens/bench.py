"""Bench: ``jetconsole bench`` as a screen.  A form, the progress while it runs, the results table with
text bar charts, and the saved runs to compare.

Everything that waits is the runtime's bench service (``console.runtime.services.bench``), driven by
commands: reading the form's prompt file and the power mode (``PlanBench``, answered by a one-shot
``BenchPlanned``), the bench itself and saving it (``RunBench``), listing saved runs
(``ListBenchReports``).  The run's progress, notes and end are the state's ``bench`` slice, rendered
by ``show_state``.  The energy figures come from the service's ``PowerMeter``, fed by the runtime's
own telemetry: no second connection to jtop or NVML.  Esc while a bench runs cancels it
(``StopBench``): the open requests are closed, the finished trials are shown and saved, and a power
A/B puts the original mode back.

The three views' widgets and the rows of its tables are ``console.ui.widgets.bench_views``; the lines of
text are ``console.bench.view``'s, shared with the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Button, Checkbox, ContentSwitcher, DataTable, Input, ProgressBar, Static

from console.bench import form as bf
from console.bench import results as br
from console.bench.chart import chart_lines
from console.bench.report import METRIC_KEYS, BenchReport, metric_info, server_lines
from console.bench.runner import BenchPlan, PowerControl, Progress
from console.bench.view import CHART_METRICS, duration, header_text, progress_text
from console.keymap import BENCH_BINDINGS
from console.runtime import commands as cmd
from console.runtime import events as ev
from console.runtime.state import BenchNote, BenchOutcome, BenchState, server_rows
from console.ui.bindings import bindings, bound_key
from console.ui.host import host
from console.ui.screens.filtering import FilterScreen
from console.ui.widgets.bench_views import FIELDS, LABELS, form_view, result_rows, results_view, saved_rows, saved_view
from console.ui.widgets.key_hints import KeyHints
from console.ui.widgets.tables import sync_rows
from console.ui.widgets.text import LiveText

VIEWS = ("form", "results", "saved")


class BenchScreen(FilterScreen):
    """``report``: open on the results of a saved report (no run).  ``power``: makes the power control of an
    A/B (default: jtop's); ``folder``: where results are saved and listed (default: ``[bench] results_dir``)."""

    BINDINGS = bindings(BENCH_BINDINGS)
    FILTERED_TABLE = "#bench-saved"

    def __init__(
        self,
        report: BenchReport | None = None,
        baseline: str = "",
        form: bf.BenchForm | None = None,
        power: Callable[[], PowerControl] | None = None,
        folder: Path | None = None,
    ) -> None:
        super().__init__()
        self.report = report
        self.report_source = "saved report" if report is not None else ""
        self.baseline = baseline
        self.metric: str | None = None  # None: the three default charts; else one of METRIC_KEYS
        self._form = form
        self._power_factory = power
        self._folder = folder
        self.busy: str | None = None  # "planning", "confirming", "running", "cancelling"
        self.status = ""
        self.notes: list[tuple[str, bool]] = []
        self.saved_paths: tuple[Path, ...] = ()
        self.saved_runs: list[br.SavedRun] = []
        self.saved_note = "reading the saved runs…"
        self.marked: set[Path] = set()
        self._progress: Progress | None = None
        self._power: PowerControl | None = None
        self._bench_number: int | None = None  # the runtime's number of the bench this screen started
        self._shown_notes: tuple[BenchNote, ...] = ()
        self._note_widgets: dict[int, Static] = {}  # BenchNote.seq -> its line
        self._listed = -1  # the state's listing of saved runs last taken (older ones are another screen's)

    # ---- layout --------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        form = self._form or bf.BenchForm.defaults(host(self).config)
        yield LiveText("Bench", id="title")
        yield LiveText("", id="bench-status")
        with ContentSwitcher(initial="bench-form-view", id="bench-views"):
            yield from form_view(form)
            yield from results_view()
            yield from saved_view()
        yield KeyHints()

    def on_mount(self) -> None:
        self._listed = host(self).runtime.state.bench.listed
        super().on_mount()
        self.query_one("#bench-progress").display = False
        if getattr(self.app, "ascii_only", False):  # no half blocks around the tick box
            box = self.query_one("#bench-ignore_eos", Checkbox)
            box.BUTTON_LEFT, box.BUTTON_RIGHT = "[", "]"
        self._show_known()
        self._set_status(
            f"{self._key('bench.run')} or Run starts the bench · {self._key('bench.results')}: results "
            f"· {self._key('bench.saved')}: saved runs"
        )
        self.query_one("#bench-progress-text", LiveText).set(
            f"Each configuration gets {bf.WARMUPS} warm-up requests, then the trials at each concurrency; the table "
            f"shows each figure's median over the trials. Results are saved as JSON and CSV in {self._results_dir()}. "
            "Energy (tok/J) comes from the telemetry's power readings where there are any."
        )
        if self.report is not None:
            self._show_report()
            self.action_view("results")
        else:
            self.query_one("#bench-endpoints", Input).focus()

    def on_unmount(self) -> None:
        if self._bench_number is not None and self.busy in ("running", "cancelling"):
            host(self).send(cmd.StopBench())  # the app is closing: the run ends, restoring the power mode

    def on_resize(self) -> None:
        if self.report is not None:
            self._show_charts()

    def _key(self, binding: str) -> str:
        return bound_key(self.app, binding)

    def _set_status(self, text: str) -> None:
        self.status = text
        self.query_one("#bench-status", LiveText).set(text)

    def _show_known(self) -> None:
        """The inference containers the app found, ready to copy into the endpoints field."""
        rows = server_rows(host(self).state)
        known = [f"{r.name}={r.url}" for r in rows if r.url and r.container is not None]
        self.query_one("#bench-known", LiveText).set(f"also serving here: {' '.join(known)}" if known else "")

    @property
    def view(self) -> str:
        current = self.query_one(ContentSwitcher).current or ""
        return current.removeprefix("bench-").removesuffix("-view")

    # ---- the form --------------------------------------------------------------------------------------------
    def form_values(self) -> bf.BenchForm:
        values = {f: self.query_one(f"#bench-{f}", Input).value for f, _, _ in FIELDS}
        return bf.BenchForm(**values, ignore_eos=self.query_one("#bench-ignore_eos", Checkbox).value)

    def _show_problems(self, problems: list[tuple[str, str]]) -> None:
        bad = {f for f, _ in problems}
        for row in self.query(".bench-row"):
            row.set_class((row.id or "").removeprefix("row-") in bad, "-bad")
        text = "\n".join(f"{LABELS.get(f, f) + ': ' if f else ''}{t}" for f, t in problems)
        box = self.query_one("#bench-error", LiveText)
        box.set(text)
        box.display = bool(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            super().on_input_submitted(event)
            return
        event.stop()
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "bench-start":
            event.stop()
            self.action_run()

    def action_run(self) -> None:
        if self.busy:
            running = self.busy in ("running", "cancelling")
            self.notify(
                f"a bench is {self.busy}; {self._key('bench.back')} cancels it" if running else f"wait: {self.busy}…",
                timeout=3,
            )
            return
        form = self.form_values()
        self.busy = "planning"
        self.refresh_bindings()
        self._set_status("reading the form…")
        self._power = None
        if form.power_ab.strip():
            factory = self._power_factory
            if factory is None:
                from console.bench.powerab import JtopPower

                factory = JtopPower
            self._power = factory()
        host(self).send(cmd.PlanBench(form, self._power))

    def take_event(self, event: ev.Event) -> None:
        """The one-shot answer to ``PlanBench``."""
        if isinstance(event, ev.BenchPlanned) and self.busy == "planning":
            self._planned(event)

    def _planned(self, message: ev.BenchPlanned) -> None:
        self._show_problems(list(message.problems))
        plan: BenchPlan | None = message.plan
        if plan is None:
            self.busy = None
            self.refresh_bindings()
            self._set_status("not started: fix what is marked; nothing you typed is lost")
            return
        if not plan.power_modes:
            self._start(plan)
            return
        from console.ui.screens.confirm import StrictConfirmScreen

        self.busy = "confirming"
        self._set_status("power A/B: waiting for your answer")
        title = f"Switch the power mode for an A/B bench ({' vs '.join(plan.power_modes)})?"
        self.app.push_screen(
            StrictConfirmScreen(title, bf.power_change_text(plan.power_modes, message.power_now)),
            lambda yes: self._confirmed(plan, bool(yes)),
        )

    def _confirmed(self, plan: BenchPlan, yes: bool) -> None:
        if yes:
            self._start(plan)
            return
        self.busy = None
        self.refresh_bindings()
        self._set_status("power A/B not started: nothing was changed")

    # ---- the run --------------------------------------------------------------------------------------------
    def _start(self, plan: BenchPlan) -> None:
        baseline = self.form_values().baseline.strip()
        power = self._power if plan.power_modes else None
        error = host(self).send(cmd.RunBench(plan, self._results_dir(), baseline, power))
        if error:
            self.busy = None
            self.refresh_bindings()
            self._show_problems([("", error)])
            self._set_status("not started")
            return
        bench = host(self).runtime.state.bench  # BenchStarted is folded in before RunBench returns
        self._bench_number, self.busy, self.saved_paths = bench.run, "running", ()
        self._progress = None
        self.notes.clear()
        self._shown_notes = ()
        self._note_widgets.clear()
        self.query_one("#bench-notes").remove_children()
        self.query_one("#bench-form").disabled = True
        bar = self.query_one("#bench-progress", ProgressBar)
        bar.update(total=plan.total_requests(), progress=0)
        bar.display = True
        levels = ",".join(map(str, plan.concurrency))
        modes = f" × power {' / '.join(plan.power_modes)}" if plan.power_modes else ""
        energy = f"energy from {bench.energy}" if bench.energy else "no power telemetry yet: no energy figures"
        self.query_one("#bench-progress-text", LiveText).set("starting…")
        self._set_status(
            f"running: {len(plan.targets)} configuration(s) × concurrency {levels} × {plan.trials} "
            f"trial(s){modes}, {plan.total_requests()} requests · {energy} · "
            f"{self._key('bench.back')} cancels"
        )
        self.action_view("form")
        self.refresh_bindings()
        self._show_run(bench)

    def _results_dir(self) -> Path:
        if self._folder is None:
            self._folder = br.results_dir(host(self).config)
        return self._folder

    def _show_run(self, bench: BenchState) -> None:
        """The state's run, as far as this screen has not shown it: progress, new notes, its end."""
        if bench.progress is not None and bench.progress is not self._progress:
            e = self._progress = bench.progress
            self.query_one("#bench-progress-text", LiveText).set(progress_text(e))
            self.query_one("#bench-progress", ProgressBar).update(total=e.overall_total, progress=e.overall_done)
        if bench.notes is not self._shown_notes:
            self._sync_notes(bench.notes)
        outcome = bench.outcome
        if outcome is not None and outcome.run == self._bench_number and self.busy in ("running", "cancelling"):
            self._finished(outcome)

    def _sync_notes(self, notes: tuple[BenchNote, ...]) -> None:
        """One line per note: the ones gone from the state removed (the previous trial's, the oldest), the new added."""
        box = self.query_one("#bench-notes", VerticalScroll)
        kept = {n.seq for n in notes}
        for seq in [seq for seq in self._note_widgets if seq not in kept]:
            self._note_widgets.pop(seq).remove()
        added = False
        for note in notes:
            if note.seq in self._note_widgets:
                continue
            classes = "bench-note" + (" -error" if note.error else "") + (" -trial" if note.trial else "")
            line = Static(("error: " if note.error else "") + note.text, classes=classes, markup=False)
            self._note_widgets[note.seq] = line
            box.mount(line)
            added = True
        self._shown_notes = notes
        self.notes = [(n.text, n.error) for n in notes]
        if added:
            box.scroll_end(animate=False)

    def _finished(self, outcome: BenchOutcome) -> None:
        self.busy = None
        self.query_one("#bench-form").disabled = False
        self.refresh_bindings()
        report: BenchReport | None = outcome.report
        if report is None:
            self._set_status(outcome.error)
            return
        self.saved_paths = outcome.paths
        saved = (
            f"saved {self.saved_paths[0]} and {self.saved_paths[1].name}"
            if self.saved_paths
            else outcome.error or "nothing to save"
        )
        if report.cancelled:
            self._set_status(f"cancelled: finished trials kept ({len(report.results)} result(s)) · {saved}")
        elif report.results:
            self._set_status(f"finished: {len(report.results)} result(s) · {saved}")
        else:
            self._set_status("finished: nothing was measured; the notes say why")
        last = self._progress
        done = f" after {last.overall_done}/{last.overall_total} requests in {duration(last.elapsed_s)}" if last else ""
        self.query_one("#bench-progress-text", LiveText).set(("cancelled" if report.cancelled else "done") + done)
        if report.results:
            self.report = report
            self.report_source = f"this run, {report.started[:19].replace('T', ' ')} UTC"
            self.baseline = self.form_values().baseline.strip()
            self._show_report()
            self.action_view("results")
        self._load_saved()

    def action_back(self) -> None:
        """Esc: close the filter; cancel a running bench; else leave."""
        box = self.query_one("#filter", Input)
        if self.view == "saved" and box.display and (box.has_focus or box.value):
            super().action_back()
            return
        if self.busy == "running" and self._bench_number is not None:
            host(self).send(cmd.StopBench())  # its note comes with the state
            self.busy = "cancelling"
            self._set_status("cancelling: closing the open requests; the finished trials are kept…")
            return
        if self.busy == "cancelling":
            self.notify("still closing the open requests…", timeout=2)
            return
        self.app.pop_screen()

    # ---- results -----------------------------------------------------------------------------------------------
    def _show_report(self) -> None:
        report = self.report
        if report is None:
            return
        with self.app.batch_update():
            sync_rows(self.query_one("#bench-table", DataTable), result_rows(report, self.baseline))
            self._show_charts()

    def _effective_baseline(self) -> str:
        names = self._names()
        if self.baseline in names:
            return self.baseline
        label = next((n for n in names if self.baseline and n.split(" @")[0] == self.baseline), None)
        return label or (names[0] if names else "")

    def _names(self) -> list[str]:
        return list(dict.fromkeys(r.name for r in self.report.results)) if self.report else []

    def _show_charts(self) -> None:
        report = self.report
        if report is None:
            return
        box = self.query_one("#bench-charts-box")
        width = box.scrollable_content_region.width or self.size.width - 6  # padding and scrollbar
        ascii_only = bool(getattr(self.app, "ascii_only", False))
        metrics = CHART_METRICS if self.metric is None else (self.metric,)
        shown = ", ".join(metric_info(k)[0] for k in metrics)
        head = [
            self.report_source,
            header_text(report),
            f"baseline: {self._effective_baseline()} ({self._key('bench.baseline')}: next) · "
            f"charts: {shown} ({self._key('bench.metric')}: next)",
        ]
        if report.cancelled:
            head.append("CANCELLED: only the trials that finished are shown")
        self.query_one("#bench-results-head", LiveText).set("\n".join(h for h in head if h))
        lines: list[str] = []
        for c in dict.fromkeys(r.concurrency for r in report.results):
            for key in metrics:
                lines += [*chart_lines(report, key, c, self.baseline, max(min(width, 110), 40), ascii_only), ""]
        lines += ["configurations:", *server_lines(report)]
        lines += [f"note: {n}" for n in report.notes]
        self.query_one("#bench-charts", LiveText).set("\n".join(lines))

    def action_next_baseline(self) -> None:
        names = self._names()
        if not names:
            return
        current = names.index(self._effective_baseline())
        self.baseline = names[(current + 1) % len(names)]
        self._show_report()

    def action_next_metric(self) -> None:
        order: list[str | None] = [None, *METRIC_KEYS]
        self.metric = order[(order.index(self.metric) + 1) % len(order)]
        self._show_charts()

    # ---- views ----------------------------------------------------------------------------------------------
    def action_view(self, name: str) -> None:
        if name not in VIEWS:
            return
        self.query_one(ContentSwitcher).current = f"bench-{name}-view"
        if name == "results":
            self.call_after_refresh(self._show_charts)  # sized to the box once it is laid out
            if self.report is None:
                self.query_one("#bench-results-head", LiveText).set(
                    f"No results yet: {self._key('bench.run')} runs a bench, {self._key('bench.saved')} opens "
                    "saved runs."
                )
            self.query_one("#bench-table").focus()
        elif name == "saved":
            self.query_one("#bench-saved").focus()
            self._load_saved()
        elif not self.busy:
            self.query_one("#bench-endpoints", Input).focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_mounted:
            return True
        if action == "run":
            return None if self.busy else True  # shown, greyed while a bench runs
        if action in ("next_baseline", "next_metric"):
            return self.view == "results" and self.report is not None
        if action in ("mark", "compare", "filter"):
            return self.view == "saved"
        return True

    # ---- saved runs ----------------------------------------------------------------------------------------
    def _load_saved(self) -> None:
        host(self).send(cmd.ListBenchReports(self._results_dir()))

    def _visible_runs(self) -> list[br.SavedRun]:
        needle = self.needle.lower()
        return [r for r in self.saved_runs if not needle or needle in r.text().lower()]

    def show_state(self, _state: object = None) -> None:
        """This screen's run and the saved runs, filtered (also called on each telemetry sample and filter
        keystroke: diffed, cheap).  The runtime's live bench slice, not the given state: pausing the
        telemetry does not pause a bench."""
        bench = host(self).runtime.state.bench
        if self._bench_number is not None and bench.run == self._bench_number:
            self._show_run(bench)
        if bench.listed != self._listed and bench.folder == self._results_dir():
            self._listed = bench.listed
            self.saved_runs, self.saved_note = list(bench.saved), bench.saved_note
            self.marked &= {r.path for r in self.saved_runs}
        runs = self._visible_runs()
        sync_rows(self.query_one("#bench-saved", DataTable), saved_rows(runs, self.marked))
        count = f"{len(runs)} of {len(self.saved_runs)}" if self.needle else str(len(self.saved_runs))
        keys = (
            f"{self._key('bench.mark')}: select · {self._key('bench.compare')}: compare the selected "
            f"({len(self.marked)}) · Enter: open one · {self._key('bench.filter')}: filter"
        )
        self.query_one("#bench-saved-status", LiveText).set(
            f"{count} saved run(s) in {self._results_dir()}"
            + (f" · {self.saved_note}" if self.saved_note else "")
            + f"\n{keys}"
        )

    def _cursor_run(self) -> br.SavedRun | None:
        table = self.query_one("#bench-saved", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.saved_runs if str(r.path) == key), None)

    def action_mark(self) -> None:
        run = self._cursor_run()
        if run is None:
            return
        self.marked ^= {run.path}
        self.show_state(None)
        table = self.query_one("#bench-saved", DataTable)
        table.move_cursor(row=min(table.cursor_row + 1, table.row_count - 1))

    def action_compare(self) -> None:
        runs = [r for r in self.saved_runs if r.path in self.marked]
        if not runs:
            cursor = self._cursor_run()
            runs = [cursor] if cursor else []
        self._open(runs)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "bench-saved":
            event.stop()
            run = self._cursor_run()
            self._open([run] if run else [])

    def _open(self, runs: list[br.SavedRun]) -> None:
        if not runs:
            self.notify("no saved run selected", timeout=3)
            return
        try:
            report = br.compare(runs)
        except ValueError as exc:
            self.notify(f"cannot compare: {exc}", severity="error", timeout=6)
            return
        self.report, self.baseline, self.metric = report, "", None
        names = ", ".join(r.path.name for r in runs)
        self.report_source = f"comparing {len(runs)} saved runs: {names}" if len(runs) > 1 else f"saved run {names}"
        self._show_report()
        self.action_view("results")
