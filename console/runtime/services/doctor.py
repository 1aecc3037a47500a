"""The doctor: one service reruns the checks on a timer and on demand; a fix runs in its own
service, asks through the hub and ends with a rerun.  Only one fix runs at a time."""

from __future__ import annotations

import threading
import time

from console.doctor.fixes import FIXES, reboot
from console.doctor.session import DoctorSetup
from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Lifecycle
from console.telemetry.model import Board

WAKE_SLICE_S = 0.5  # how soon a stopped runtime ends the waiting loop
# The first run waits for the first telemetry sample (or the sources' failure), at most this long: the checks are not
# on the first frame, and run beside it they took the CPU the first live frame waited for (benchmarks/README.md).
FIRST_RUN_WAIT_S = 3.0
FIRST_RUN_SLICE_S = 0.05
REBOOT_QUESTION = "Memory is still held. Type reboot and Enter to reboot now; Esc leaves it."


class DoctorService:
    def __init__(self, hub: Hub, setup: DoctorSetup) -> None:
        self.hub = hub
        self.setup = setup
        self._wake = threading.Event()
        self._fix_lock = threading.Lock()

    def start(self) -> None:
        self.hub.emit(ev.DoctorRunning())
        self.hub.runner.spawn("doctor", self._loop)

    def _telemetry_settled(self) -> bool:
        """Every source found has a first sample (or failed): jtop's board facts are in before the checks run."""
        telemetry = self.hub.state.telemetry
        found_none = bool(telemetry.report.statuses) and not telemetry.order
        every = all(n in telemetry.latest or n in telemetry.errors for n in telemetry.order)
        return (every and (telemetry.merged is not None or bool(telemetry.errors))) or found_none

    def _board(self) -> Board | None:
        """The board facts the telemetry reports, jtop's first (the checks read them before files)."""
        telemetry = self.hub.state.telemetry
        jtop = telemetry.latest.get("jtop")
        if jtop is not None and jtop.board is not None:
            return jtop.board
        return telemetry.merged.board if telemetry.merged is not None else None

    def _loop(self, life: Lifecycle) -> None:
        setup = self.setup
        first_by = time.monotonic() + FIRST_RUN_WAIT_S
        with life.waiting():
            while not (life.stopped or self._wake.is_set() or self._telemetry_settled()):
                if time.monotonic() >= first_by or life.stop_event.wait(FIRST_RUN_SLICE_S):
                    break
        while not life.stopped:
            self._wake.clear()
            checks = setup.run(self._board())
            if life.stopped:
                return
            self.hub.emit(ev.DoctorChecked(tuple(checks), setup.clock(), more=self._wake.is_set()))
            deadline = time.monotonic() + setup.interval if setup.interval > 0 else None
            with life.waiting():  # until the interval passes, a rerun is asked for, or the runtime stops
                while not life.stopped and not self._wake.wait(WAKE_SLICE_S):
                    if deadline is not None and time.monotonic() >= deadline:
                        break

    def rerun(self) -> None:
        """Run the checks now (the loop is waiting, or it reruns as soon as the current run ends)."""
        self.hub.emit(ev.DoctorRunning())
        self._wake.set()

    def fix(self, check_id: str) -> bool:
        """Start the in-app fix for ``check_id``; False (with a notice) when another fix runs."""
        if check_id not in FIXES:
            return False
        if not self._fix_lock.acquire(blocking=False):
            fixing = self.hub.state.doctor.fixing
            self.hub.emit(ev.Notice(f"a fix is running ({fixing}); wait for it to finish"))
            return False
        self.hub.emit(ev.FixStarted(check_id))
        fix, setup = FIXES[check_id], self.setup

        def say(line: str) -> None:
            self.hub.emit(ev.FixLine(check_id, line))

        def work(_life: Lifecycle) -> None:
            ok, reboot_offer = False, False
            try:
                say(f"── {check_id} fix ──")
                ok = fix(setup, lambda title, text: self.hub.ask(title, text, strict=True), say)
                reboot_offer = check_id == "memory" and not ok
            except Exception as exc:  # noqa: BLE001 - daemon gone mid-fix, jtop dropped: say it, never crash
                say(f"stopped: {type(exc).__name__}: {exc}")
            finally:
                self._fix_lock.release()
            self.hub.emit(ev.FixEnded(check_id, ok, reboot_offer))
            verdict = "fixed" if ok else "not fixed; the log says why"
            self.hub.emit(ev.Notice(f"{check_id}: {verdict}", "information" if ok else "warning", 5))
            self.rerun()
            if reboot_offer:
                self._offer_reboot()

        self.hub.runner.spawn(f"fix:{check_id}", work)
        return True

    def _offer_reboot(self) -> None:
        word = self.hub.ask_word(REBOOT_QUESTION)
        if word != "reboot":
            self.hub.emit(ev.FixLine("reboot", "no reboot (type exactly: reboot)"))
            return
        reboot(self.setup, lambda line: self.hub.emit(ev.FixLine("reboot", line)))
