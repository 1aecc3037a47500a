"""Real components: the jtop service on an emulated Jetson, the installed command, tmux."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import need
from tests.realparts import jetson_emulator as emu
from tests.realparts.vllm_server import vllm_endpoint, vllm_model, vllm_slow_endpoint  # noqa: F401 - session fixtures

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "realparts" in str(item.path):
            item.add_marker(pytest.mark.realparts)


EMULATOR_LOG = Path(tempfile.gettempdir()) / "jetconsole-jtop-emulator.log"


def _keep_log(proc: subprocess.Popen[str]) -> None:
    """Append the emulator's output (the jtop service's log and tracebacks) to EMULATOR_LOG as it comes."""
    assert proc.stdout is not None
    with open(EMULATOR_LOG, "a", encoding="utf-8") as log:
        log.write(f"--- emulator pid {proc.pid} started {time.strftime('%H:%M:%S')}\n")
        for line in proc.stdout:
            log.write(line)
            log.flush()
        log.write(f"--- emulator pid {proc.pid} output ended {time.strftime('%H:%M:%S')} (exit {proc.poll()})\n")


def start_emulator() -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.realparts.jetson_emulator", "serve"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    seen = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            seen.append(line)
            if "jtop emulator: ready" in line:
                # keep reading its output: a full pipe (64 KiB of service logs in a long session) would block
                # the emulator and the jtop service behind it
                threading.Thread(target=_keep_log, args=(proc,), daemon=True).start()
                return proc
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("jtop emulator did not start:\n" + "".join(seen[-20:]))


def stop_emulator(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class EmulatedService:
    """The emulator process, restartable by tests that kill the service on purpose."""

    def __init__(self) -> None:
        self.proc = start_emulator()

    def stop(self) -> None:
        if self.proc.poll() is None:
            stop_emulator(self.proc)

    def restart(self) -> None:
        self.stop()
        self.proc = start_emulator()


@pytest.fixture(scope="session")
def jtop_service() -> Iterator[EmulatedService]:
    """The real jtop service (jetson-stats) reading an emulated AGX Orin's sysfs."""
    need(os.geteuid() == 0, "the jtop service must run as root (it owns /run/jtop.sock)")
    need(not emu.service_running(), "a jtop service already listens on /run/jtop.sock; tests never touch it")
    service = EmulatedService()
    yield service
    service.stop()


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
