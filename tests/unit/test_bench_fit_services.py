"""The bench and fit services of the headless runtime, and the reducer's bench slice, with no Textual.

The bench runs against tests.replay.ReplayServer (a real HTTP server, paced on demand: a cancel needs a
request in flight); the power control of an A/B is ``FakePower`` (changing a real Jetson's mode is for
tests/realparts).  Telemetry is a ``FixedSource`` fed through the runtime's real poller.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from console.bench import form as bf
from console.bench.prompts import Prompt
from console.bench.runner import BenchPlan, Progress, Target
from console.chat.endpoints import Endpoint
from console.config import Config
from console.fit.device import MEMINFO_ENV, SYSTEM_RAM, DeviceMemory
from console.runtime import commands as cmd
from console.runtime import events as ev
from console.runtime.reducer import reduce
from console.runtime.runtime import Runtime
from console.runtime.services.bench import CANCEL_NOTE
from console.runtime.state import BENCH_NOTES_KEEP, ConsoleState
from console.telemetry.discovery import Discovery
from console.telemetry.model import Memory, Power, SourceReport, SourceStatus, TelemetrySnapshot
from tests.bench_fakes import FakePower
from tests.conftest import FixedSource
from tests.replay import ReplayServer, Script, token_frames

GIB = 1024**3


def _plan(*urls: str, trials: int = 1, concurrency: tuple[int, ...] = (1,), modes: tuple[str, ...] = ()) -> BenchPlan:
    targets = tuple(Target(f"T{i}", Endpoint(url)) for i, url in enumerate(urls))
    return BenchPlan(
        targets, (Prompt("one", 3), Prompt("two", 3)), concurrency=concurrency, trials=trials, power_modes=modes
    )


def _progress(done: int) -> Progress:
    return Progress("trial", "A", 1, 1, 1, done, 4, done, 4, None, 0.1)


# ---- the reducer's bench slice ---------------------------------------------------------------------------


def test_reducer_bench_run_from_start_to_end() -> None:
    plan = _plan("http://h:1/v1")
    s = reduce(ConsoleState(), ev.BenchStarted(1, plan, "board power"))
    assert (s.bench.run, s.bench.phase, s.bench.plan, s.bench.energy) == (1, "running", plan, "board power")
    s = reduce(s, ev.BenchProgressed(1, _progress(2)))
    assert s.bench.progress == _progress(2)
    assert reduce(s, ev.BenchProgressed(7, _progress(3))) is s  # another run's late progress
    s = reduce(s, ev.BenchNoted(1, "power before the A/B: MAXN"))
    s = reduce(s, ev.BenchNoted(1, "last trial: 1", trial=True))
    s = reduce(s, ev.BenchNoted(1, "T0: skipped", error=True))
    s = reduce(s, ev.BenchNoted(1, "last trial: 2", trial=True))  # replaces the previous trial line, and is last
    assert [(n.text, n.error, n.trial) for n in s.bench.notes] == [
        ("power before the A/B: MAXN", False, False),
        ("T0: skipped", True, False),
        ("last trial: 2", False, True),
    ]
    assert [n.seq for n in s.bench.notes] == [1, 3, 4]  # numbered as they came: a screen adds only new ones
    s = reduce(s, ev.BenchCancelling(1))
    assert s.bench.phase == "cancelling"
    assert reduce(s, ev.BenchCancelling(1)) is s
    assert reduce(s, ev.BenchFinished(2, None, error="x")) is s  # not the running one
    s = reduce(s, ev.BenchFinished(1, None, error="the bench stopped: boom"))
    assert s.bench.phase is None and s.bench.outcome is not None
    assert (s.bench.outcome.run, s.bench.outcome.report, s.bench.outcome.error) == (1, None, "the bench stopped: boom")
    assert reduce(s, ev.BenchCancelling(1)) is s  # ended: nothing to cancel
    # the next run starts clean, and keeps the last outcome until its own
    s2 = reduce(s, ev.BenchStarted(2, plan))
    assert (s2.bench.phase, s2.bench.notes, s2.bench.progress) == ("running", (), None)
    assert s2.bench.outcome is s.bench.outcome and s2.version == s.version + 1


def test_reducer_bench_notes_are_bounded_and_listings_counted(tmp_path: Path) -> None:
    s = reduce(ConsoleState(), ev.BenchStarted(1, _plan("http://h:1/v1")))
    for i in range(BENCH_NOTES_KEEP + 5):
        s = reduce(s, ev.BenchNoted(1, f"note {i}"))
    assert len(s.bench.notes) == BENCH_NOTES_KEEP and s.bench.notes[-1].text == f"note {BENCH_NOTES_KEEP + 4}"
    s = reduce(s, ev.BenchListed(tmp_path, (), "no saved runs"))
    s = reduce(s, ev.BenchListed(tmp_path, (), "no saved runs"))
    assert (s.bench.folder, s.bench.saved_note, s.bench.listed) == (tmp_path, "no saved runs", 2)


def test_one_shot_bench_and_fit_events_change_no_state() -> None:
    s = ConsoleState()
    for event in (
        ev.BenchPlanned(None, (("trials", "bad"),)),
        ev.FitMemoryRead(None, "no"),
        ev.FitConfigRead("x", None, None, "no"),
    ):
        assert isinstance(event, ev.ONE_SHOT) and reduce(s, event) is s


# ---- the runtime's services ---------------------------------------------------------------------------------


def _runtime(tmp_path: Path, snaps: list[TelemetrySnapshot] | None = None) -> Runtime:
    config = Config(servers=(), hud_help_flag_file=str(tmp_path / "flag"), refresh_interval=0.05)
    if snaps:
        found = Discovery([FixedSource("jtop", snaps)], SourceReport((SourceStatus("jtop", True, "in use"),)))
    else:
        found = Discovery([], SourceReport())
    return Runtime(config, discover_fn=lambda: found, watch_docker=False, poll_servers=False, hud_sources=False)


class Seen:
    """Every event the runtime emitted, and a wait for one."""

    def __init__(self, runtime: Runtime) -> None:
        self.events: list[ev.Event] = []
        self._cond = threading.Condition()
        runtime.subscribe(self._add)

    def _add(self, _state: ConsoleState, event: ev.Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def of(self, kind: type) -> list:
        with self._cond:
            return [e for e in self.events if isinstance(e, kind)]

    def wait(self, kind: type, timeout: float = 20.0, count: int = 1) -> list:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.of(kind)) >= count, timeout), f"no {kind.__name__}"
        return self.of(kind)


def _until(check, timeout: float = 20.0) -> None:
    """Wait for a condition outside the runtime (a request reaching the server)."""
    done = threading.Event()
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        done.wait(0.02)


def _snap(t: float, watts: float | None = 20.0) -> TelemetrySnapshot:
    return TelemetrySnapshot(
        time=t,
        sources=("jtop",),
        memory=Memory(total=64 * GIB, used=8 * GIB, available=50 * GIB),
        power=Power(watts) if watts is not None else None,
    )


def test_plan_bench_answers_with_the_forms_problems_or_the_plan_and_power_now(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    seen = Seen(runtime)
    try:
        runtime.send(cmd.PlanBench(bf.BenchForm(endpoints="", concurrency="0,x")))
        bad = seen.wait(ev.BenchPlanned)[0]
        assert bad.plan is None and {f for f, _ in bad.problems} == {"endpoints", "concurrency"}
        power = FakePower(mode="MODE_30W", mode_id=2, record_reads=True)
        form = bf.BenchForm(endpoints="http://127.0.0.1:9/v1", trials="1", concurrency="1", power_ab="MAXN,clocks-on")
        runtime.send(cmd.PlanBench(form, power))
        good = seen.wait(ev.BenchPlanned, count=2)[1]
        assert good.plan is not None and good.plan.power_modes == ("MAXN", "clocks-on")
        assert good.power_now == "nvpmodel MODE_30W (id 2), jetson_clocks off" and power.calls == ["read"]
        assert runtime.state.bench.run == 0  # planning starts nothing
    finally:
        assert runtime.stop(5)


def test_run_bench_measures_saves_lists_and_takes_energy_from_the_runtimes_telemetry(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    with ReplayServer() as srv:
        srv.script = Script(frames=token_frames(["x", "y", "z"]), rate=400)
        runtime = _runtime(tmp_path, [_snap(float(i)) for i in range(1, 4)])
        seen = Seen(runtime)
        runtime.start()
        try:
            seen.wait(ev.Sampled)
            assert runtime.bench.meter.has_samples  # the runtime's own samples: no connection of its own
            assert runtime.send(cmd.RunBench(_plan(srv.url, concurrency=(1, 2)), folder, "T0")) == ""
            started = runtime.state.bench  # folded in before RunBench returned
            assert (started.run, started.phase, started.energy) == (1, "running", "board power (sum of the rails)")
            assert runtime.send(cmd.RunBench(_plan(srv.url), folder)) == "a bench is running; stop it first"
            end = seen.wait(ev.BenchFinished)[0]
            bench = runtime.state.bench
            assert bench.phase is None and bench.outcome is not None and bench.outcome.report is not None
            report = bench.outcome.report
            assert [(r.label, r.concurrency) for r in report.results] == [("T0", 1), ("T0", 2)]
            assert all(r.median.tokens_per_joule for r in report.results)  # energy from the telemetry's watts
            assert sorted(p.suffix for p in end.paths) == [".csv", ".json"] and not end.error
            saved = json.loads(end.paths[0].with_suffix(".json").read_text())
            assert saved["device"]["power_source"] == "board power (sum of the rails)"
            assert [n.trial for n in bench.notes] == [True]  # one line for the latest trial
            assert bench.progress is not None and bench.progress.overall_done == bench.progress.overall_total
            runtime.send(cmd.ListBenchReports(folder))
            listed = seen.wait(ev.BenchListed)[0]
            assert [r.path for r in listed.runs] == [p for p in end.paths if p.suffix == ".json"]
            assert runtime.state.bench.saved == listed.runs and runtime.state.bench.listed == 1
            assert runtime.idle(5) and "bench" not in runtime.runner.services()
        finally:
            assert runtime.stop(5)


def test_stop_bench_cancels_keeps_finished_trials_and_runtime_stop_ends_a_run(tmp_path: Path) -> None:
    with ReplayServer() as fast, ReplayServer() as slow:
        fast.script = Script(frames=token_frames(["x", "y"]), rate=400)
        slow.script = Script(frames=token_frames([f"t{i}" for i in range(400)]), rate=20)  # 20 s per answer
        runtime = _runtime(tmp_path)
        seen = Seen(runtime)
        try:
            runtime.send(cmd.StopBench())  # none runs: nothing happens
            assert runtime.send(cmd.RunBench(_plan(fast.url, slow.url), tmp_path / "r")) == ""
            _until(lambda: len(slow.requests) >= 1)  # its warm-up is in flight
            runtime.send(cmd.StopBench())
            assert runtime.state.bench.phase == "cancelling"
            assert runtime.state.bench.notes[-1].text == CANCEL_NOTE
            report = seen.wait(ev.BenchFinished, timeout=10)[0].report
            assert report is not None and report.cancelled and [r.label for r in report.results] == ["T0"]
            # Runtime.stop stops a running bench: its thread ends, the open request is closed
            assert runtime.send(cmd.RunBench(_plan(slow.url), tmp_path / "r")) == ""
            _until(lambda: len(slow.requests) >= 2)
        finally:
            assert runtime.stop(10)
        second = seen.of(ev.BenchFinished)
        assert len(second) == 2 and second[1].report is not None and second[1].report.cancelled


def test_run_bench_without_a_folder_saves_nothing(tmp_path: Path) -> None:
    """``jetconsole bench --no-save``: a run with no folder measures and is never written anywhere."""
    with ReplayServer() as srv:
        srv.script = Script(frames=token_frames(["x", "y"]), rate=400)
        runtime = _runtime(tmp_path)
        seen = Seen(runtime)
        before = sorted(tmp_path.rglob("*"))
        try:
            assert runtime.send(cmd.RunBench(_plan(srv.url), None)) == ""
            end = seen.wait(ev.BenchFinished, timeout=10)[0]
        finally:
            assert runtime.stop(5)
    assert end.report is not None and end.report.results and end.paths == () and not end.error
    assert sorted(tmp_path.rglob("*")) == before


def test_an_untrusted_server_error_is_cleaned_where_it_enters_the_state(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    seen = Seen(runtime)
    try:
        runtime.send(cmd.PlanBench(bf.BenchForm(endpoints="http://h:1/v1", prompts="/no/\x1b[2J.jsonl")))
        problems = dict(seen.wait(ev.BenchPlanned)[0].problems)
        assert "\x1b" not in problems["prompts"] and "␛[2J" in problems["prompts"]
        assert runtime.send(cmd.RunBench(_plan("http://127.0.0.1:9/v1"), tmp_path / "r")) == ""
        seen.wait(ev.BenchFinished)
        notes = runtime.state.bench.notes
        assert notes and notes[0].error and notes[0].text.startswith("T0: skipped: cannot reach")
    finally:
        assert runtime.stop(5)


# ---- fit ------------------------------------------------------------------------------------------------------


def test_fit_memory_is_the_runtimes_telemetry_or_a_given_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MEMINFO_ENV, raising=False)
    runtime = _runtime(tmp_path, [_snap(1.0, watts=None)])
    seen = Seen(runtime)
    runtime.send(cmd.ReadFitMemory())  # before the first sample: it waits for one
    runtime.start()
    try:
        read = seen.wait(ev.FitMemoryRead)[0]
        assert read.memory == DeviceMemory(64 * GIB, 50 * GIB, SYSTEM_RAM, unified=True) and read.error is None
        fixed = DeviceMemory(1, 1, "fixed", unified=False)
        threads: list[str] = []

        def given() -> DeviceMemory:
            threads.append(threading.current_thread().name)
            return fixed

        runtime.send(cmd.ReadFitMemory(given))
        assert seen.wait(ev.FitMemoryRead, count=2)[1].memory is fixed
        assert threads == ["jetconsole-fit-memory"]  # in the runtime's service, not the caller's thread
    finally:
        assert runtime.stop(5)


def test_fit_memory_without_telemetry_says_so_and_a_meminfo_file_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MEMINFO_ENV, raising=False)
    runtime = _runtime(tmp_path)
    runtime.fit.first_sample_s = 0.2
    seen = Seen(runtime)
    try:
        runtime.send(cmd.ReadFitMemory())
        read = seen.wait(ev.FitMemoryRead)[0]
        assert read.memory is None and read.error is not None and "no telemetry" in read.error
        meminfo = tmp_path / "meminfo"
        meminfo.write_text("MemTotal:       1048576 kB\nMemAvailable:    524288 kB\n")
        monkeypatch.setenv(MEMINFO_ENV, str(meminfo))
        runtime.send(cmd.ReadFitMemory())
        read = seen.wait(ev.FitMemoryRead, count=2)[1]
        assert read.memory is not None and read.memory.total == GIB and read.memory.source.startswith(str(meminfo))
    finally:
        assert runtime.stop(5)


def test_fit_config_read_answers_with_the_file_or_a_cleaned_error(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"num_hidden_layers": 2, "model_type": "evil\x1b]0;x\x07"}))
    runtime = _runtime(tmp_path)
    seen = Seen(runtime)
    try:
        runtime.send(cmd.ReadFitConfig(str(model)))
        good = seen.wait(ev.FitConfigRead)[0]
        assert good.text == str(model) and good.path == model / "config.json" and good.error is None
        assert good.config == {"num_hidden_layers": 2, "model_type": "evil␛]0;x␇"}  # the file's strings cleaned
        runtime.send(cmd.ReadFitConfig("/nope/\x1b[2J"))
        bad = seen.wait(ev.FitConfigRead, count=2)[1]
        assert bad.config is None and bad.error is not None and "\x1b" not in bad.error and "␛[2J" in bad.error
    finally:
        assert runtime.stop(5)


def test_a_saved_run_from_anywhere_is_cleaned_as_it_is_read(tmp_path: Path) -> None:
    from console.bench import report as rp
    from console.bench import results as br

    saved = rp.BenchReport("2025-10-01T08:00:00+00:00", "2025-10-01T08:01:00+00:00", "t", rp.DeviceContext(), {}, ())
    data = json.loads(rp.to_json(saved))
    data["device"]["hostname"] = "thor\x1b]52;c;aGk=\x07"  # an OSC 52 clipboard write in a collected file
    data["notes"] = ["\x1b[2Jcleared"]
    (tmp_path / "evil.json").write_text(json.dumps(data))
    runs, _ = br.saved_runs(tmp_path)
    report = runs[0].report
    assert report is not None and report.device.hostname == "thor␛]52;c;aGk=␇" and report.notes == ("␛[2Jcleared",)
