"""The CLIs run the runtime headless (issue 13): snapshot, containers, launch and doctor build a ``Runtime``
with the services they use, wait on its state through ``subscribe``, and stop it (no thread left)."""

from __future__ import annotations

import threading
from io import StringIO
from pathlib import Path

from console.config import Config
from console.doctor.check import OK, Check, Probe
from console.telemetry.discovery import Discovery
from console.telemetry.model import Cpu, Memory, SourceReport, SourceStatus, TelemetrySnapshot
from tests.conftest import FixedSource

GIB = 1 << 30


def _no_runtime_threads() -> bool:
    return not [t for t in threading.enumerate() if t.name.startswith("jetconsole-")]


def test_snapshot_waits_for_procfs_second_reading_and_reports_each_source() -> None:
    from console.telemetry import command as snapshot

    procfs = FixedSource(
        "procfs",
        [
            TelemetrySnapshot(time=1.0, sources=("procfs",), cpu=Cpu(load=None)),  # the first: no CPU window yet
            TelemetrySnapshot(time=2.0, sources=("procfs",), cpu=Cpu(load=7.0), memory=Memory(8 * GIB, GIB)),
        ],
    )
    found = Discovery([procfs], SourceReport((SourceStatus("procfs", True, "in use"),)))
    report, snap = snapshot.take(Config(), discover_fn=lambda: found, timeout=10)
    assert snap is not None and snap.cpu == Cpu(load=7.0)
    assert [s.name for s in report.statuses] == ["procfs"]
    assert "source procfs: ok - in use" in snapshot.as_text(report, snap)
    assert procfs.closed and _no_runtime_threads()


def test_snapshot_without_sources_says_so() -> None:
    from console.telemetry import command as snapshot

    missing = SourceReport((SourceStatus("jtop", False, "no jtop service", "install it"),))
    report, snap = snapshot.take(Config(), discover_fn=lambda: Discovery([], missing), timeout=5)
    assert snap is None and "no telemetry source produced a sample" in snapshot.as_text(report, snap)


def test_containers_and_launch_without_docker_exit_6(tmp_path: Path) -> None:
    from console.containers import command as commands

    config = Config(docker_host=f"unix://{tmp_path}/absent.sock", telemetry_source="procfs")
    err = StringIO()
    assert commands.containers(config, as_json=False, out=StringIO(), err=err) == commands.EXIT_DOCKER
    assert "absent.sock" in err.getvalue()
    out, err = StringIO(), StringIO()
    code = commands.launch(config, "vllm-thor", [], dry_run=True, timeout=5, out=out, err=err)
    assert code == commands.EXIT_DOCKER, out.getvalue() + err.getvalue()
    assert "Equivalent command:" in out.getvalue() and "absent.sock" in err.getvalue()
    assert _no_runtime_threads()


def test_doctor_checks_run_in_the_runtime_after_its_sources_are_found() -> None:
    from console.doctor import command as doctor

    seen: list[tuple[str, ...]] = []

    def checks(_probe: Probe) -> list[Check]:
        from console.telemetry.jtop_source import live_source

        seen.append(("ran", "jtop borrowed" if live_source() else "no jtop here"))
        return [Check("memory", "Memory", OK, ("fine",))]

    config = Config(telemetry_source="procfs")
    assert doctor.run_checks(config, Probe(), checks) == [Check("memory", "Memory", OK, ("fine",))]
    assert seen == [("ran", "no jtop here")] and _no_runtime_threads()
