"""The doctor reads the board facts jtop reports before files (issue 15 item 22): where the dashboard shows Orin,
JetPack 6.1 and CUDA from jtop, the doctor no longer says "not a Jetson" / "no CUDA toolkit" because
/etc/nv_tegra_release or /usr/local/cuda/version.json is not where it looks (a container, an SDK install)."""

from __future__ import annotations

import threading
from pathlib import Path

from console.config import Config
from console.doctor.check import OK, SKIP, Probe
from console.doctor.checks import check_daemon_json, check_stack, system_stack
from console.telemetry.discovery import Discovery
from console.telemetry.model import Board, Cpu, SourceReport, SourceStatus, TelemetrySnapshot
from tests.conftest import FixedSource

ORIN = Board(
    model="NVIDIA Jetson AGX Orin Developer Kit",
    module="NVIDIA Jetson AGX Orin (64GB ram)",
    soc="tegra234",
    l4t="36.4.0",
    jetpack="6.1",
    cuda="12.6.68",
)
ORIN_LINES = ("NVIDIA Jetson AGX Orin Developer Kit: L4T 36.4.0, JetPack 6.1 (jtop)", "CUDA 12.6.68 (jtop)")


def bare(tmp_path: Path, **kw) -> Probe:
    """A probe whose files are all absent: what a Jetson looks like from inside a container."""
    return Probe(
        daemon_json=tmp_path / "daemon.json",
        tegra_release=tmp_path / "nv_tegra_release",
        cuda_version=tmp_path / "version.json",
        gpu_markers=(tmp_path / "nvidia0",),
        env={"HOME": str(tmp_path)},
        use_nvml=False,
        **kw,
    )


def test_stack_reads_jtops_board_before_files(tmp_path: Path) -> None:
    c = check_stack(bare(tmp_path, board=ORIN))
    assert c.status == OK and c.evidence[:2] == ORIN_LINES, c.evidence
    assert not [e for e in c.evidence if "not a Jetson" in e or "no CUDA" in e]
    assert "CUDA 12" in c.evidence[2]  # the wheel advice names the major jtop reports
    system = system_stack(bare(tmp_path, board=ORIN))
    assert (system.cuda, system.cuda_source, system.l4t, system.has_gpu) == ("12.6.68", "jtop", "36.4.0", True)


def test_a_jetson_board_is_an_nvidia_gpu_for_the_daemon_json_check(tmp_path: Path) -> None:
    assert check_daemon_json(bare(tmp_path)).status == SKIP
    assert check_daemon_json(bare(tmp_path, board=ORIN)).status != SKIP


def test_without_jtop_the_files_speak_and_a_non_jetson_board_changes_nothing(tmp_path: Path) -> None:
    procfs_board = Board(model="Some PC", kernel="6.8.0", hostname="pc")  # what procfs reports anywhere
    for board in (None, procfs_board):
        c = check_stack(bare(tmp_path, board=board))
        assert c.evidence[0].startswith("not a Jetson") and c.evidence[1].startswith("no CUDA toolkit")


def test_the_cli_doctor_reads_the_board_the_runtime_has(tmp_path: Path) -> None:
    """``jetconsole doctor`` runs the checks in its headless runtime: they get jtop's board from its state."""
    from console.doctor import command as doctor

    jtop = FixedSource("jtop", [TelemetrySnapshot(time=1.0, sources=("jtop",), cpu=Cpu(load=3.0), board=ORIN)])
    found = Discovery([jtop], SourceReport((SourceStatus("jtop", True, "in use"),)))
    seen: list[Board | None] = []

    def checks(probe: Probe):
        seen.append(probe.board)
        return [check_stack(probe)]

    [c] = doctor.run_checks(Config(), bare(tmp_path), checks, discover_fn=lambda: found)
    assert seen == [ORIN] and c.evidence[:2] == ORIN_LINES
    assert not [t for t in threading.enumerate() if t.name.startswith("jetconsole-")]


class _After(FixedSource):
    """A source whose first sample comes only after ``other`` has given two (jtop answering later than procfs)."""

    def __init__(self, name: str, snapshots: list[TelemetrySnapshot], other: _Counting) -> None:
        super().__init__(name, snapshots)
        self.other = other

    def sample(self) -> TelemetrySnapshot:
        assert self.other.twice.wait(10), "procfs never sampled twice"
        return super().sample()


class _Counting(FixedSource):
    def __init__(self, name: str, snapshots: list[TelemetrySnapshot]) -> None:
        super().__init__(name, snapshots)
        self.calls, self.twice = 0, threading.Event()

    def sample(self) -> TelemetrySnapshot:
        self.calls += 1
        if self.calls >= 2:
            self.twice.set()
        return super().sample()


def test_the_checks_wait_for_jtops_first_sample_when_procfs_answers_first(tmp_path: Path) -> None:
    """The first run waits until every source found has sampled: run on procfs's sample alone, it said "not a
    Jetson" until the next run (five minutes later in the app)."""
    from console.doctor import command as doctor

    procfs = _Counting("procfs", [TelemetrySnapshot(time=1.0, sources=("procfs",), board=Board(model="Orin"))])
    jtop = _After("jtop", [TelemetrySnapshot(time=2.0, sources=("jtop",), board=ORIN)], procfs)
    found = Discovery(
        [jtop, procfs], SourceReport((SourceStatus("jtop", True, "in use"), SourceStatus("procfs", True, "in use")))
    )
    [c] = doctor.run_checks(
        Config(refresh_interval=0.2), bare(tmp_path), lambda p: [check_stack(p)], discover_fn=lambda: found
    )
    assert c.evidence[:2] == ORIN_LINES, c.evidence


class _Failing(FixedSource):
    def sample(self) -> TelemetrySnapshot:
        raise RuntimeError("NVML Shared Library Not Found")


def test_a_failed_source_does_not_end_the_wait_for_jtop(tmp_path: Path) -> None:
    """One source's error (no NVML here) ended the first run's wait before jtop's sample: "not a Jetson"."""
    from console.doctor import command as doctor

    procfs = _Counting("procfs", [TelemetrySnapshot(time=1.0, sources=("procfs",), board=Board(model="Orin"))])
    jtop = _After("jtop", [TelemetrySnapshot(time=2.0, sources=("jtop",), board=ORIN)], procfs)
    nvml = _Failing("nvml", [])
    statuses = tuple(SourceStatus(n, True, "in use") for n in ("jtop", "nvml", "procfs"))
    found = Discovery([jtop, nvml, procfs], SourceReport(statuses))
    [c] = doctor.run_checks(
        Config(refresh_interval=0.2), bare(tmp_path), lambda p: [check_stack(p)], discover_fn=lambda: found
    )
    assert c.evidence[:2] == ORIN_LINES, c.evidence
