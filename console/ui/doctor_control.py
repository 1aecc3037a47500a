"""The app's doctor side: one thread reruns the checks on a timer and on demand; fixes run in
their own threads and ask their questions through dialogs.

``DoctorChecked`` carries each run to the dashboard banner and the Doctor screen; a fix posts
``DoctorProgress`` lines and ``DoctorAsk`` questions, whose ``Future`` the dialog answers
while the fix's thread waits.  Only one fix runs at a time; every fix ends with a rerun.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

from console.doctor.fixes import FIXES, reboot
from console.doctor.session import DoctorSetup
from console.ui.messages import DoctorAsk, DoctorChecked, DoctorProgress

LOG_KEEP = 500  # lines of fix output kept for a Doctor screen opened later


class DoctorControl:
    """Mixed into the app: ``post_message``, ``_spawn``, ``push_screen`` and ``screen_stack`` come from it."""

    def init_doctor(self, setup: DoctorSetup | None) -> None:
        self.doctor_setup = setup  # None: no doctor runs (tests that want fixed frames)
        self.doctor_checks: list = []
        self.doctor_at: float | None = None
        self.doctor_running = False
        self.doctor_fixing: str | None = None
        self.doctor_log: list[str] = []
        self._doctor_wake = threading.Event()
        self._doctor_stop = threading.Event()

    def start_doctor(self) -> None:
        if self.doctor_setup is not None:
            self.doctor_running = True
            self._spawn(self._doctor_loop, "jetconsole-doctor")  # type: ignore[attr-defined]

    def _doctor_loop(self) -> None:
        setup = self.doctor_setup
        assert setup is not None
        while not self._doctor_stop.is_set():
            self._doctor_wake.clear()
            checks = setup.run()
            if self._doctor_stop.is_set():
                return
            self.post_message(DoctorChecked(checks, setup.clock()))  # type: ignore[attr-defined]
            self._doctor_wake.wait(setup.interval if setup.interval > 0 else None)

    def rerun_doctor(self) -> None:
        """Run the checks now (the loop is waiting, or it reruns as soon as the current run ends)."""
        if self.doctor_setup is None:
            return
        self.doctor_running = True
        self._doctor_wake.set()

    def on_doctor_checked(self, message: DoctorChecked) -> None:
        self.doctor_checks, self.doctor_at = message.checks, message.at
        self.doctor_running = self._doctor_wake.is_set()  # a rerun asked for during this run is still to come
        self._refresh_screen()  # type: ignore[attr-defined]

    # ---- fixes ------------------------------------------------------------------------------------------------
    def doctor_fix(self, check_id: str) -> None:
        """Run the in-app fix for ``check_id`` in a thread; it asks before it changes anything."""
        from console.ui.screens.doctor import DoctorScreen

        if self.doctor_setup is None or check_id not in FIXES:
            return
        if self.doctor_fixing:
            self.notify(f"a fix is running ({self.doctor_fixing}); wait for it to finish", timeout=4)  # type: ignore[attr-defined]
            return
        self.doctor_fixing = check_id
        if not any(isinstance(s, DoctorScreen) for s in self.screen_stack):  # type: ignore[attr-defined]
            self.push_screen(DoctorScreen(check_id))  # type: ignore[attr-defined]
        setup, fix = self.doctor_setup, FIXES[check_id]

        def say(line: str) -> None:
            self.post_message(DoctorProgress(check_id, line))  # type: ignore[attr-defined]

        def ask(title: str, text: str) -> bool:
            reply: Future[bool] = Future()
            self.post_message(DoctorAsk(check_id, title, text, reply))  # type: ignore[attr-defined]
            while not self._doctor_stop.is_set():
                try:
                    return reply.result(timeout=0.5)
                except TimeoutError:
                    continue
            return False  # the app is closing: a question left open is a no

        def work() -> None:
            ok, reboot_offer = False, False
            try:
                say(f"── {check_id} fix ──")
                ok = fix(setup, ask, say)
                reboot_offer = check_id == "memory" and not ok
            except Exception as exc:  # noqa: BLE001 - daemon gone mid-fix, jtop dropped: say it, never crash
                say(f"stopped: {type(exc).__name__}: {exc}")
            self.post_message(
                DoctorProgress(
                    check_id,
                    "done" if ok else "not fixed",
                    done=True,
                    ok=ok,  # type: ignore[attr-defined]
                    reboot=reboot_offer,
                )
            )

        self._spawn(work, f"jetconsole-fix-{check_id}")  # type: ignore[attr-defined]

    def on_doctor_ask(self, message: DoctorAsk) -> None:
        from console.ui.screens.confirm import StrictConfirmScreen

        reply: Future[bool] = message.reply  # type: ignore[assignment]
        self.push_screen(
            StrictConfirmScreen(message.title, message.text),  # type: ignore[attr-defined]
            lambda yes: reply.done() or reply.set_result(bool(yes)),
        )

    def on_doctor_progress(self, message: DoctorProgress) -> None:
        self._doctor_line(message.line)
        if not message.done:
            return
        self.doctor_fixing = None
        self.notify(
            f"{message.fix}: {'fixed' if message.ok else 'not fixed; the log says why'}",  # type: ignore[attr-defined]
            severity="information" if message.ok else "warning",
            timeout=5,
        )
        self.rerun_doctor()
        if message.reboot:
            self._offer_reboot()

    def _doctor_line(self, line: str) -> None:
        from console.ui.screens.doctor import DoctorScreen

        self.doctor_log.append(line)
        del self.doctor_log[:-LOG_KEEP]
        for screen in self.screen_stack:  # type: ignore[attr-defined]
            if isinstance(screen, DoctorScreen):
                screen.add_log(line)

    def _offer_reboot(self) -> None:
        from console.ui.screens.chat_dialogs import AskScreen

        def typed(value: str | None) -> None:
            if value != "reboot":
                self._doctor_line("no reboot (type exactly: reboot)")
                return
            setup = self.doctor_setup
            self._spawn(lambda: reboot(setup, self._doctor_line_from_thread), "jetconsole-reboot")  # type: ignore[attr-defined, arg-type]

        self.push_screen(
            AskScreen("Memory is still held. Type reboot and Enter to reboot now; Esc leaves it."),  # type: ignore[attr-defined]
            typed,
        )

    def _doctor_line_from_thread(self, line: str) -> None:
        self.post_message(DoctorProgress("reboot", line))  # type: ignore[attr-defined]

    def stop_doctor(self) -> None:
        self._doctor_stop.set()
        self._doctor_wake.set()
