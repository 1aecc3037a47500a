"""Power mode and jetson_clocks through the real jtop service on the emulated Orin.

The emulator's fake ``nvpmodel`` keeps its mode in a file and asks for a reboot when a change
alters the online CPU count (MAXN <-> MODE_50W switch live; MODE_30W needs a reboot); its fake
``jetson_clocks`` pins the fake sysfs clocks.  Every test leaves MAXN with clocks off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.doctor.check import OK, WARN
from console.doctor.power import check_power, read_power, set_clocks, set_mode
from tests.realparts import jetson_emulator as emu

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def orin(jtop_service) -> Iterator[Path]:
    """The emulated Orin at MAXN with clocks off, put back so afterwards; yields the emulator's state dir."""
    yield emu.state_dir()
    assert set_mode("MAXN").ok and set_clocks(False).ok
    assert (emu.state_dir() / "nvpmodel-mode").read_text() == "0" and not emu.clocks_pinned()  # a restart moves it


def test_reads_mode_modes_default_and_clocks(orin) -> None:
    s = read_power()
    assert (s.mode, s.mode_id, s.default, s.best) == ("MAXN", 0, "MODE_30W", "MAXN")
    assert s.modes == tuple(name for name, _cpus in emu.MODES)
    assert s.clocks is False and s.clocks_config  # jtop found our jetson_clocks and stored its config
    assert s.board == emu.BOARD["Model"]
    assert (orin / "l4t_dfs.conf").is_file()


def test_switch_live_and_back(orin) -> None:
    r = set_mode("MODE_50W")
    assert r.ok and (r.before.mode, r.after.mode) == ("MAXN", "MODE_50W")
    assert (orin / "nvpmodel-mode").read_text() == "3"  # what `nvpmodel -q` now prints
    assert read_power().mode == "MODE_50W"  # a fresh client reads it back too
    c = check_power()
    assert c.status == WARN and c.fix.startswith("jetconsole doctor --power-mode MAXN --clocks on")
    r = set_mode("0")
    assert r.ok and r.after.mode == "MAXN" and read_power().mode == "MAXN"


def test_mode_that_needs_a_reboot_is_reported_not_forced(orin) -> None:
    r = set_mode("MODE_30W")
    assert not r.ok and r.reboot_needed and r.after.mode == "MAXN"
    assert "sudo nvpmodel -m 2" in r.message and "never reboots" in r.message
    log = (orin / "nvpmodel.log").read_text()
    assert "-m 2: reboot required, declined" in log
    assert not (orin / "reboot-requested").exists()  # nothing answered YES: jtop was never asked to force
    assert (orin / "nvpmodel-mode").read_text() == "0"
    c = check_power()
    assert "jtop marks MODE_30W as needing a reboot" in " ".join(c.evidence)


def test_clocks_on_and_off_change_the_check(orin) -> None:
    assert check_power().fix == "jetconsole doctor --clocks on"
    r = set_clocks(True)
    assert r.ok and r.after.clocks is True and emu.clocks_pinned()
    c = check_power()
    assert c.status == OK and "jetson_clocks on" in c.evidence
    r = set_clocks(False)
    assert r.ok and r.after.clocks is False and not emu.clocks_pinned()
    assert check_power().status == WARN


def test_clocks_survive_a_mode_switch(orin) -> None:
    """jtop turns jetson_clocks off around nvpmodel and back on: they end pinned at the new mode."""
    assert set_clocks(True).ok
    r = set_mode("MODE_50W")
    assert r.ok and r.after.clocks is True and emu.clocks_pinned()
    log = (orin / "jetson_clocks.log").read_text().splitlines()
    assert log[-2:] == [f"--restore {orin / 'l4t_dfs.conf'}", "on"]


def run_cli(*argv: str, state_home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(state_home)}
    return subprocess.run(
        [sys.executable, "-m", "console.doctor.power", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_cli_dry_run_then_yes(orin, tmp_path) -> None:
    out = run_cli("--power-mode", "MODE_50W", "--clocks", "on", "--dry-run", state_home=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "plan: (dry run, nothing done)" in out.stdout and "set nvpmodel MAXN -> MODE_50W (id 3)" in out.stdout
    assert read_power().mode == "MAXN" and not emu.clocks_pinned()
    assert not (tmp_path / "jetconsole" / "doctor-audit.log").exists()

    out = run_cli("--power-mode", "MODE_50W", "--clocks", "on", "--yes", state_home=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "before: nvpmodel MAXN (id 0), jetson_clocks off" in out.stdout
    assert "after:  nvpmodel MODE_50W (id 3), jetson_clocks on" in out.stdout
    assert read_power().mode == "MODE_50W" and emu.clocks_pinned()
    events = [json.loads(line) for line in (tmp_path / "jetconsole" / "doctor-audit.log").read_text().splitlines()]
    assert [e["event"] for e in events] == ["power.confirm", "power.mode", "power.clocks"]
    assert events[1]["from"] == "MAXN" and events[1]["after"] == "MODE_50W" and events[2]["after"] is True

    out = run_cli("--power-mode", "MODE_30W", "--yes", state_home=tmp_path)
    assert out.returncode == 1 and "REBOOT NEEDED" in out.stdout and "nothing was rebooted" in out.stderr


def test_cli_without_yes_asks_and_no_answer_declines(orin, tmp_path) -> None:
    out = run_cli("--power-mode", "MODE_50W", state_home=tmp_path)
    assert out.returncode == 1 and "apply? [y/N]" in out.stdout and "nothing changed" in out.stdout
    assert read_power().mode == "MAXN"
    events = [json.loads(line) for line in (tmp_path / "jetconsole" / "doctor-audit.log").read_text().splitlines()]
    assert [(e["event"], e["confirmed"]) for e in events] == [("power.confirm", False)]


def test_reads_again_after_the_service_restarts(orin, jtop_service) -> None:
    """This thread's old connection to the socket is dead after a restart; the next read still works."""
    assert read_power().mode == "MAXN"
    jtop_service.restart()
    assert read_power().mode == "MAXN" and check_power().status == WARN
