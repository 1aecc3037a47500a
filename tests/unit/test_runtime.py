"""The headless runtime with no Textual: runner lifecycle, the reducer, the runtime's services
and commands (fake sources only where a real part cannot produce the case: a source that dies)."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import Future
from dataclasses import replace

import pytest

from console.config import Config
from console.containers.model import ContainerInfo
from console.doctor.check import FAIL, OK, Check
from console.doctor.session import DoctorSetup
from console.runtime import commands as cmd
from console.runtime import events as ev
from console.runtime.reducer import reduce
from console.runtime.runner import Backoff, Runner
from console.runtime.runtime import Runtime
from console.runtime.state import LOG_KEEP, ConsoleState
from console.servers.status import ServerStatus
from console.telemetry.discovery import Discovery
from console.telemetry.model import Cpu, SourceReport, SourceStatus, TelemetrySnapshot
from tests.conftest import FixedSource


def snap(t: float, source: str = "procfs", load: float = 5.0) -> TelemetrySnapshot:
    return TelemetrySnapshot(time=t, sources=(source,), cpu=Cpu(load=load))


# ---- runner ------------------------------------------------------------------------------------
def test_backoff_doubles_to_its_ceiling_and_resets() -> None:
    b = Backoff(1.0, 5.0)
    assert [b.next() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    b.reset()
    assert b.next() == 1.0


def test_runner_idle_waits_for_work_and_stop_all_ends_every_thread() -> None:
    runner = Runner()
    release = threading.Event()
    runner.spawn("job", lambda life: release.wait(5))
    assert runner.busy() == ["job"]
    assert not runner.idle(0.05)  # the job is working
    release.set()
    assert runner.idle(5)
    ticks: list[int] = []
    runner.every("loop", lambda life: ticks.append(1), 0.01)
    assert runner.services() == ["loop"]
    assert runner.stop_all(5) and runner.services() == []
    assert ticks


def test_runner_reports_errors_and_retries_with_backoff() -> None:
    errors: list[tuple[str, str]] = []
    runner = Runner(on_error=lambda name, exc: errors.append((name, str(exc))))
    calls: list[int] = []
    done = threading.Event()

    def step(life: object) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError(f"down {len(calls)}")
        done.set()

    runner.every("flaky", step, 10.0, Backoff(0.01, 0.02))
    assert done.wait(5)
    runner.stop_all(5)
    assert errors == [("flaky", "down 1"), ("flaky", "down 2")]


def test_on_stop_unblocks_a_service_blocked_outside() -> None:
    runner = Runner()
    unblock = threading.Event()
    life = runner.spawn("blocked", lambda life: unblock.wait(10))
    life.on_stop(unblock.set)
    assert runner.stop_all(5)


# ---- reducer ------------------------------------------------------------------------------------
def test_reducer_is_pure_and_counts_versions() -> None:
    s0 = ConsoleState()
    report = SourceReport((SourceStatus("procfs", True, "in use"),))
    s1 = reduce(s0, ev.SourcesFound(("procfs",), report))
    s2 = reduce(s1, ev.Sampled(snap(1.0)))
    assert s0.telemetry.merged is None and s1.telemetry.merged is None  # old states untouched
    assert s2.telemetry.merged is not None and s2.telemetry.merged.cpu == Cpu(load=5.0)
    assert (s0.version, s1.version, s2.version) == (0, 1, 2)
    assert reduce(s2, ev.Notice("hi")) is s2  # one-shot events change nothing
    with pytest.raises(AttributeError):
        s2.version = 9  # type: ignore[misc]


def test_reducer_servers_admit_only_watched_urls() -> None:
    s = reduce(ConsoleState(), ev.ServersWatched(frozenset({"http://127.0.0.1:8000/v1"})))
    ready = ServerStatus(url="http://127.0.0.1:8000", reachable=True, health=200)
    s = reduce(s, ev.ServerPolled(ready))
    assert s.servers.status["http://127.0.0.1:8000/v1"] is ready
    late = replace(ready, url="http://127.0.0.1:9999")
    assert reduce(s, ev.ServerPolled(late)) is s  # a late poll of a server no longer watched
    s = reduce(s, ev.ServersWatched(frozenset()))
    assert dict(s.servers.status) == {}


def test_reducer_doctor_log_is_bounded_and_fix_state_follows() -> None:
    s = reduce(ConsoleState(), ev.FixStarted("memory"))
    assert s.doctor.fixing == "memory"
    for i in range(LOG_KEEP + 10):
        s = reduce(s, ev.FixLine("memory", f"line {i}"))
    s = reduce(s, ev.FixEnded("memory", ok=False))
    assert s.doctor.fixing is None and len(s.doctor.log) == LOG_KEEP and s.doctor.log[-1] == "not fixed"


def test_reducer_docker_stats_keep_only_running_containers() -> None:
    from console.containers.model import ContainerStats

    c = ContainerInfo(id="a" * 12, name="vllm", image="img", state="running", status="Up")
    s = reduce(ConsoleState(), ev.ContainersListed((c,)))
    s = reduce(s, ev.StatsUpdated((("a" * 12, ContainerStats("a" * 12, 12.0, None, None)),)))
    assert s.docker.stats["a" * 12].cpu_pct == 12.0
    s = reduce(s, ev.ContainersListed((replace(c, state="exited"),)))
    assert dict(s.docker.stats) == {}


# ---- runtime ------------------------------------------------------------------------------------
def _runtime(tmp_path, snaps, **kw) -> Runtime:
    config = Config(servers=(), hud_help_flag_file=str(tmp_path / "flag"), refresh_interval=0.2)
    source = FixedSource("procfs", snaps)
    found = Discovery([source], SourceReport((SourceStatus("procfs", True, "in use"),)))
    return Runtime(config, discover_fn=lambda: found, watch_docker=False, **kw)


def _wait(runtime: Runtime, predicate, timeout: float = 5.0) -> None:
    done = threading.Event()
    unsubscribe = runtime.subscribe(lambda state, event: predicate(state) and done.set())
    try:
        if not predicate(runtime.state):
            assert done.wait(timeout), "condition not reached"
    finally:
        unsubscribe()


def test_runtime_polls_discovered_sources_and_stops_cleanly(tmp_path) -> None:
    runtime = _runtime(tmp_path, [snap(1.0, load=1.0), snap(2.0, load=2.0), snap(3.0, load=3.0)])
    seen: list[type] = []
    runtime.subscribe(lambda state, event: seen.append(type(event)))
    runtime.start()
    _wait(runtime, lambda s: len(s.telemetry.history.values("cpu")) >= 3)
    assert runtime.state.telemetry.history.values("cpu")[:3] == [1.0, 2.0, 3.0]
    assert ev.SourcesFound in seen and ev.HelpFlagRead in seen
    assert runtime.stop(5)
    assert not [t for t in threading.enumerate() if t.name.startswith("jetconsole-poll")]


def test_runtime_help_flag_command_round_trips_through_the_file(tmp_path) -> None:
    runtime = _runtime(tmp_path, [snap(1.0)])
    runtime.start()
    _wait(runtime, lambda s: s.hud.host != "")
    runtime.send(cmd.SetHelpFlag(True))
    _wait(runtime, lambda s: s.hud.help_flag)
    assert (tmp_path / "flag").exists()
    runtime.stop(5)


def test_runtime_fix_asks_through_the_port_and_reruns(tmp_path, monkeypatch) -> None:
    runs: list[int] = []

    def checks(_probe) -> list[Check]:
        runs.append(1)
        return [Check("power", "Power mode", OK if len(runs) > 1 else FAIL)]

    asked: list[str] = []

    def fake_fix(setup, ask, say) -> bool:
        say("changing the power mode")
        return ask("Switch power mode?", "to MAXN")

    monkeypatch.setitem(sys.modules["console.runtime.services.doctor"].FIXES, "power", fake_fix)
    setup = DoctorSetup(interval=0, checks=checks, audit=lambda e, d: None)
    runtime = _runtime(tmp_path, [snap(1.0)], doctor=setup, hud_sources=False)
    answers: list[Future] = []

    def answer(state: ConsoleState, event: ev.Event) -> None:
        if isinstance(event, ev.Ask):
            asked.append(event.title)
            answers.append(event.reply)
            event.reply.set_result(True)

    runtime.subscribe(answer)
    runtime.start()
    _wait(runtime, lambda s: s.doctor.at is not None and not s.doctor.running)
    assert runtime.state.doctor.checks[0].status == FAIL
    assert runtime.send(cmd.ApplyFix("power")) is True
    _wait(runtime, lambda s: s.doctor.checks and s.doctor.checks[0].status == OK and s.doctor.fixing is None)
    assert asked == ["Switch power mode?"]
    assert "changing the power mode" in runtime.state.doctor.log and runtime.state.doctor.log[-1] == "done"
    runtime.stop(5)


def test_an_unanswered_question_is_a_no_when_the_runtime_stops(tmp_path) -> None:
    runtime = _runtime(tmp_path, [snap(1.0)], hud_sources=False)
    answer: list[bool] = []
    t = threading.Thread(target=lambda: answer.append(runtime.ask("Really?", "…")))
    t.start()
    runtime.stop()
    t.join(5)
    assert answer == [False]


def test_the_doctors_first_run_waits_for_the_first_sample(tmp_path) -> None:
    """The checks are not on the first frame: their first run comes after the first telemetry sample, so the
    first live frame does not share the CPU with them (benchmarks/README.md)."""
    release = threading.Event()
    order: list[str] = []

    class HeldSource(FixedSource):
        def sample(self) -> TelemetrySnapshot:
            release.wait(5)
            order.append("sample")
            return super().sample()

    def checks(probe) -> list[Check]:
        order.append("checks")
        return [Check("docker", "Docker", OK, ("up",), "")]

    config = Config(servers=(), hud_help_flag_file=str(tmp_path / "flag"), refresh_interval=0.2)
    found = Discovery([HeldSource("procfs", [snap(1.0)])], SourceReport((SourceStatus("procfs", True, "in use"),)))
    setup = DoctorSetup(interval=0, checks=checks, audit=lambda e, d: None)
    runtime = Runtime(config, discover_fn=lambda: found, watch_docker=False, doctor=setup, hud_sources=False)
    runtime.start()
    try:
        _wait(runtime, lambda s: bool(s.telemetry.order))  # the sources are found; the sample is held
        assert runtime.runner.idle(5, names={"doctor"})  # the doctor waits for the sample: idle, not running
        assert order == [] and runtime.state.doctor.at is None
        release.set()
        _wait(runtime, lambda s: s.doctor.at is not None)
        assert order[:2] == ["sample", "checks"]
    finally:
        release.set()
        runtime.stop(5)
