"""Real components: the jtop service on an emulated Jetson, the installed command, tmux."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need
from tests.realparts import jetson_emulator as emu
from tests.realparts.vllm_server import (  # noqa: F401 - session fixtures
    vllm_endpoint,
    vllm_model,
    vllm_slow_endpoint,
    vllm_vision_endpoint,
)

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "realparts" in str(item.path):
            item.add_marker(pytest.mark.realparts)


EMULATOR_LOG = Path(tempfile.gettempdir()) / "jetconsole-jtop-emulator.log"
# A cold start on this 2-core box under a full run: interpreter and jtop imports, the service's own
# initialisation (it runs the fake jetson_clocks and nvpmodel), then a client's first sample.  A deadline,
# not a wait: the fixture goes on the moment a sample arrives.
EMULATOR_START_S = 120.0
# The tests' clients read at 0.5 s (refresh_interval, discover, the doctor's client): the readiness clients
# start the service's timer at that pace, not slower than the tests then wait for.
EMULATOR_INTERVAL_S = 0.5


class EmulatorFailed(RuntimeError):
    """The emulated jtop service did not serve; the message carries the emulator's log tail."""


class EmulatedService:
    """The emulator process, restartable by tests that kill the service on purpose.

    Ready means served: the socket accepts a connection and a real jtop client in this process gets a
    first sample (``emu.first_sample``), not a line in its log.  Its output goes straight to EMULATOR_LOG
    (a file: no pipe to fill, no reader thread); an error quotes this start's part of it.  It runs in a
    process group of its own, so a stop also ends the service's processes (its socket server, the
    service) that a killed emulator would leave listening on /run/jtop.sock.
    """

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_from = 0
        self.stopped = False  # by a test, on purpose
        self.start()

    def start(self) -> None:
        with open(EMULATOR_LOG, "ab") as log:
            self.log_from = log.tell()
            log.write(f"--- emulator starting {time.strftime('%H:%M:%S')} (test run {os.getpid()})\n".encode())
            log.flush()
            self.proc = emu.spawn(log, EMULATOR_INTERVAL_S)
        self.stopped = False
        proc = self.proc
        try:
            emu.first_sample(
                EMULATOR_START_S,
                lambda: None if proc.poll() is None else f"emulator exit {proc.poll()}",
                EMULATOR_INTERVAL_S,
            )
        except emu.NotServing as exc:
            self._end()
            raise EmulatorFailed(f"the jtop emulator did not serve: {exc}\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 40) -> str:
        """This start's part of EMULATOR_LOG, its last ``lines``."""
        try:
            with open(EMULATOR_LOG, "rb") as log:
                log.seek(self.log_from)
                text = log.read().decode(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return f"--- last {lines} lines of {EMULATOR_LOG}:\n" + "\n".join(text.splitlines()[-lines:])

    def check(self) -> None:
        """Before each test: the service serves.  A test that stopped it on purpose gets it started again;
        one that finds it dead gets an error with the emulator's log (and the next test a fresh one)."""
        proc = self.proc
        if self.stopped or proc is None:
            self.start()
            return
        problem = None
        if proc.poll() is not None:
            problem = f"the jtop emulator died before this test (exit {proc.returncode})"
        elif not emu.service_running():
            problem = f"the jtop emulator runs but {emu.JTOP_SOCKET} does not accept a connection"
        if problem is not None:
            tail = self.log_tail()
            self._end()
            self.start()
            raise EmulatorFailed(f"{problem}\n{tail}")

    def stop(self) -> None:
        self.stopped = True
        self._end()

    def restart(self) -> None:
        self.stop()
        self.start()

    def _end(self) -> None:
        """SIGTERM (the emulator closes the service and removes its files), SIGKILL to the group after 30 s;
        then any straggler of the group (the service's own processes) is killed."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def end_leftover_emulator() -> None:
    """An emulator that an earlier, killed run left behind (its owner is gone) still listening on
    /run/jtop.sock: end its process group, so this run does not mistake it for a real service."""
    pgid = emu.leftover_group()
    if pgid is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + 15
        while emu.service_running() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not emu.service_running():
            return


@pytest.fixture(scope="session")
def _jtop_emulator() -> Iterator[EmulatedService]:
    need(os.geteuid() == 0, "the jtop service must run as root (it owns /run/jtop.sock)")
    end_leftover_emulator()
    need(not emu.service_running(), "a jtop service already listens on /run/jtop.sock; tests never touch it")
    service = EmulatedService()
    yield service
    service.stop()


@pytest.fixture
def jtop_service(_jtop_emulator: EmulatedService) -> EmulatedService:
    """The real jtop service (jetson-stats) reading an emulated AGX Orin's sysfs, serving when the test starts."""
    _jtop_emulator.check()
    return _jtop_emulator


@pytest.fixture
def gpu_holder(jtop_service) -> Iterator[int]:
    """A real process listed in the emulated nvmap table as holding 2 GiB of GPU memory."""
    holder = subprocess.Popen(["sleep", "300"])
    emu.set_gpu_processes([("root", "vllm-worker", holder.pid, 2 * 1024 * 1024)])
    yield holder.pid
    emu.set_gpu_processes([])
    holder.kill()
    holder.wait()


@pytest.fixture(scope="session")
def installed_command() -> str:
    path = shutil.which("jetconsole")
    need(path is not None, "the jetconsole command is not installed (run scripts/test.sh, which installs it)")
    return str(path)


@pytest.fixture(scope="session")
def tmux() -> str:
    path = shutil.which("tmux")
    need(path is not None, "tmux is not installed (scripts/test.sh installs it)")
    return str(path)


@pytest.fixture(scope="session")
def dockerd() -> Iterator[object]:
    """A private dockerd (own socket and state) with local/busybox:test imported."""
    from tests.realparts.private_dockerd import PrivateDockerd

    need(os.geteuid() == 0, "dockerd needs root")
    need(shutil.which("dockerd") is not None, "dockerd is not installed (scripts/test.sh installs docker.io)")
    need(shutil.which("busybox") is not None, "busybox is not installed (scripts/test.sh installs busybox-static)")
    daemon = PrivateDockerd()
    try:
        daemon.start()
        daemon.import_busybox()
        yield daemon
    finally:
        daemon.cleanup()
