"""Shared fixtures.  Real-component tiers call ``need()``: skip locally, fail under CI=true."""

from __future__ import annotations

import json
import os
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
