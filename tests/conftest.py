"""Shared fixtures.  Real-component tiers call ``need()``: skip locally, fail under CI=true."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from console.telemetry.discovery import Discovery
from console.telemetry.jtop_source import snapshot_from_jtop
from console.telemetry.model import SourceReport, SourceStatus, TelemetrySnapshot

DATA = Path(__file__).parent / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """Stop a real-component test whose part is missing: a skip here, a failure in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"real-component tier cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def orin_reading() -> dict:
    """A reading recorded from the real jtop service on the emulated Orin (tests/realparts)."""
    return json.loads((DATA / "jtop_orin_reading.json").read_text())


class FixedSource:
    """A source that returns the given snapshots in turn (then repeats the last)."""

    paced = False

    def __init__(self, name: str, snapshots: list[TelemetrySnapshot]) -> None:
        self.name = name
        self.snapshots = list(snapshots)
        self.closed = False

    def open(self) -> None:
        pass

    def sample(self) -> TelemetrySnapshot:
        return self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]

    def close(self) -> None:
        self.closed = True


def fixed_discovery(snapshots: list[TelemetrySnapshot], name: str = "jtop") -> Discovery:
    return Discovery(
        sources=[FixedSource(name, snapshots)],
        report=SourceReport(
            (
                SourceStatus(name, True, "in use"),
                SourceStatus("nvml", False, "not needed: jtop reads the GPU"),
                SourceStatus("docker", False, "no Docker socket at /var/run/docker.sock", "install Docker"),
            )
        ),
    )


@pytest.fixture
def orin_snapshot() -> TelemetrySnapshot:
    return snapshot_from_jtop(orin_reading(), now=1_800_000_000.0)


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read or write the real user's config."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.delenv("JETCONSOLE_CONFIG", raising=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Safety net: under CI=true no real-component test may end skipped, however it skipped."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and item.get_closest_marker("realparts"):
        report.outcome = "failed"
        report.longrepr = f"real-component test skipped under CI=true: {report.longrepr}"
    if report.when == "call" and item.get_closest_marker("realparts") and report.outcome in ("passed", "failed"):
        _RAN_REALPARTS.append(item.nodeid)


# Under CI=true the real-component tier must run at least this many tests: a tier that skips a whole module at
# import, or collects less than it should, fails the run instead of passing quietly (86 when this was written).
MIN_REALPARTS_RUN = 80
_RAN_REALPARTS: list[str] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """Under CI=true a real-component module skipped at collection (``pytest.skip(allow_module_level=True)``,
    ``importorskip``) is a failure too."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and "realparts" in str(getattr(collector, "path", "")):
        report.outcome = "failed"
        report.longrepr = f"real-component module skipped at collection under CI=true: {report.longrepr}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI=true, a run of the whole tier (``tests`` or ``tests/realparts``) must have run enough of it."""
    here = Path(__file__).parent.resolve()
    whole = {here, here / "realparts"}
    asked = {Path(str(a).split("::")[0]).resolve() for a in session.config.args}
    if IN_CI and asked & whole and len(_RAN_REALPARTS) < MIN_REALPARTS_RUN and exitstatus == 0:
        print(
            f"\nreal-component tier: {len(_RAN_REALPARTS)} tests ran under CI=true, fewer than {MIN_REALPARTS_RUN}",
            file=sys.stderr,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="module")
def replay():
    """One replay server per test module (stopping one takes half a second); see tests/replay.py."""
    from tests.replay import ReplayServer

    with ReplayServer() as server:
        yield server


@pytest.fixture
def srv(replay):
    """The module's replay server, reset: a two-token answer, no requests seen."""
    from tests.replay import Script, token_frames

    replay.script = Script(frames=token_frames(["Hello", "!"]))
    replay.requests.clear()
    return replay
