"""/proc and /sys parsing, and the procfs source over a fake root and the real /proc."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.telemetry.procfs import (
    CpuTimes,
    ProcfsSource,
    cpu_load,
    memory_from_meminfo,
    parse_meminfo,
    parse_proc_stat,
)
from console.telemetry.source import SourceUnavailable

STAT = """cpu  100 0 100 700 100 0 0 0 0 0
cpu0 50 0 50 350 50 0 0 0 0 0
cpu1 50 0 50 350 50 0 0 0 0 0
intr 1 2 3
"""
MEMINFO = """MemTotal:       65536000 kB
MemFree:         1000000 kB
MemAvailable:   40000000 kB
Buffers:          100000 kB
Cached:          2000000 kB
SReclaimable:     500000 kB
SwapCached:            0 kB
SwapTotal:       8000000 kB
SwapFree:        6000000 kB
NvMapMemUsed:    3000000 kB
HugePages_Total:       0
"""


def test_proc_stat_counts_iowait_as_idle() -> None:
    times = parse_proc_stat(STAT)
    assert set(times) == {"cpu", "cpu0", "cpu1"}
    assert times["cpu"] == CpuTimes(busy=200, total=1000)


def test_cpu_load_between_readings() -> None:
    assert cpu_load(None, CpuTimes(1, 2)) is None
    assert cpu_load(CpuTimes(100, 1000), CpuTimes(150, 1100)) == pytest.approx(50.0)
    assert cpu_load(CpuTimes(100, 1000), CpuTimes(100, 1000)) == 0.0  # no time passed


def test_meminfo_units_and_gpu_share() -> None:
    info = parse_meminfo(MEMINFO)
    assert info["MemTotal"] == 65536000 * 1024
    assert info["HugePages_Total"] == 0  # no unit: taken as is
    mem = memory_from_meminfo(info)
    assert mem.used == (65536000 - 40000000) * 1024
    assert mem.cached == 2500000 * 1024
    assert mem.gpu_shared == 3000000 * 1024
    assert mem.swap_used == 2000000 * 1024


def test_meminfo_without_memavailable_falls_back_to_memfree() -> None:
    mem = memory_from_meminfo(parse_meminfo("MemTotal: 1000 kB\nMemFree: 400 kB\n"))
    assert mem.used == 600 * 1024
    assert mem.gpu_shared is None and mem.swap_total == 0


def _fake_root(tmp_path: Path, stat: str = STAT) -> Path:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/stat").write_text(stat)
    (tmp_path / "proc/meminfo").write_text(MEMINFO)
    (tmp_path / "proc/uptime").write_text("1234.5 100.0\n")
    zone = tmp_path / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "type").write_text("cpu-thermal\n")
    (zone / "temp").write_text("47500\n")
    freq = tmp_path / "sys/devices/system/cpu/cpu0/cpufreq"
    freq.mkdir(parents=True)
    (freq / "scaling_cur_freq").write_text("1728000\n")
    (freq / "cpuinfo_max_freq").write_text("2201600\n")
    (freq / "scaling_governor").write_text("schedutil\n")
    hw = tmp_path / "sys/class/hwmon/hwmon0"
    hw.mkdir(parents=True)
    (hw / "name").write_text("pwmfan\n")
    (hw / "fan1_input").write_text("2100\n")
    (tmp_path / "proc/device-tree").mkdir()
    (tmp_path / "proc/device-tree/model").write_bytes(b"NVIDIA Jetson AGX Orin Developer Kit\x00")
    return tmp_path


def test_source_over_fake_root(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    src = ProcfsSource(root)
    src.open()
    (root / "proc/stat").write_text(
        STAT.replace("cpu  100 0 100 700", "cpu  300 0 100 800").replace("cpu0 50 0 50 350", "cpu0 150 0 50 350")
    )
    snap = src.sample()
    assert snap.sources == ("procfs",)
    assert snap.cpu is not None and snap.cpu.load == pytest.approx(200 / 300 * 100)
    core0 = snap.cpu.cores[0]
    assert core0.load == pytest.approx(100.0) and core0.freq_mhz == 1728.0 and core0.governor == "schedutil"
    assert snap.cpu.cores[1].load == 0.0 and snap.cpu.cores[1].freq_mhz is None
    assert [(t.name, t.celsius) for t in snap.temps] == [("cpu-thermal", 47.5)]
    assert [(f.name, f.rpm) for f in snap.fans] == [("pwmfan", 2100)]
    assert snap.board is not None and snap.board.model == "NVIDIA Jetson AGX Orin Developer Kit"
    assert snap.uptime_s == 1234.5


def test_unreadable_root_says_why(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="/proc/stat"):
        ProcfsSource(tmp_path).open()


def test_real_proc_of_this_machine() -> None:
    """The real /proc here: two samples give a CPU load, memory adds up."""
    src = ProcfsSource()
    src.open()
    first = src.sample()
    second = src.sample()
    src.close()
    assert first.cpu is not None and second.cpu is not None
    assert len(second.cpu.cores) >= 1
    assert second.cpu.load is not None and 0.0 <= second.cpu.load <= 100.0
    assert second.memory is not None and 0 < second.memory.used < second.memory.total
