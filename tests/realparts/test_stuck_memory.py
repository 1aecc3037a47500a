"""Stuck-memory holders: real processes on this machine, one named ``VLLM::EngineCore`` whose server is gone,
one live engine under a ``vllm serve`` parent (it holds memory too: it is what must be left alone), one
unrelated process; only the orphan is ended."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.doctor.memory import GIB, Holder, end_holder, figures, find_holders

HOLD = (
    "import signal, sys, time\n"
    "block = bytearray(int(sys.argv[1]) << 20)\n"
    "for i in range(0, len(block), 4096): block[i] = 1\n"  # touch every page: RSS, not just a mapping
    "if sys.argv[2] == 'stubborn': signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(600)\n"
)


def spawn(argv0: str, mib: int, mode: str = "polite") -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [argv0, "-c", HOLD, str(mib), mode], executable=sys.executable, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def orphan(argv0: str, mib: int, mode: str) -> int:
    """A holder whose parent (a stand-in for the API server) has exited: it is re-parented, as after a crash."""
    code = (
        "import subprocess, sys\n"
        f"p = subprocess.Popen([{argv0!r}, '-c', {HOLD!r}, '{mib}', '{mode}'], executable=sys.executable, "
        "stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, "
        "start_new_session=True)\n"
        "assert p.stdout.readline().strip() == 'ready'\n"
        "print(p.pid, flush=True)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return int(out.stdout.strip())


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_holder(what: str, match: Callable[[Holder], bool], timeout: float = 30.0) -> Holder:
    """The served-or-not holder ``match`` picks, once ``find_holders`` sees it; a failure naming ``what`` when
    it does not within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = [h for h in find_holders(include_served=True) if match(h)]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen in {timeout:.0f} s")
        time.sleep(0.2)


SERVED_MIB = 50


@pytest.fixture
def processes() -> Iterator[dict[str, int]]:
    """pids: ``orphan`` and ``stubborn`` (engines whose server is gone), ``unrelated``, ``server`` (a live
    ``vllm serve``) and ``engine``: the server's ``VLLM::EngineCore``, holding SERVED_MIB MiB, the process a
    wrong listing would end."""
    made: dict[str, int] = {}
    keep: list[subprocess.Popen[str]] = []
    engine: Holder | None = None
    try:
        made["orphan"] = orphan("VLLM::EngineCore", 300, "polite")
        made["stubborn"] = orphan("VLLM::Worker_TP1", 100, "stubborn")
        unrelated = spawn("python3-unrelated-holder", 200)
        keep.append(unrelated)
        made["unrelated"] = unrelated.pid
        # an engine under a live server: a parent whose command line says "vllm serve"
        server = subprocess.Popen(
            [
                "vllm serve tiny",
                "-c",
                "import subprocess, sys, time\n"
                f"subprocess.Popen(['VLLM::EngineCore', '-c', {HOLD!r}, '{SERVED_MIB}', 'polite'], "
                "stdout=subprocess.DEVNULL, "
                f"executable={sys.executable!r})\ntime.sleep(600)",
            ],
            executable=sys.executable,
        )
        keep.append(server)
        made["server"] = server.pid
        # the engine once it holds its memory (every page touched): before that a test about leaving it
        # alone would prove nothing
        engine = wait_holder(
            "the served engine holding its memory",
            lambda h: h.ppid == server.pid and h.name == "VLLM::EngineCore" and h.rss >= SERVED_MIB << 20,
        )
        made["engine"] = engine.pid
        yield made
    finally:
        if engine is not None:
            kill_if_same(engine)  # a child of the server: killing the server leaves it running, orphaned
        for name, pid in made.items():
            if name != "engine":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for p in keep:
            p.wait(10)


def kill_if_same(holder: Holder) -> None:
    """SIGKILL ``holder`` if its pid still names it (same start time), never a process that took the pid."""
    try:
        start = int(Path(f"/proc/{holder.pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return
    if start == holder.start:
        with contextlib.suppress(ProcessLookupError):
            os.kill(holder.pid, signal.SIGKILL)


def test_only_the_orphaned_engines_are_listed_and_ended(processes: dict[str, int]) -> None:
    before = figures()
    holders = find_holders()
    listed = {h.pid: h for h in holders}
    # ours, not the unrelated one, not the served one (a real engine orphaned by another test's server
    # shutting down may be listed too: it is not ours to end here)
    assert {processes["orphan"], processes["stubborn"]} <= set(listed)
    assert processes["unrelated"] not in listed
    assert processes["engine"] not in listed  # the live server's engine holds memory too, and is not offered
    orphan = listed[processes["orphan"]]
    assert orphan.name == "VLLM::EngineCore" and orphan.rss >= 290 << 20 and "no vLLM server" in orphan.line()
    ours = [h.pid for h in holders if h.pid in (processes["orphan"], processes["stubborn"])]
    assert ours == [processes["orphan"], processes["stubborn"]]  # biggest first
    lines: list[str] = []
    assert end_holder(orphan, wait_s=5, log=lines.append).endswith("ended by SIGTERM")
    stubborn = listed[processes["stubborn"]]
    assert end_holder(stubborn, wait_s=1, log=lines.append).endswith("ended by SIGKILL")
    assert lines == [
        f"SIGTERM {orphan.pid} VLLM::EngineCore",
        f"SIGTERM {stubborn.pid} VLLM::Worker_TP1",
        f"SIGKILL {stubborn.pid} VLLM::Worker_TP1",
    ]
    assert not alive(orphan.pid) and not alive(stubborn.pid)
    assert alive(processes["engine"]) and alive(processes["unrelated"]) and alive(processes["server"])
    assert not {processes["orphan"], processes["stubborn"], processes["engine"]} & {h.pid for h in find_holders()}
    held = orphan.rss + stubborn.rss
    assert held >= 390 << 20  # what the wizard reports as freed: the listed holders' RSS, now gone
    after = figures()
    # MemTotal - MemAvailable is reported, not asserted: on this sandboxed VM /proc/meminfo follows process
    # memory loosely (400 MiB allocated moved it by ~140 MiB); on a Jetson it is the figure jtop shows.
    print(f"before: {before.line()}\nafter:  {after.line()}\nholders' RSS freed: {held / GIB:.2f} GiB")


def test_a_pid_that_no_longer_names_the_listed_process_is_left_alone(processes: dict[str, int]) -> None:
    [holder] = [h for h in find_holders() if h.pid == processes["orphan"]]
    from dataclasses import replace

    reused = replace(holder, start=holder.start + 1)  # as if the pid now belonged to a newer process
    assert "left alone" in end_holder(reused, wait_s=1)
    assert alive(processes["orphan"])


def run_doctor(*args: str, answers: str = "", state: Path = Path("/nonexistent")) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock", "XDG_STATE_HOME": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "--config", "/dev/null", "doctor", "--recover-memory", *args],
        input=answers,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_wizard_dry_run_plans_and_changes_nothing(processes: dict[str, int]) -> None:
    done = run_doctor("--dry-run")
    assert done.returncode == 1, done.stderr
    assert f"holder: pid {processes['orphan']} VLLM::EngineCore" in done.stdout
    assert f"pid {processes['engine']} " not in done.stdout  # the served engine is not planned for
    assert "plan (dry run, nothing done):" in done.stdout and "end the listed holders" in done.stdout
    assert "container steps skipped" in done.stdout
    assert all(alive(pid) for pid in processes.values())  # the served engine among them


def test_wizard_asks_each_step_and_ends_only_the_listed_holders(processes: dict[str, int], tmp_path: Path) -> None:
    mine = f"{processes['orphan']},{processes['stubborn']}"  # not an engine another test left orphaned
    done = run_doctor(
        "--steps", "holders,caches", "--holders", mine, "--baseline-gib", "1000", answers="y\nn\n", state=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"pid {processes['orphan']} VLLM::EngineCore: ended by SIGTERM" in out
    assert f"pid {processes['stubborn']} VLLM::Worker_TP1: ignored SIGTERM for 10 s, ended by SIGKILL" in out
    assert "before: used" in out and "after:  used" in out and "GiB freed)" in out
    assert "· skipped: drop the page cache" in out  # answered n
    assert "memory is back to the baseline" in out
    assert not alive(processes["orphan"]) and not alive(processes["stubborn"])
    assert f"pid {processes['engine']} " not in out  # never named, never signalled
    assert alive(processes["engine"]) and alive(processes["unrelated"]) and alive(processes["server"])
    log = (tmp_path / "jetconsole" / "doctor-audit.log").read_text()
    assert '"event": "memory.step"' in log and f"SIGKILL {processes['stubborn']}" in log


def test_gpu_processes_from_an_nvml_reading_are_holders_unless_served(processes: dict[str, int]) -> None:
    """The NVML side of the listing, with the reading given (this VM has no GPU; tests/gpu runs it for real):
    a GPU process outside any server is a holder of kind "gpu"; one under a live server and a pid that
    /proc does not show (another PID namespace) are left out; an orphan engine carries its GPU figure."""
    from console.doctor.memory import GpuMemory

    served = processes["engine"]
    gone_pid = 4_000_000  # above pid_max: never a process here
    gpu = GpuMemory(
        5 * GIB, 80 * GIB, {processes["unrelated"]: 2 * GIB, processes["orphan"]: GIB, served: 3 * GIB, gone_pid: GIB}
    )
    listed = {h.pid: h for h in find_holders(gpu=gpu)}
    other = listed[processes["unrelated"]]
    assert other.kind == "gpu" and other.gpu == 2 * GIB and "python3-unrelated-holder" in other.name
    assert "GPU 2.00 GiB (NVML)" in other.line() and "a GPU process outside any container" in other.line()
    assert listed[processes["orphan"]].kind == "orphan" and listed[processes["orphan"]].gpu == GIB
    assert served not in listed and gone_pid not in listed and os.getpid() not in listed
    assert next(iter(listed)) == processes["unrelated"]  # most GPU memory first
    # without a reading the unrelated process is nobody's business
    assert processes["unrelated"] not in {h.pid for h in find_holders()}


def test_memory_check_fails_on_an_orphan_and_names_the_wizard(processes: dict[str, int]) -> None:
    from console.doctor.check import FAIL, Probe
    from console.doctor.checks import check_memory

    check = check_memory(Probe(use_nvml=False))
    assert check.status == FAIL and "--recover-memory" in check.fix
    assert any(f"pid {processes['orphan']} VLLM::EngineCore" in line for line in check.evidence)
    assert not any(f"pid {processes['engine']} " in line for line in check.evidence)  # served: not stuck


def test_jtop_shared_gpu_memory_is_measured_with_the_rest(gpu_holder: int, tmp_path: Path) -> None:
    """On a Jetson the figures carry jtop's shared GPU memory: here the emulated nvmap table's 2 GiB holder."""
    from console.doctor.check import Probe
    from console.doctor.checks import check_memory
    from console.doctor.memory import jtop_shared
    from console.doctor.recovery import freed

    deadline, shared = time.monotonic() + 20, None
    while time.monotonic() < deadline and shared != 2 * GIB:
        shared = jtop_shared()
        time.sleep(0.5)
    assert shared == 2 * GIB  # jtop's RAM.shared (kB) from the service, in bytes
    now = figures(gpu=lambda: None)
    assert "GPU shared 2.00 GiB (jtop)" in now.line()
    check = check_memory(Probe(use_nvml=False, baseline_gib=1000))
    assert "GPU shared 2.00 GiB (jtop)" in check.evidence[0]
    assert jtop_shared(str(tmp_path / "absent.sock")) is None  # no service: no figure, no error
    gone = dataclasses.replace(now, shared=0)
    assert "GPU shared +2.00 GiB freed" in freed(now, gone)


def test_a_worker_under_a_live_servers_engine_is_not_a_holder() -> None:
    """vLLM's process tree is API server -> VLLM::EngineCore -> VLLM::Worker: the worker's parent is an engine,
    not the server, and must still count as served (a suite run once found the wizard ending a live server's
    worker: the parent alone was checked)."""
    python = sys.executable  # named literally: a process started as "VLLM::…" has no sys.executable of its own
    engine_code = (
        "import subprocess, time\n"
        f"subprocess.Popen(['VLLM::Worker_TP0', '-c', {HOLD!r}, '20', 'polite'], executable={python!r}, "
        "stdout=subprocess.DEVNULL)\ntime.sleep(600)\n"
    )
    server = subprocess.Popen(
        [
            "vllm serve tiny",
            "-c",
            "import subprocess, time\n"
            f"subprocess.Popen(['VLLM::EngineCore', '-c', {engine_code!r}], executable={python!r})\n"
            "time.sleep(600)\n",
        ],
        executable=python,
        start_new_session=True,
    )
    try:
        engine = wait_holder(
            "the live server's engine", lambda h: h.name == "VLLM::EngineCore" and h.ppid == server.pid
        )
        worker = wait_holder("the engine's worker", lambda h: h.name == "VLLM::Worker_TP0" and h.ppid == engine.pid)
        offered = {h.pid for h in find_holders()}
        assert worker.pid not in offered  # served through its engine: never offered to the wizard
        assert engine.pid not in offered  # the engine itself, under the live server
        assert alive(worker.pid) and alive(engine.pid)
        os.killpg(server.pid, signal.SIGKILL)  # the server and its tree die together here; its engine's worker
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
