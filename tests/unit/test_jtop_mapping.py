"""jtop readings -> snapshots, on a reading recorded from the real service and Thor shapes."""

from __future__ import annotations

import copy

import pytest

from console.telemetry.jtop_source import JtopSource, snapshot_from_jtop
from console.telemetry.source import SourceUnavailable
from tests.conftest import orin_reading


def test_recorded_orin_reading(orin_snapshot) -> None:
    s = orin_snapshot
    assert s.sources == ("jtop",)
    assert s.cpu is not None and len(s.cpu.cores) == 8
    assert [round(c.load) for c in s.cpu.cores] == [20, 25, 30, 35, 40, 45, 50, 55]
    assert s.cpu.cores[0].freq_mhz == 1500.0 and s.cpu.cores[0].max_freq_mhz == pytest.approx(2201.6)
    gpu = s.gpus[0]
    assert (gpu.name, gpu.load, gpu.freq_mhz, gpu.unified) == ("gpu", 90.0, 816.0, True)
    assert gpu.max_freq_mhz == pytest.approx(1300.5)
    assert s.emc is not None and s.emc.freq_mhz == pytest.approx(3199.0)
    assert s.power is not None and s.power.total_w == pytest.approx(11.5)
    assert {r.name: r.watts for r in s.power.rails} == {"VDD_CPU_CV": 2.0, "VDD_GPU_SOC": 6.0, "VIN_SYS_5V0": 3.5}
    rail = next(r for r in s.power.rails if r.name == "VDD_GPU_SOC")
    assert (rail.volts, rail.amps, rail.warn_amps, rail.crit_amps) == (5.0, 1.2, 5.0, 6.0)
    assert s.fans[0].speed_pct == pytest.approx(37.6, abs=0.1) and s.fans[0].rpm == 2150
    assert s.power_mode is not None and s.power_mode.name == "MAXN" and s.power_mode.id == 0
    assert s.power_mode.modes == ("MAXN", "MODE_15W", "MODE_30W", "MODE_50W")
    assert s.jetson_clocks is None  # the emulated Orin has no jetson_clocks binary
    b = s.board
    assert b is not None and (b.model, b.l4t, b.jetpack, b.soc) == (
        "NVIDIA Jetson AGX Orin (emulated)",
        "36.4.0",
        "6.1",
        "tegra234",
    )
    proc = s.processes[0]
    assert (proc.name, proc.user, proc.gpu_mem) == ("python3", "root", 1048576 * 1024)
    assert s.memory is not None and s.memory.total > 0


def thor_reading() -> dict:
    """Thor shapes per jetson-stats 7.2.2 source: VRAM label, INA238 'VIN' total,
    thermal zones, jetson_clocks on, a process table built from NVML."""
    r = copy.deepcopy(orin_reading())
    r["memory"]["RAM"].update({"shared": 48_000_000, "shared_label": "VRAM"})
    r["power"] = {
        "rail": {
            "VDD_GPU": {"volt": 19000, "curr": 2000, "power": 38000, "avg": 37000, "online": True},
            "VDD_CPU_SOC_MSS": {"volt": 19000, "curr": 500, "power": 9500, "avg": 9000, "online": True},
            "OFFLINE": {"volt": 0, "curr": 0, "power": 0, "avg": 0, "online": False},
        },
        "tot": {"volt": 19500, "curr": 3000, "power": 58500, "avg": 57000, "name": "VIN"},
    }
    r["temperature"] = {
        "cpu": {"temp": 52.5, "max": 105.0, "crit": 107.0, "online": True},
        "gpu": {"temp": 61.0, "online": True},
        "tj": {"temp": -256, "online": False},
    }
    r["jetson_clocks"] = True
    r["nvpmodel"] = {"name": "120W", "id": 1, "models": ["MAXN", "120W", "90W", "70W"]}
    r["board"]["hardware"].update(
        {"Model": "NVIDIA Jetson AGX Thor Developer Kit", "SoC": "tegra264", "L4T": "38.2.0", "Jetpack": "7.0"}
    )
    r["processes"] = [[4242, "root", "I", "Compute", 20, "S", 12.5, 2_000_000, 40_000_000, "VLLM::EngineCore"]]
    r["cpu"]["cpu"][7]["online"] = False
    return r


def test_thor_shapes() -> None:
    s = snapshot_from_jtop(thor_reading(), now=1.0)
    assert s.memory is not None and s.memory.gpu_shared == 48_000_000 * 1024
    assert s.power is not None and s.power.total_w == 58.5 and s.power.avg_w == 57.0
    assert [r.name for r in s.power.rails] == ["VDD_CPU_SOC_MSS", "VDD_GPU"]  # offline rail dropped
    assert [(t.name, t.celsius) for t in s.temps] == [("cpu", 52.5), ("gpu", 61.0)]
    assert s.hottest is not None and s.hottest.name == "gpu"
    assert s.jetson_clocks is True
    assert s.power_mode is not None and s.power_mode.name == "120W"
    assert s.cpu is not None and s.cpu.cores[7].online is False and s.cpu.cores[7].load is None
    assert s.processes[0].name == "VLLM::EngineCore" and s.processes[0].gpu_mem == 40_000_000 * 1024
    assert s.board is not None and s.board.jetpack == "7.0"


def test_empty_and_partial_readings_do_not_invent_values() -> None:
    s = snapshot_from_jtop({}, now=1.0)
    assert (s.cpu, s.memory, s.power, s.emc, s.power_mode) == (None, None, None, None, None)
    assert s.gpus == () and s.processes == ()
    short = snapshot_from_jtop({"processes": [[1, "root"]]}, now=1.0)  # malformed row is ignored
    assert short.processes == ()


def test_missing_socket_is_explained(tmp_path) -> None:
    src = JtopSource(socket_path=str(tmp_path / "jtop.sock"))
    with pytest.raises(SourceUnavailable) as err:
        src.open()
    assert "jtop.sock missing" in str(err.value) and "systemctl" in err.value.hint
