"""Pure logic: merging sources, history, formatting, themes, the runtime's polling loop."""

from __future__ import annotations

import threading

import pytest

from console.runtime import events as ev
from console.runtime.runner import Runner
from console.runtime.services.telemetry import poll_source
from console.runtime.state import ConsoleState
from console.telemetry import view as fmt
from console.telemetry.history import History
from console.telemetry.model import (
    Cpu,
    Gpu,
    Memory,
    Power,
    SourceReport,
    SourceStatus,
    TelemetrySnapshot,
    TempSensor,
    merge,
)
from console.telemetry.state import TelemetryState
from console.themes import COLOR_KEYS, ThemeError, load_theme, load_themes
from tests.conftest import FixedSource


def snap(t: float, source: str, **kw) -> TelemetrySnapshot:
    return TelemetrySnapshot(time=t, sources=(source,), **kw)


def test_merge_prefers_earlier_sources_field_by_field() -> None:
    nvml = snap(2.0, "nvml", gpus=(Gpu("0: H100", load=50.0),))
    proc = snap(1.0, "procfs", cpu=Cpu(load=10.0), gpus=(), memory=Memory(total=100, used=40))
    merged = merge([nvml, proc])
    assert merged.gpus[0].load == 50.0 and merged.cpu == Cpu(load=10.0)
    assert merged.sources == ("nvml", "procfs") and merged.time == 2.0
    with pytest.raises(ValueError):
        merge([])


def test_state_history_advances_once_per_primary_sample() -> None:
    state = TelemetryState.sized(10, 1.0)
    report = SourceReport((SourceStatus("nvml", True, "in use"), SourceStatus("procfs", True, "in use")))
    state = state.with_sources(["nvml", "procfs"], report)
    for i in range(3):
        state = state.add(snap(i, "nvml", gpus=(Gpu("g", load=float(i)),)))
        state = state.add(snap(i, "procfs", cpu=Cpu(load=5.0)))
    assert state.history.values("gpu") == [0.0, 1.0, 2.0]
    assert len(state.history.values("cpu")) == 2  # cpu first known after the first procfs sample
    state = state.fail("nvml", "NVMLError: GPU is lost")
    nvml_status = next(s for s in state.statuses() if s.name == "nvml")
    assert not nvml_status.active and "GPU is lost" in nvml_status.detail
    state = state.add(snap(4, "procfs", cpu=Cpu(load=6.0)))
    assert state.merged is not None and state.merged.gpus == ()  # a failed source's data is dropped
    assert state.history.values("cpu")[-1] == 6.0  # procfs paces history while nvml is down


def test_history_is_bounded() -> None:
    h = History.sized(30, 0.5)
    for i in range(200):
        h = h.add(snap(i, "procfs", cpu=Cpu(load=float(i % 100))))
    assert h.capacity == 60 and len(h.values("cpu")) == 60 and h.values("cpu")[-1] == 99.0


def test_power_and_temperature_series_fall_back_to_gpu_figures() -> None:
    h = History()
    h = h.add(snap(1, "nvml", gpus=(Gpu("a", power_w=100.0, temp_c=60.0), Gpu("b", power_w=50.0, temp_c=70.0))))
    h = h.add(snap(2, "jtop", power=Power(total_w=11.5), temps=(TempSensor("cpu", 48.0),)))
    assert h.values("power") == [150.0, 11.5] and h.values("temp") == [70.0, 48.0]


@pytest.mark.parametrize(
    ("value", "width", "expected"),
    [(None, 4, "····"), (0, 4, "····"), (100, 4, "████"), (50, 4, "██··"), (12.5, 2, "▎·"), (250, 3, "███")],
)
def test_bar(value, width, expected) -> None:
    assert fmt.bar(value, width) == expected


def test_sparkline_scale_and_width() -> None:
    assert fmt.sparkline([0, 50, 100], 5) == "  ▁▅█"
    assert fmt.sparkline([], 3) == "   "
    assert fmt.sparkline([1, 2, 3, 4], 2, 0, 4) == "▆█"
    assert fmt.sparkline([5, 5], 2, None, None) == "▁▁"  # flat data does not divide by zero


def test_sizes_and_units() -> None:
    assert fmt.size(512) == "512 B" and fmt.size(3 * 2**30) == "3.0 GiB" and fmt.size(None) == "n/a"
    assert fmt.mhz(816) == "816 MHz" and fmt.mhz(1500) == "1.50 GHz"
    assert fmt.duration(3725) == "1:02:05" and fmt.duration(90061) == "1d 1:01"


def test_summary_line_mentions_what_is_known(orin_snapshot) -> None:
    line = fmt.summary_line(orin_snapshot)
    assert "CPU 38%" in line and "GPU 90%" in line and "PWR 11.5 W" in line and "MAXN" in line
    assert fmt.summary_line(None).startswith("waiting")


def test_unified_gpu_memory_text() -> None:
    assert fmt.gpu_memory_text(Gpu("GB10", unified=True)) == "unified (see RAM)"
    assert fmt.gpu_memory_text(Gpu("H100", mem_used=2**30, mem_total=2**31)) == "1.0/2.0 GiB"


def test_shipped_themes() -> None:
    themes = load_themes()
    assert {"jetconsole-dark", "jetconsole-light", "high-contrast"} <= set(themes)
    assert themes["jetconsole-light"].dark is False
    for spec in themes.values():
        assert set(spec.colors) <= set(COLOR_KEYS)


def test_bad_theme_file_is_refused(tmp_path) -> None:
    bad = tmp_path / "x.toml"
    bad.write_text('name = "x"\n[colors]\nprimary = "#fff"\nglow = "#000"\n')
    with pytest.raises(ThemeError, match="unknown"):
        load_theme(bad)


class _Dying(FixedSource):
    def __init__(self) -> None:
        super().__init__("dying", [snap(1, "dying", cpu=Cpu(load=1.0))])
        self.calls = 0

    def sample(self) -> TelemetrySnapshot:
        self.calls += 1
        if self.calls == 2:
            raise ConnectionError("service stopped")
        return super().sample()


class _Hub:
    """What ``poll_source`` uses of the runtime: a runner and ``emit`` (collected here)."""

    def __init__(self) -> None:
        self.runner = Runner()
        self.events: list[ev.Event] = []
        self.state = ConsoleState()

    def emit(self, event: ev.Event) -> None:
        self.events.append(event)


def test_poll_source_reports_failure_and_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A source that dies mid-run: a SourceFailed event, the source closed and reopened, samples resume."""
    monkeypatch.setattr("console.runtime.services.telemetry.RETRY_MIN_S", 0.01)
    source = _Dying()
    hub = _Hub()
    done = threading.Event()

    def emit(event: ev.Event) -> None:
        hub.events.append(event)
        if sum(isinstance(e, ev.Sampled) for e in hub.events) == 3:
            done.set()

    hub.emit = emit  # type: ignore[method-assign]
    poll_source(hub, source, 0.01, opened=True)  # type: ignore[arg-type]
    assert done.wait(5)
    assert hub.runner.stop_all(5)
    failed = [e for e in hub.events if isinstance(e, ev.SourceFailed)]
    assert failed == [ev.SourceFailed("dying", "ConnectionError: service stopped")]
    assert sum(isinstance(e, ev.Sampled) for e in hub.events) >= 3 and source.closed
    assert not [t for t in threading.enumerate() if t.name == "jetconsole-poll:dying"]


def test_buckets_cover_the_window_and_move_once_per_bucket() -> None:
    h = History.sized(300, 1.0)  # capacity 300
    for i in range(12):
        h = h.add(snap(i, "procfs", cpu=Cpu(load=float(i))))
    assert h.buckets("cpu", 60) == [4.0, 9.0]  # buckets of 5 (max of each); 10 and 11 not complete
    h = h.add(snap(12, "procfs", cpu=Cpu(load=50.0)))
    assert h.buckets("cpu", 60) == [4.0, 9.0]  # unchanged until the bucket completes
    for i in range(13, 15):
        h = h.add(snap(i, "procfs", cpu=Cpu(load=0.0)))
    assert h.buckets("cpu", 60) == [4.0, 9.0, 50.0]
    assert h.buckets("cpu", 400) == [float(i) for i in range(12)] + [50.0, 0.0, 0.0]  # wide: 1 per point
    assert h.buckets("cpu", 0) == []


def test_buckets_stay_aligned_when_old_samples_fall_out() -> None:
    h = History.sized(10, 1.0)  # capacity 10
    for i in range(23):
        h = h.add(snap(i, "procfs", cpu=Cpu(load=float(i))))
    # samples 13..22 remain; buckets of 2 aligned to 0: complete ones are (14,15)...(20,21)
    assert h.buckets("cpu", 5) == [15.0, 17.0, 19.0, 21.0]


def test_uptime_without_seconds_changes_once_a_minute() -> None:
    assert fmt.duration(3725, with_seconds=False) == "1:02"
