"""NVML readings -> snapshots: discrete GPUs, GB10 unified memory, process lists."""

from __future__ import annotations

from types import SimpleNamespace

from console.telemetry.nvml_source import nvml_reading, snapshot_from_nvml

GIB = 2**30


def test_discrete_gpu_mapping() -> None:
    reading = {
        "driver": "580.82.07",
        "cuda": "13.0",
        "devices": [
            {
                "index": 0,
                "name": "NVIDIA H100 80GB HBM3",
                "util": 37.0,
                "clock_mhz": 1755,
                "max_clock_mhz": 1980,
                "memory": {"used": 5 * GIB, "total": 80 * GIB},
                "temp_c": 41,
                "power_mw": 123456,
                "power_limit_mw": 700000,
                "fan_pct": None,
                "processes": [
                    {"pid": 10, "used": 4 * GIB, "name": "python", "user": "root"},
                    {"pid": 10, "used": 4 * GIB, "name": "python", "user": "root"},  # compute+graphics
                    {"pid": 11, "used": None, "name": "Xorg", "user": "root"},
                ],
            }
        ],
    }
    s = snapshot_from_nvml(reading, now=1.0)
    g = s.gpus[0]
    assert g.name == "0: NVIDIA H100 80GB HBM3" and g.load == 37.0 and g.freq_mhz == 1755
    assert (g.mem_used, g.mem_total, g.unified) == (5 * GIB, 80 * GIB, False)
    assert g.power_w == 123.456 and g.power_limit_w == 700.0 and g.temp_c == 41
    assert [(p.pid, p.gpu_mem) for p in s.processes] == [(10, 4 * GIB), (11, None)]
    assert s.board is not None and (s.board.driver, s.board.cuda) == ("580.82.07", "13.0")
    assert s.cpu is None and s.memory is None  # the host comes from procfs


def test_gb10_unified_memory_is_reported_as_unknown_not_zero() -> None:
    reading = {
        "devices": [
            {
                "index": 0,
                "name": "NVIDIA GB10",
                "util": 3.0,
                "memory": None,
                "processes": [{"pid": 7, "used": 9 * GIB, "name": "vllm"}],
            }
        ]
    }
    g = snapshot_from_nvml(reading, now=1.0).gpus[0]
    assert g.unified is True and g.mem_used is None and g.mem_total is None


class _NvmlError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__("Not Supported" if value == 3 else "Unknown Error")
        self.value = value


def _fake_pynvml(memory_supported: bool) -> SimpleNamespace:
    """Only the calls nvml_reading makes; a stand-in because CI has no GPU (the real
    NVML path is tested in tests/gpu on the lent H100)."""

    def unsupported(*_a, **_k):
        raise _NvmlError(3)

    def memory_v2(h, version=None):
        if not memory_supported:
            raise _NvmlError(3)
        free = 7 * GIB - 480 * 2**20
        if version is None:  # v1 counts driver-reserved memory as used
            return SimpleNamespace(used=GIB + 480 * 2**20, total=8 * GIB, free=free)
        return SimpleNamespace(used=GIB, total=8 * GIB, reserved=480 * 2**20, free=free)

    return SimpleNamespace(
        NVMLError=_NvmlError,
        NVML_CLOCK_GRAPHICS=0,
        NVML_TEMPERATURE_GPU=0,
        NVML_ERROR_NOT_SUPPORTED=3,
        nvmlMemory_v2=2,
        nvmlDeviceGetCount=lambda: 1,
        nvmlDeviceGetHandleByIndex=lambda i: "h0",
        nvmlDeviceGetName=lambda h: b"NVIDIA GB10",
        nvmlDeviceGetUtilizationRates=lambda h: SimpleNamespace(gpu=12, memory=3),
        nvmlDeviceGetMemoryInfo=memory_v2,
        nvmlDeviceGetComputeRunningProcesses=lambda h: [SimpleNamespace(pid=1, usedGpuMemory=2**64 - 1)],
        nvmlDeviceGetGraphicsRunningProcesses=unsupported,
        nvmlDeviceGetClockInfo=lambda h, c: 1200,
        nvmlDeviceGetMaxClockInfo=lambda h, c: 2400,
        nvmlDeviceGetTemperature=lambda h, t: 50,
        nvmlDeviceGetPowerUsage=unsupported,
        nvmlDeviceGetEnforcedPowerLimit=unsupported,
        nvmlDeviceGetFanSpeed=unsupported,
        nvmlSystemGetDriverVersion=lambda: "580.95",
        nvmlSystemGetCudaDriverVersion=lambda: 13000,
    )


def test_reading_turns_unsupported_queries_into_none() -> None:
    r = nvml_reading(_fake_pynvml(memory_supported=False))
    dev = r["devices"][0]
    assert dev["name"] == "NVIDIA GB10" and dev["memory"] is None and dev["power_mw"] is None
    assert dev["processes"][0]["used"] is None  # NVML's "not available" sentinel
    assert r["cuda"] == "13.0" and r["driver"] == "580.95"
    s = snapshot_from_nvml(r, now=1.0)
    assert s.gpus[0].unified and s.gpus[0].load == 12.0


def test_reading_with_memory_excludes_driver_reserved() -> None:
    """Like nvidia-smi (seen on an H100: v1 says 480 MiB used when idle, v2 says 0)."""
    dev = nvml_reading(_fake_pynvml(memory_supported=True))["devices"][0]
    assert dev["memory"] == {"used": GIB, "total": 8 * GIB, "free": 7 * GIB - 480 * 2**20} and dev["unified"] is False


def test_other_memory_errors_are_not_taken_for_unified_memory() -> None:
    nv = _fake_pynvml(memory_supported=True)

    def lost(*_a, **_k):
        raise _NvmlError(15)  # GPU_IS_LOST

    nv.nvmlDeviceGetMemoryInfo = lost
    dev = nvml_reading(nv)["devices"][0]
    assert dev["memory"] is None and dev["unified"] is False


def test_a_gpu_that_does_not_answer_keeps_the_others() -> None:
    nv = _fake_pynvml(memory_supported=True)
    nv.nvmlDeviceGetCount = lambda: 2

    def handle(i):
        if i == 0:
            raise _NvmlError(15)
        return "h1"

    nv.nvmlDeviceGetHandleByIndex = handle
    devices = nvml_reading(nv)["devices"]
    assert devices[0]["name"] == "GPU (not answering)" and devices[1]["name"] == "NVIDIA GB10"
    s = snapshot_from_nvml({"devices": devices}, now=1.0)
    assert len(s.gpus) == 2


def test_read_once_reads_through_the_open_source_instead_of_a_second_init(monkeypatch) -> None:
    """One NVML reader per process: while the runtime's NvmlSource is open, the doctor's and fit's one-shot
    ``read_once`` reads through it; with none open it initialises NVML for itself and shuts it down."""
    import sys
    import types

    from console.telemetry import nvml_source

    calls: list[str] = []
    fake = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    fake.NVMLError = NVMLError  # type: ignore[attr-defined]
    fake.nvmlInit = lambda: calls.append("init")  # type: ignore[attr-defined]
    fake.nvmlShutdown = lambda: calls.append("shutdown")  # type: ignore[attr-defined]
    fake.nvmlDeviceGetCount = lambda: 1  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setattr(nvml_source, "nvml_reading", lambda nv: {"devices": [], "driver": "580"})

    source = nvml_source.NvmlSource()
    source.open()
    try:
        assert nvml_source.read_once()["driver"] == "580"
        assert calls == ["init"]  # the source's own, nothing more
    finally:
        source.close()
    assert nvml_source.read_once()["driver"] == "580"
    assert calls == ["init", "shutdown", "init", "shutdown"]  # none open: a reading of its own
