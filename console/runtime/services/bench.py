"""Bench: reading the form into a plan, the bench run itself, saving it, and listing saved runs, each a
service on the runner that only emits events.

One bench at a time.  The energy figures come from one ``PowerMeter`` fed by the runtime's own telemetry
samples (``sampled``, a subscriber): no second connection to jtop or NVML.  A run is stopped by
``StopBench`` or by the runtime stopping (its lifecycle's stop cancels it): the open requests are
closed, the finished trials are kept and saved, and a power A/B puts the original mode back.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from console import config as cfg
from console.bench import form as bf
from console.bench import results as br
from console.bench.energy import PowerMeter, watts_of
from console.bench.runner import BenchPlan, BenchRun, Note, PowerControl, Progress, RunEvent, TrialDone
from console.bench.view import trial_text
from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Lifecycle
from console.runtime.sanitise import clean_text
from console.runtime.state import ConsoleState

PROGRESS_EVERY_S = 0.1  # a fast server finishes hundreds of requests a second: at most 10 progress events
CANCEL_NOTE = "cancel: closing the open requests; the trials that finished are kept"


class BenchService:
    def __init__(self, hub: Hub, config: cfg.Config) -> None:
        self.hub = hub
        self.config = config
        self.meter = PowerMeter()
        self._lock = threading.Lock()
        self._runs = 0
        self._running: tuple[int, BenchRun, Lifecycle] | None = None

    # ---- telemetry: the power meter -----------------------------------------------------------
    def sampled(self, state: ConsoleState, event: ev.Event) -> None:
        """A runtime subscriber (in a service's thread): a sample that carries power goes into the meter,
        as the merged view of that moment (a procfs sample would only repeat the last watts)."""
        if isinstance(event, ev.Sampled) and state.telemetry.merged is not None:
            if watts_of(event.snapshot)[0] is not None:
                self.meter.add_snapshot(time.monotonic(), state.telemetry.merged)

    def seed(self, state: ConsoleState) -> None:
        """The meter's first sample: the latest merged one, when the service is made after the telemetry started."""
        merged = state.telemetry.merged
        if merged is not None and watts_of(merged)[0] is not None:
            self.meter.add_snapshot(time.monotonic(), merged)

    # ---- the plan --------------------------------------------------------------------------------
    def plan(self, form: bf.BenchForm, power: PowerControl | None) -> None:
        """Read the form (its prompt file) and, for a power A/B, the power mode now; a ``BenchPlanned`` answers."""

        def work(_life: Lifecycle) -> None:
            self.hub.emit(_planned(form, self.config, power))

        self.hub.runner.spawn("bench-plan", work)

    # ---- the run ---------------------------------------------------------------------------------
    def run(self, plan: BenchPlan, folder: Path | None, baseline: str = "", power: PowerControl | None = None) -> str:
        """Start ``plan``, its results to be saved in ``folder`` (None: not saved); "" when it started
        (``BenchStarted`` is already folded in), else why not."""
        from console.bench.context import device_context, server_context

        meter, docker_host = self.meter, self.config.docker_host
        with self._lock:
            if self._running is not None:
                return "a bench is running; stop it first"
            self._runs += 1
            number = self._runs
            last = [0.0]

            def relay(event: RunEvent) -> None:
                self._relay(number, event, last)

            try:
                run = BenchRun(
                    plan,
                    relay,
                    meter,
                    power if plan.power_modes else None,
                    context=lambda t: server_context(t.endpoint, t.model, docker_host),
                    device=lambda: device_context(self.hub.state.telemetry.merged, meter.what),
                )
            except ValueError as exc:
                return str(exc)
            energy = meter.what if meter.has_samples else ""
            self.hub.emit(ev.BenchStarted(number, plan, energy))

            def work(_life: Lifecycle) -> None:
                self._run(number, run, folder, baseline)

            life = self.hub.runner.spawn("bench", work, cleanup=lambda: self._ended(number))
            self._running = (number, run, life)
        life.on_stop(run.cancel)  # StopBench and Runtime.stop: the open requests are closed
        return ""

    def stop(self) -> None:
        """Cancel the running bench (nothing when none runs)."""
        with self._lock:
            running = self._running
        if running is None:
            return
        number, run, life = running
        if run.cancelled:
            return
        self.hub.emit(ev.BenchNoted(number, CANCEL_NOTE))
        self.hub.emit(ev.BenchCancelling(number))
        life.stop()

    def _ended(self, number: int) -> None:
        with self._lock:
            if self._running is not None and self._running[0] == number:
                self._running = None

    def _relay(self, number: int, event: RunEvent, last: list[float]) -> None:
        """The runner's events, from its thread, as the runtime's; progress at most every PROGRESS_EVERY_S."""
        emit = self.hub.emit
        if isinstance(event, Progress):
            if 0 < event.done < event.total:
                now = time.monotonic()
                if now - last[0] < PROGRESS_EVERY_S:
                    return
                last[0] = now
            emit(ev.BenchProgressed(number, event))
        elif isinstance(event, TrialDone):
            emit(ev.BenchNoted(number, clean_text(trial_text(event)), trial=True))
        elif isinstance(event, Note):
            emit(ev.BenchNoted(number, clean_text(event.text), error=event.error))  # a server's words among them

    def _run(self, number: int, run: BenchRun, folder: Path | None, baseline: str) -> None:
        emit = self.hub.emit
        try:
            report = run.run()
        except Exception as exc:  # noqa: BLE001 - said as the run's end; the app goes on
            error = clean_text(f"the bench stopped: {type(exc).__name__}: {exc}")
            emit(ev.BenchNoted(number, error, error=True))
            emit(ev.BenchFinished(number, None, error=error))
            return
        paths: tuple[Path, ...] = ()
        error = ""
        if report.results and folder is not None:
            try:
                paths = br.save(report, folder, baseline)
            except OSError as exc:
                error = f"not saved: {exc}"
                emit(ev.BenchNoted(number, error, error=True))
        emit(ev.BenchFinished(number, report, paths, error))

    # ---- saved runs ------------------------------------------------------------------------------
    def list_saved(self, folder: Path) -> None:
        def work(_life: Lifecycle) -> None:
            try:
                runs, note = br.saved_runs(folder)
            except Exception as exc:  # noqa: BLE001 - a folder that cannot be read is said, never fatal
                runs, note = [], f"cannot list {folder}: {exc}"
            self.hub.emit(ev.BenchListed(folder, tuple(runs), clean_text(note)))

        self.hub.runner.spawn("bench-list", work)


def _planned(form: bf.BenchForm, config: cfg.Config, power: PowerControl | None) -> ev.BenchPlanned:
    try:
        plan = bf.plan_from_form(form, config)
    except bf.FormError as exc:
        return ev.BenchPlanned(None, tuple((f, clean_text(t)) for f, t in exc.problems))
    except Exception as exc:  # noqa: BLE001 - said on the screen like a bad field
        return ev.BenchPlanned(None, (("", clean_text(f"cannot build the plan: {type(exc).__name__}: {exc}")),))
    now = ""
    if plan.power_modes and power is not None:
        try:
            now = clean_text(power.snapshot_state().summary())
        except Exception as exc:  # noqa: BLE001 - no jtop service: the A/B cannot run, nothing changed
            return ev.BenchPlanned(None, (("power_ab", clean_text(str(exc))),))
    return ev.BenchPlanned(plan, power_now=now)
