"""The doctor inside the app, driven by keys: the dashboard banner, the Doctor screen, reruns on a
timer and on ``r``, and the fixes' questions answered from dialogs.

The checks here are fixed ``Check`` lists (the real checks are tested against real parts in
tests/realparts); the fixes are stand-ins that ask and say through the same plumbing the real
ones use (tests/realparts/test_doctor_app.py runs the real daemon.json fix and memory wizard).
"""

from __future__ import annotations

import threading

import pytest
from textual.widgets import DataTable, RichLog

from console.doctor.check import FAIL, OK, SKIP, WARN, Check
from console.doctor.session import DoctorSetup, banner_text, detail_text, first_problem, in_app_fix
from console.ui.screens.chat_dialogs import AskScreen
from console.ui.screens.confirm import ConfirmScreen
from console.ui.screens.dashboard import DashboardScreen
from console.ui.screens.doctor import DoctorScreen
from tests.app.helpers import frozen_app, wait_for
from tests.app.test_snapshots import REPORT

DOCKER_OK = Check("docker", "Docker reachable", OK, ("Docker 28.5.2 (API 1.51) at unix:///var/run/docker.sock",))
DAEMON_FAIL = Check(
    "daemon-json",
    "daemon.json: nvidia runtime is the default",
    FAIL,
    ("/etc/docker/daemon.json: no default-runtime (Docker uses runc)",),
    "jetconsole doctor --fix daemon-json",
)
TIKTOKEN_WARN = Check(
    "tiktoken",
    "gpt-oss tiktoken files",
    WARN,
    ("TIKTOKEN_ENCODINGS_BASE is not set",),
    "download o200k_base.tiktoken and cl100k_base.tiktoken; export TIKTOKEN_ENCODINGS_BASE=DIR",
)
POWER_WARN = Check(
    "power",
    "Power: highest mode, jetson_clocks on",
    WARN,
    ("nvpmodel MODE_30W (id 2)",),
    "jetconsole doctor --power-mode MAXN",
)
MEMORY_FAIL = Check(
    "memory",
    "Memory: nothing stuck after servers stopped",
    FAIL,
    ("used 40.0 GiB of 122.8 GiB", "holder: pid 4242 VLLM::EngineCore 12.0 GiB (orphan)"),
    "jetconsole doctor --recover-memory",
)
STACK_SKIP = Check("stack", "Software stack", SKIP, ("not a Jetson",))


class Checks:
    """A stand-in for ``run_all``: returns ``self.now``, counts runs."""

    def __init__(self, now: list[Check]) -> None:
        self.now, self.runs = now, 0
        self.ran = threading.Event()

    def __call__(self, _probe) -> list[Check]:
        self.runs += 1
        self.ran.set()
        return list(self.now)


def app_with(checks: Checks, interval: float = 0, **kw):
    setup = DoctorSetup(interval=interval, checks=checks, audit=lambda event, data: None, **kw)
    return frozen_app([], REPORT, doctor=setup)


def banner(app) -> str:
    widget = app.screen.query_one("#doctor-banner")
    return widget.text if widget.display else ""


# ---- pure ------------------------------------------------------------------------------------------------------


def test_banner_names_the_first_failure_and_the_key() -> None:
    assert banner_text([DOCKER_OK, TIKTOKEN_WARN]) is None  # warnings raise no banner
    text = banner_text([DOCKER_OK, DAEMON_FAIL, TIKTOKEN_WARN, MEMORY_FAIL], key="D")
    assert text == (
        "✗ Doctor: daemon.json: nvidia runtime is the default — /etc/docker/daemon.json: no "
        "default-runtime (Docker uses runc) (+1 more failing) · D: open the fix"
    )
    assert first_problem([DOCKER_OK, TIKTOKEN_WARN, MEMORY_FAIL]) == 2
    assert first_problem([DOCKER_OK, TIKTOKEN_WARN]) == 1
    assert first_problem([DOCKER_OK]) == 0


def test_detail_says_what_enter_does() -> None:
    assert in_app_fix(DAEMON_FAIL) and in_app_fix(MEMORY_FAIL) and in_app_fix(POWER_WARN)
    assert in_app_fix(TIKTOKEN_WARN) is None and in_app_fix(DOCKER_OK) is None
    text = detail_text(DAEMON_FAIL)
    assert text.splitlines()[0] == "✗ FAIL  daemon.json: nvidia runtime is the default"
    assert "  /etc/docker/daemon.json: no default-runtime (Docker uses runc)" in text
    assert "fix: jetconsole doctor --fix daemon-json" in text
    assert "Enter: show the diff" in text
    assert "Enter: nothing to apply from here" in detail_text(TIKTOKEN_WARN)
    assert detail_text(DOCKER_OK).endswith("Nothing to do.") and "fix:" not in detail_text(DOCKER_OK)


# ---- Pilot -----------------------------------------------------------------------------------------------------


async def test_failing_check_raises_banner_and_D_opens_the_doctor_on_it() -> None:
    checks = Checks([DOCKER_OK, TIKTOKEN_WARN, DAEMON_FAIL])
    app = app_with(checks)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "daemon.json" in banner(app))
        assert banner(app).endswith("· D: open the fix")
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        screen = app.screen
        table = screen.query_one(DataTable)
        assert table.row_count == 3
        assert screen.selected() == DAEMON_FAIL  # the cursor starts on the failing check, not the warning
        detail = screen.query_one("#doctor-detail").text
        assert "no default-runtime" in detail and "fix: jetconsole doctor --fix daemon-json" in detail
        assert "1 fail, 1 warn, 1 ok" in screen.query_one("#title").text
        await pilot.press("up")
        assert screen.selected() == TIKTOKEN_WARN
        assert "TIKTOKEN_ENCODINGS_BASE is not set" in screen.query_one("#doctor-detail").text
        # the fix is fixed elsewhere; r reruns; the banner goes away
        checks.now = [DOCKER_OK, TIKTOKEN_WARN, Check("daemon-json", DAEMON_FAIL.title, OK, ("runtime nvidia",))]
        before = checks.runs
        await pilot.press("r")
        await wait_for(pilot, lambda: checks.runs > before and "0 fail" in screen.query_one("#title").text)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert banner(app) == ""


async def test_checks_rerun_on_the_timer_without_a_key() -> None:
    checks = Checks([DOCKER_OK])
    app = app_with(checks, interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: checks.runs >= 3)
        assert banner(app) == ""
        checks.now = [DOCKER_OK, MEMORY_FAIL]
        await wait_for(pilot, lambda: "Memory: nothing stuck" in banner(app))


async def test_filter_and_enter_on_a_check_without_an_in_app_fix() -> None:
    checks = Checks([DOCKER_OK, TIKTOKEN_WARN, STACK_SKIP, DAEMON_FAIL])
    app = app_with(checks)
    notes: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
        await wait_for(pilot, lambda: checks.runs == 1 and app.state.doctor.checks)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        screen = app.screen
        await pilot.press("slash", *"tiktoken")
        await wait_for(pilot, lambda: screen.query_one(DataTable).row_count == 1)
        await pilot.press("enter")  # back to the table
        await pilot.press("enter")
        assert notes == [f"{TIKTOKEN_WARN.title}: run {TIKTOKEN_WARN.fix}"]
        assert app.state.doctor.fixing is None and checks.runs == 1  # nothing ran
        await pilot.press("escape")  # clears the filter
        await wait_for(pilot, lambda: screen.query_one(DataTable).row_count == 4)


@pytest.fixture
def stand_in_fix(monkeypatch):
    """Replace the power fix with one that asks once and says what it got."""
    from console.doctor import fixes

    got: list[bool] = []

    def power(setup, ask, say) -> bool:
        yes = ask("Switch power mode?", "now: nvpmodel MODE_30W\nplan: nvpmodel MODE_30W -> MAXN")
        got.append(yes)
        say("  mode -> MAXN: done: MODE_30W -> MAXN" if yes else "nothing changed")
        return yes

    monkeypatch.setitem(fixes.FIXES, "power", power)
    return got


@pytest.mark.parametrize("answer", ["n", "y"])
async def test_fix_asks_in_a_dialog_and_reruns_after(stand_in_fix: list[bool], answer: str) -> None:
    checks = Checks([DOCKER_OK, POWER_WARN])
    app = app_with(checks)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: checks.runs == 1 and app.state.doctor.checks)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        doctor = app.screen
        assert doctor.selected() == POWER_WARN
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "MODE_30W -> MAXN" in str(app.screen.query_one("#confirm-text").render())
        assert app.state.doctor.fixing == "power"
        await pilot.press(answer)
        await wait_for(pilot, lambda: app.state.doctor.fixing is None and checks.runs == 2)
        assert stand_in_fix == [answer == "y"]
        log = "\n".join(app.state.doctor.log)
        assert "── power fix ──" in log
        assert ("mode -> MAXN: done" in log) == (answer == "y")
        assert log.endswith("done" if answer == "y" else "not fixed")
        assert app.screen is doctor and len(doctor.query_one(RichLog).lines) == len(app.state.doctor.log)


async def test_memory_still_held_offers_a_reboot_only_on_the_typed_word(monkeypatch) -> None:
    from console.doctor import fixes
    from console.runtime.services import doctor as doctor_service

    monkeypatch.setitem(fixes.FIXES, "memory", lambda setup, ask, say: say("memory is still held") or False)
    reboots: list[object] = []
    monkeypatch.setattr(doctor_service, "reboot", lambda setup, say: reboots.append(setup))
    checks = Checks([MEMORY_FAIL])
    app = app_with(checks)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.doctor.checks)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen))
        await pilot.press(*"yes", "enter")  # anything but the word leaves it
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        assert reboots == [] and app.state.doctor.log[-1] == "no reboot (type exactly: reboot)"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AskScreen))
        await pilot.press(*"reboot", "enter")
        await wait_for(pilot, lambda: reboots == [app.runtime.doctor.setup])


async def test_one_fix_at_a_time(stand_in_fix: list[bool]) -> None:
    checks = Checks([POWER_WARN])
    app = app_with(checks)
    notes: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.doctor.checks)
        app.doctor_fix("power")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
        app.doctor_fix("power")
        await wait_for(pilot, lambda: notes == ["a fix is running (power); wait for it to finish"])
        await pilot.press("n")
        await wait_for(pilot, lambda: app.state.doctor.fixing is None)
        assert stand_in_fix == [False]


async def test_no_doctor_setup_no_banner_and_the_screen_says_so() -> None:
    app = frozen_app([], REPORT)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        assert "No checks yet" in app.screen.query_one("#doctor-detail").text
        await pilot.press("escape")
        assert banner(app) == ""


async def test_m_opens_the_fit_screen_from_the_dashboard() -> None:
    from console.ui.screens.fit import FitScreen

    app = frozen_app([], REPORT)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, FitScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))


# ---- snapshots -------------------------------------------------------------------------------------------------

SNAPSHOT_CHECKS = [DOCKER_OK, DAEMON_FAIL, STACK_SKIP, TIKTOKEN_WARN, MEMORY_FAIL, POWER_WARN]


@pytest.fixture
def utc(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def snapshot_app():
    setup = DoctorSetup(
        interval=0, checks=Checks(SNAPSHOT_CHECKS), audit=lambda event, data: None, clock=lambda: 1795000000.0
    )
    return frozen_app([], REPORT, doctor=setup)


async def _checked(pilot) -> None:
    await wait_for(pilot, lambda: pilot.app.state.doctor.checks)


def test_dashboard_banner_120x40(snap_compare, utc) -> None:
    assert snap_compare(snapshot_app(), terminal_size=(120, 40), run_before=_checked)


def test_doctor_screen_120x40(snap_compare, utc) -> None:
    async def open_it(pilot) -> None:
        await _checked(pilot)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DoctorScreen))

    assert snap_compare(snapshot_app(), terminal_size=(120, 40), run_before=open_it)


async def test_doctor_reads_the_board_jtop_reports_as_the_dashboard_shows_it(orin_snapshot, tmp_path) -> None:
    """Issue 15 item 22: with jtop reporting Orin, JetPack 6.1 and CUDA, the real stack check says so too, even where
    /etc/nv_tegra_release and the CUDA version file are absent (as inside a container)."""
    from console.doctor.check import Probe
    from console.doctor.checks import check_stack
    from console.telemetry.view import board_line

    probe = Probe(
        tegra_release=tmp_path / "nv_tegra_release",
        cuda_version=tmp_path / "version.json",
        gpu_markers=(),
        use_nvml=False,
    )
    setup = DoctorSetup(probe, interval=0, checks=lambda p: [check_stack(p)], audit=lambda event, data: None)
    app = frozen_app([orin_snapshot], REPORT, doctor=setup)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(app.state.doctor.checks))
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        detail = app.screen.query_one("#doctor-detail").text
        shown = board_line(orin_snapshot)  # the dashboard's line: Orin · L4T 36.4.0 · JetPack 6.1 · CUDA 13.0.88
        assert "NVIDIA Jetson AGX Orin (emulated): L4T 36.4.0, JetPack 6.1 (jtop)" in detail
        assert "CUDA 13.0.88 (jtop)" in detail and "CUDA 13.0.88" in shown and "JetPack 6.1" in shown
        assert "not a Jetson" not in detail and "no CUDA" not in detail
