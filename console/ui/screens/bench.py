"""Bench: ``jetconsole bench`` as a screen.  A form, the progress while it runs, the results table with
text bar charts, and the saved runs to compare.

Everything that waits runs in thread workers that only post messages: reading the form's prompt file
and the power mode, the bench itself (``BenchRun.run``), saving, listing and reading saved runs.  The
energy figures come from a ``PowerMeter`` fed by the app's own telemetry pollers (``telemetry_taps``):
no second connection to jtop or NVML.  Esc while a bench runs cancels it: the open requests are
closed, the finished trials are shown and saved, and a power A/B puts the original mode back.

The three views' widgets and the rows of its tables are ``console.ui.widgets.bench_views``; the lines of
text are ``console.bench.view``'s, shared with the CLI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Button, Checkbox, ContentSwitcher, DataTable, Footer, Input, ProgressBar, Static
from textual.worker import Worker

from console.bench import form as bf
from console.bench import results as br
from console.bench.chart import chart_lines
from console.bench.energy import PowerMeter, watts_of
from console.bench.report import METRIC_KEYS, BenchReport, metric_info, server_lines
from console.bench.runner import BenchPlan, BenchRun, Note, PowerControl, Progress, RunEvent, TrialDone
from console.bench.view import CHART_METRICS, duration, header_text, progress_text, trial_text
from console.config import Config
from console.keymap import BENCH_BINDINGS
from console.runtime.events import Event, Sampled
from console.runtime.state import ConsoleState, server_rows
from console.telemetry.model import TelemetrySnapshot
from console.ui.bindings import bindings, key_display
from console.ui.host import host
from console.ui.messages import BenchEvent, BenchFinished, BenchListed, BenchPlanned
from console.ui.screens.filtering import FilterScreen
from console.ui.widgets.bench_views import FIELDS, LABELS, form_view, result_rows, results_view, saved_rows, saved_view
from console.ui.widgets.tables import sync_rows
from console.ui.widgets.text import LiveText

PROGRESS_EVERY_S = 0.1  # a fast server finishes hundreds of requests a second: at most 10 redraws
NOTES_KEEP = 200
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
        self.meter = PowerMeter()
        self._latest: TelemetrySnapshot | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.bench_run: BenchRun | None = None
        self.busy: str | None = None  # "planning", "confirming", "running", "cancelling"
        self.status = ""
        self.notes: list[tuple[str, bool]] = []
        self.saved_paths: tuple[Path, ...] = ()
        self.saved_runs: list[br.SavedRun] = []
        self.saved_note = "reading the saved runs…"
        self.marked: set[Path] = set()
        self._last_progress = 0.0
        self._progress: Progress | None = None
        self._power: PowerControl | None = None
        self.bench_worker: Worker[None] | None = None

    # ---- layout --------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        form = self._form or bf.BenchForm.defaults(host(self).config)
        yield LiveText("Bench", id="title")
        yield LiveText("", id="bench-status")
        with ContentSwitcher(initial="bench-form-view", id="bench-views"):
            yield from form_view(form)
            yield from results_view()
            yield from saved_view()
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        # every telemetry sample of the runtime's one poller per source: no second connection
        self._unsubscribe = host(self).runtime.subscribe(self._from_runtime)
        self._latest = host(self).runtime.state.telemetry.merged
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
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.bench_run is not None:
            self.bench_run.cancel()  # the app is closing: the worker ends, restoring the power mode

    def on_resize(self) -> None:
        if self.report is not None:
            self._show_charts()

    def _key(self, binding: str) -> str:
        spec = next(s for s in BENCH_BINDINGS if s.id == binding)
        key = host(self).keymap_overrides.get(binding, spec.keys).split(",")[0].strip()
        shown = key_display(self.app, key)
        return shown.upper() if shown[:1] == "f" and shown[1:].isdigit() else shown

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

    # ---- telemetry: the power meter ---------------------------------------------------------------------------
    def _from_runtime(self, state: ConsoleState, event: Event) -> None:
        """In a service's thread: a telemetry sample goes to the power meter (thread-safe), nothing else."""
        if isinstance(event, Sampled) and state.telemetry.merged is not None:
            self._sampled(event.snapshot, state.telemetry.merged)

    def _sampled(self, sample: TelemetrySnapshot, merged: TelemetrySnapshot) -> None:
        """Every telemetry sample of the app's pollers: the newest merged view, and power into the meter when the
        sample carries it (a procfs sample would only repeat the last watts)."""
        self._latest = merged
        if watts_of(sample)[0] is not None:
            self.meter.add_snapshot(time.monotonic(), merged)

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
        self._plan(form, host(self).config, self._power)

    @work(thread=True, exclusive=True, group="bench-plan", exit_on_error=False)
    def _plan(self, form: bf.BenchForm, config: Config, power: PowerControl | None) -> None:
        try:
            plan = bf.plan_from_form(form, config)
        except bf.FormError as exc:
            self.post_message(BenchPlanned(None, exc.problems))
            return
        except Exception as exc:  # noqa: BLE001 - said on the screen like a bad field
            self.post_message(BenchPlanned(None, [("", f"cannot build the plan: {type(exc).__name__}: {exc}")]))
            return
        now = ""
        if plan.power_modes and power is not None:
            try:
                now = power.snapshot_state().summary()
            except Exception as exc:  # noqa: BLE001 - no jtop service: the A/B cannot run, nothing changed
                self.post_message(BenchPlanned(None, [("power_ab", str(exc))]))
                return
        self.post_message(BenchPlanned(plan, power_now=now))

    def on_bench_planned(self, message: BenchPlanned) -> None:
        message.stop()
        self._show_problems(message.problems)
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
        from console.bench.context import device_context, server_context

        meter = self.meter
        docker_host = host(self).config.docker_host
        try:
            run = BenchRun(
                plan,
                self._relay,
                meter,
                self._power if plan.power_modes else None,
                context=lambda t: server_context(t.endpoint, t.model, docker_host),
                device=lambda: device_context(self._latest, meter.what),
            )
        except ValueError as exc:
            self.busy = None
            self.refresh_bindings()
            self._show_problems([("", str(exc))])
            self._set_status("not started")
            return
        self.bench_run, self.busy, self.saved_paths = run, "running", ()
        self._last_progress = 0.0
        self._progress = None
        self.notes.clear()
        self.query_one("#bench-notes").remove_children()
        self.query_one("#bench-form").disabled = True
        bar = self.query_one("#bench-progress", ProgressBar)
        bar.update(total=plan.total_requests(), progress=0)
        bar.display = True
        levels = ",".join(map(str, plan.concurrency))
        modes = f" × power {' / '.join(plan.power_modes)}" if plan.power_modes else ""
        energy = f"energy from {meter.what}" if meter.has_samples else "no power telemetry yet: no energy figures"
        self.query_one("#bench-progress-text", LiveText).set("starting…")
        self._set_status(
            f"running: {len(plan.targets)} configuration(s) × concurrency {levels} × {plan.trials} "
            f"trial(s){modes}, {plan.total_requests()} requests · {energy} · "
            f"{self._key('bench.back')} cancels"
        )
        self.action_view("form")
        self.refresh_bindings()
        self.bench_worker = self._run(run, self._results_dir(), self.form_values().baseline.strip())

    def _results_dir(self) -> Path:
        if self._folder is None:
            self._folder = br.results_dir(host(self).config)
        return self._folder

    def _relay(self, event: RunEvent) -> None:
        """The runner's events, from its thread, as messages; progress at most every PROGRESS_EVERY_S."""
        if isinstance(event, Progress) and 0 < event.done < event.total:
            now = time.monotonic()
            if now - self._last_progress < PROGRESS_EVERY_S:
                return
            self._last_progress = now
        self.post_message(BenchEvent(event))

    @work(thread=True, exclusive=True, group="bench-run", exit_on_error=False)
    def _run(self, run: BenchRun, folder: Path, baseline: str) -> None:
        try:
            report = run.run()
        except Exception as exc:  # noqa: BLE001 - said on the screen; the app goes on
            self.post_message(BenchFinished(None, error=f"the bench stopped: {type(exc).__name__}: {exc}"))
            return
        paths: tuple[Path, ...] = ()
        error = ""
        if report.results:
            try:
                paths = br.save(report, folder, baseline)
            except OSError as exc:
                error = f"not saved: {exc}"
        self.post_message(BenchFinished(report, paths, error))

    def on_bench_event(self, message: BenchEvent) -> None:
        message.stop()
        e = message.event
        if isinstance(e, Progress):
            self._progress = e
            self.query_one("#bench-progress-text", LiveText).set(progress_text(e))
            self.query_one("#bench-progress", ProgressBar).update(total=e.overall_total, progress=e.overall_done)
        elif isinstance(e, TrialDone):
            self._add_note(trial_text(e), False, kind="trial")
        elif isinstance(e, Note):
            self._add_note(e.text, e.error)

    def _add_note(self, text: str, error: bool, kind: str = "") -> None:
        self.notes.append((text, error))
        box = self.query_one("#bench-notes", VerticalScroll)
        classes = "bench-note" + (" -error" if error else "") + (f" -{kind}" if kind else "")
        if kind == "trial":  # one line for the latest trial, not one per trial
            for old in box.query(".-trial"):
                old.remove()
        box.mount(Static(("error: " if error else "") + text, classes=classes, markup=False))
        extra = list(box.children)[:-NOTES_KEEP]
        for widget in extra:
            widget.remove()
        box.scroll_end(animate=False)

    def on_bench_finished(self, message: BenchFinished) -> None:
        message.stop()
        self.bench_run, self.busy = None, None
        self.query_one("#bench-form").disabled = False
        self.refresh_bindings()
        report: BenchReport | None = message.report
        if report is None:
            self._add_note(message.error, True)
            self._set_status(message.error)
            return
        self.saved_paths = tuple(message.paths)
        saved = (
            f"saved {self.saved_paths[0]} and {self.saved_paths[1].name}"
            if self.saved_paths
            else message.error or "nothing to save"
        )
        if message.error:
            self._add_note(message.error, True)
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
        if self.busy == "running" and self.bench_run is not None:
            self.bench_run.cancel()
            self.busy = "cancelling"
            self._add_note("cancel: closing the open requests; the trials that finished are kept", False)
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
        self._list_saved(self._results_dir())

    @work(thread=True, exclusive=True, group="bench-list", exit_on_error=False)
    def _list_saved(self, folder: Path) -> None:
        try:
            runs, note = br.saved_runs(folder)
        except Exception as exc:  # noqa: BLE001 - a folder that cannot be read is said, never fatal
            runs, note = [], f"cannot list {folder}: {exc}"
        self.post_message(BenchListed(runs, note))

    def on_bench_listed(self, message: BenchListed) -> None:
        message.stop()
        self.saved_runs, self.saved_note = list(message.runs), message.note
        self.marked &= {r.path for r in self.saved_runs}
        self.show_state(None)

    def _visible_runs(self) -> list[br.SavedRun]:
        needle = self.needle.lower()
        return [r for r in self.saved_runs if not needle or needle in r.text().lower()]

    def show_state(self, _state: object = None) -> None:
        """The saved runs, filtered (also called on each telemetry sample and filter keystroke: diffed, cheap)."""
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
