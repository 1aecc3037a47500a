"""An emulated Jetson AGX Orin for the real jtop service (jetson-stats 7.2.2).

jetson-stats tests itself this way: with ``JTOP_TESTING=1`` its service reads a fake
sysfs tree under ``/fake_sys`` instead of ``/sys``.  This module writes that tree
(CPU, iGPU, EMC, fan, INA3221 power rails), gives the service a fake ``nvpmodel`` (on its
PATH) and a fake ``jetson_clocks`` (jtop looks for it at a fixed path; the path is pointed
at ours), and hosts the real ``JtopServer`` in this process.  It is used by the test suite
and by ``benchmarks/``; it never runs where a jtop service already listens.

The fakes keep state in the emulator's temp dir (``state_dir()``): ``nvpmodel -m ID``
changes what ``nvpmodel -q`` prints, and ``jetson_clocks`` pins/restores the fake sysfs
min frequencies, which is what jtop judges "on" by.  A mode change that alters the online
CPU count asks for a reboot, as the real nvpmodel does (see ``NVPMODEL``); the fake never
reboots: a ``YES`` only leaves ``reboot-requested`` in the state dir.

    python -m tests.realparts.jetson_emulator serve     # until SIGTERM
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

FAKE_ROOT = Path("/fake_sys")  # fixed by jetson-stats when JTOP_TESTING is set
JTOP_SOCKET = Path("/run/jtop.sock")  # fixed by jetson-stats
GPU_NAME = "17000000.gpu"
NUM_CPU = 8
BOARD = {
    "Model": "NVIDIA Jetson AGX Orin (emulated)",
    "699-level Part Number": "699-13701-0005-500 M.0",
    "P-Number": "p3701-0005",
    "Module": "NVIDIA Jetson AGX Orin (64GB ram)",
    "SoC": "tegra234",
    "CUDA Arch BIN": "8.7",
    "L4T": "36.4.0",
    "Jetpack": "6.1",
    "Serial Number": "EMULATED0001",
}
RAILS = {  # label: (millivolts, milliamps)
    "VDD_GPU_SOC": (5000, 1200),
    "VDD_CPU_CV": (5000, 400),
    "VIN_SYS_5V0": (5000, 700),
}
# AGX Orin 64GB modes (domain.md 5.3) with online CPU counts (as NVIDIA's Orin power-mode table
# gives them, from memory: not re-checked for this emulator).  A change of online CPUs
# is what makes the real nvpmodel ask for a reboot (third-party reports: Orin Nano 7W, 6 -> 4
# cores; a JetPack 6.2 AGX Orin going MODE_30W -> MAXN); here MAXN <-> MODE_50W switch live
# and MODE_15W / MODE_30W need a reboot from any other mode.  Which real transitions need one
# is board- and release-specific: this is a test double, not a table of facts.
MODES = (("MAXN", 12), ("MODE_15W", 4), ("MODE_30W", 8), ("MODE_50W", 12))
DEFAULT_MODE = 2
INITIAL_MODE = 0
NVPMODEL = """#!{python}
# fake nvpmodel for the emulated AGX Orin (tests/realparts/jetson_emulator.py)
import os
import sys
from pathlib import Path

STATE = Path({state!r})
MODES = {modes!r}
DEFAULT = {default}


def current():
    try:
        return int((STATE / "nvpmodel-mode").read_text())
    except (OSError, ValueError):
        return {initial}


def log(line):
    with (STATE / "nvpmodel.log").open("a") as f:
        f.write(line + "\\n")


args = sys.argv[1:]
if "-q" in args or "--query" in args:
    mode = current()
    print("NV Power Mode: " + MODES[mode][0])
    print(mode)
elif "-p" in args or "--parse" in args:
    for i, (name, _cpus) in enumerate(MODES):
        print("NVPM VERB: POWER_MODEL: ID=%d NAME=%s" % (i, name))
    print("NVPM VERB: PM_CONFIG: DEFAULT=%s(%d)" % (MODES[DEFAULT][0], DEFAULT))
elif "-m" in args or "--mode" in args:
    at = args.index("-m") if "-m" in args else args.index("--mode")
    try:
        target = int(args[at + 1])
        if not 0 <= target < len(MODES):
            raise ValueError(target)
    except (IndexError, ValueError):
        print("NVPM ERROR: Invalid power mode")
        log("-m %s: invalid" % args[at + 1:at + 2])
        sys.exit(1)
    now = current()
    if MODES[target][1] != MODES[now][1]:
        # the real prompt (captured outputs of nvpmodel on Orin and Thor)
        print("NVPM WARN: Reboot required for changing to this power mode: %d" % target)
        print("NVPM WARN: DO YOU WANT TO REBOOT NOW? enter YES/yes to confirm:", flush=True)
        answer = sys.stdin.readline().strip()
        if answer in ("YES", "yes"):
            (STATE / "reboot-requested").write_text(str(target))
            log("-m %d: reboot required, answered YES (emulator does not reboot)" % target)
            print("NVPM WARN: rebooting")
            sys.exit(0)
        log("-m %d: reboot required, declined" % target)
        print("NVPM ERROR: bad input!")
        print("NVPM ERROR: optMask is 1, no request for power mode")
        sys.exit(0)  # the real exit status is not known; jtop fails on the NVPM ERROR lines either way
    tmp = STATE / ".nvpmodel-mode.tmp"
    tmp.write_text(str(target))
    os.replace(tmp, STATE / "nvpmodel-mode")  # whole: a concurrent -q never reads it empty (and falls back)
    log("-m %d: set" % target)
"""
# jetson_clocks as jtop 7.2.2 drives it (core/jetson_clocks.py): ``--show`` (it parses
# ``MaxFreq=``), ``--store FILE`` once, no argument to pin clocks, ``--restore FILE``.  jtop
# judges "on" from sysfs: online CPUs min == max, GPU min == max, EMC cur == max.
JETSON_CLOCKS = """#!{python}
# fake jetson_clocks for the emulated AGX Orin (tests/realparts/jetson_emulator.py)
import os
import sys
from pathlib import Path

ROOT = Path({root!r})
STATE = Path({state!r})
CPUS = [ROOT / ("devices/system/cpu/cpu%d/cpufreq" % n) for n in range({ncpu})]
GPU = ROOT / "devices/platform/{gpu}/devfreq/{gpu}"
EMC = ROOT / "kernel/debug/bpmp/debug/clk/emc"
PINNED = [c / "scaling_min_freq" for c in CPUS] + [c / "scaling_cur_freq" for c in CPUS] + [
    GPU / "min_freq", GPU / "cur_freq", EMC / "rate"]


def read(path):
    return path.read_text().strip()


def write(path, value):
    # whole, never truncated first: the service reads these files from its own threads meanwhile
    tmp = path.with_name("." + path.name + ".clocks")
    tmp.write_text(value)
    os.replace(tmp, path)


def log(line):
    with (STATE / "jetson_clocks.log").open("a") as f:
        f.write(line + "\\n")


args = sys.argv[1:]
if "--show" in args:
    print("SOC family:tegra234  Machine:NVIDIA Jetson AGX Orin (emulated)")
    print("Online CPUs: 0-%d" % (len(CPUS) - 1))
    for n, c in enumerate(CPUS):
        print("cpu%d: Online=1 Governor=%s MinFreq=%s MaxFreq=%s CurrentFreq=%s IdleStates: C1=1 c7=1" % (
            n, read(c / "scaling_governor"), read(c / "scaling_min_freq"), read(c / "scaling_max_freq"),
            read(c / "scaling_cur_freq")))
    print("GPU MinFreq=%s MaxFreq=%s CurrentFreq=%s" % (read(GPU / "min_freq"), read(GPU / "max_freq"),
                                                        read(GPU / "cur_freq")))
    print("EMC MinFreq=%s MaxFreq=%s CurrentFreq=%s FreqOverride=1" % (read(EMC / "min_rate"),
                                                                       read(EMC / "max_rate"), read(EMC / "rate")))
elif "--store" in args:
    conf = Path(args[args.index("--store") + 1])
    conf.write_text("".join("%s %s\\n" % (p, read(p)) for p in PINNED))
    log("--store " + str(conf))
elif "--restore" in args:
    conf = Path(args[args.index("--restore") + 1])
    if not conf.is_file():
        print("Error: file %s not found" % conf)
        sys.exit(1)
    for line in conf.read_text().splitlines():
        path, value = line.rsplit(" ", 1)
        write(Path(path), value)
    log("--restore " + str(conf))
elif not args:
    for c in CPUS:
        top = read(c / "scaling_max_freq")
        write(c / "scaling_min_freq", top)
        write(c / "scaling_cur_freq", top)
    write(GPU / "min_freq", read(GPU / "max_freq"))
    write(GPU / "cur_freq", read(GPU / "max_freq"))
    write(EMC / "rate", read(EMC / "max_rate"))
    log("on")
else:
    print("unknown option " + " ".join(args))
    sys.exit(1)
"""
POINTER = "emulator.json"  # under FAKE_ROOT: where this run's temp dir is


def _write(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value)


def set_value(path: Path, value: str) -> None:
    """Change a sysfs value the running service reads, atomically (a temp file renamed over it): a plain
    write truncates the file first, and the jtop service reading it at that moment gets "" and dies
    (``float('')`` in its GPU reader ends the whole service: seen in full suite runs)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(value)
    os.replace(tmp, path)


def gpu_load_path(root: Path = FAKE_ROOT) -> Path:
    """The file the service reads GPU load from (per mille: 900 = 90.0%)."""
    return root / "devices/platform" / GPU_NAME / "devfreq" / GPU_NAME / "device/load"


def rail_current_path(label: str, root: Path = FAKE_ROOT) -> Path:
    """The current (mA) file of one INA3221 rail."""
    index = list(RAILS).index(label) + 1
    return root / "bus/i2c/devices/1-0040/hwmon/hwmon3" / f"curr{index}_input"


def core_load(n: int) -> float:
    """The load the emulator gives core ``n``: 20%, 25%, 30%... so cores differ."""
    return 0.20 + 0.05 * n


def proc_stat_text(ticks: int, ncpu: int = NUM_CPU) -> str:
    """A /proc/stat body after ``ticks`` jiffies per CPU at the loads of ``core_load``."""
    per = [(int(ticks * core_load(n)), ticks - int(ticks * core_load(n))) for n in range(ncpu)]
    lines = [f"cpu  {sum(b for b, _ in per)} 0 0 {sum(i for _, i in per)} 0 0 0 0 0 0"]
    lines += [f"cpu{n} {busy} 0 0 {idle} 0 0 0 0 0 0" for n, (busy, idle) in enumerate(per)]
    lines += ["intr 0", "ctxt 0", "btime 1674644431", "processes 1", "procs_running 1", "procs_blocked 0"]
    return "\n".join(lines) + "\n"


def write_tree(root: Path = FAKE_ROOT, gpu_load: int = 900) -> None:
    """Write the fake sysfs of an AGX Orin under ``root``."""
    _write(root / "stat", proc_stat_text(1_000_000))
    set_gpu_processes([], root)
    for n in range(NUM_CPU):
        freq = root / f"devices/system/cpu/cpu{n}/cpufreq"
        for name, value in {
            "scaling_governor": "schedutil",
            "scaling_min_freq": "115200",
            "scaling_max_freq": "2201600",
            "scaling_cur_freq": str(1_500_000 + n * 10_000),
            "cpuinfo_min_freq": "115200",
            "cpuinfo_max_freq": "2201600",
            "cpuinfo_cur_freq": str(1_500_000 + n * 10_000),
        }.items():
            _write(freq / name, value)
    gpu_dir = root / "devices/platform" / GPU_NAME / "devfreq" / GPU_NAME
    _write(gpu_dir / "device/of_node/name", "gpu")
    for name, value in {
        "cur_freq": "816000000",
        "max_freq": "1300500000",
        "min_freq": "306000000",
        "governor": "nvhost_podgov",
    }.items():
        _write(gpu_dir / name, value)
    for name, value in {
        "railgate_enable": "0",
        "tpc_pg_mask": "0",
        "enable_3d_scaling": "1",
        "load": str(gpu_load),
    }.items():
        _write(gpu_dir / "device" / name, value)
    link = root / "class/devfreq" / GPU_NAME
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(gpu_dir)
    emc = root / "kernel/debug/bpmp/debug/clk/emc"
    for name, value in {
        "rate": "3199000000",
        "max_rate": "3199000000",
        "min_rate": "204000000",
        "mrq_rate_locked": "3199000000",
    }.items():
        _write(emc / name, value)
    _write(root / "kernel/actmon_avg_activity/mc_all", "250000")
    fan = root / "class/hwmon/hwmon27"
    _write(fan / "name", "pwmfan")
    _write(fan / "pwm1", "96")
    _write(root / "class/hwmon/hwmon32/name", "pwm_tach")
    _write(root / "class/hwmon/hwmon32/rpm", "2150")
    ina = root / "bus/i2c/devices/1-0040"
    _write(ina / "name", "ina3221")
    for index, (label, (mv, ma)) in enumerate(RAILS.items(), start=1):
        hw = ina / "hwmon/hwmon3"
        _write(hw / f"in{index}_label", label)
        _write(hw / f"in{index}_input", str(mv))
        _write(hw / f"curr{index}_input", str(ma))
        _write(hw / f"curr{index}_max", "5000")
        _write(hw / f"curr{index}_crit", "6000")


def set_gpu_processes(procs: list[tuple[str, str, int, int]], root: Path = FAKE_ROOT) -> None:
    """Write the nvmap table the service reads GPU memory per process from (Orin).

    ``procs``: (user, name, pid, kB).  The pids must exist: jtop reads /proc/<pid>.
    """
    lines = ["PID    user    name    size", *(f"{u}  {n}  {pid}  {kb}K" for u, n, pid, kb in procs)]
    lines.append(f"total {sum(kb for *_, kb in procs)}K")
    maps = root / "kernel/debug/nvmap/iovmm/maps"
    maps.parent.mkdir(parents=True, exist_ok=True)
    set_value(maps, "\n".join(lines) + "\n")  # tests change it while the service reads it


def tick_cpu(stop: threading.Event, root: Path = FAKE_ROOT, period: float = 0.25) -> None:
    """Advance the fake /proc/stat so jtop sees the per-core loads of ``core_load``."""
    ticks = 1_000_000
    while not stop.wait(period):
        ticks += 100
        tmp = root / "stat.tmp"
        tmp.write_text(proc_stat_text(ticks))
        os.replace(tmp, root / "stat")


def service_running() -> bool:
    """True when something already listens on the fixed jtop socket."""
    if not JTOP_SOCKET.exists():
        return False
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(str(JTOP_SOCKET))
        except OSError:
            return False
    return True


def ensure_group() -> None:
    """The service refuses to start without a ``jtop`` group."""
    import grp
    import subprocess

    try:
        grp.getgrnam("jtop")
    except KeyError:
        subprocess.run(["groupadd", "--system", "jtop"], check=True)


def install_fakes(workdir: Path, root: Path = FAKE_ROOT) -> Path:
    """Write the fake ``nvpmodel`` and ``jetson_clocks`` into ``workdir/bin``; state in ``workdir/state``."""
    bindir, state = workdir / "bin", workdir / "state"
    bindir.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    (state / "nvpmodel-mode").write_text(str(INITIAL_MODE))
    fields = {"python": sys.executable, "state": str(state), "root": str(root)}
    for name, text in (
        ("nvpmodel", NVPMODEL.format(modes=MODES, default=DEFAULT_MODE, initial=INITIAL_MODE, **fields)),
        ("jetson_clocks", JETSON_CLOCKS.format(ncpu=NUM_CPU, gpu=GPU_NAME, **fields)),
    ):
        (bindir / name).write_text(text)
        (bindir / name).chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    _write(root / POINTER, json.dumps({"bin": str(bindir), "state": str(state)}))
    return bindir


def state_dir(root: Path = FAKE_ROOT) -> Path:
    """The running emulator's state dir: ``nvpmodel-mode``, ``nvpmodel.log``, ``jetson_clocks.log``,
    ``l4t_dfs.conf`` and, if anything ever answered YES to a reboot prompt, ``reboot-requested``."""
    return Path(json.loads((root / POINTER).read_text())["state"])


def clocks_pinned(root: Path = FAKE_ROOT) -> bool:
    """What jtop calls jetson_clocks on, read straight from the fake sysfs."""
    cpus = [root / f"devices/system/cpu/cpu{n}/cpufreq" for n in range(NUM_CPU)]
    gpu = root / "devices/platform" / GPU_NAME / "devfreq" / GPU_NAME
    same = [(c / "scaling_min_freq", c / "scaling_max_freq") for c in cpus] + [(gpu / "min_freq", gpu / "max_freq")]
    return all(a.read_text().strip() == b.read_text().strip() for a, b in same)


def spawn(log: IO[bytes], interval: float | None = None) -> subprocess.Popen[bytes]:
    """Start ``python -m tests.realparts.jetson_emulator serve`` in its own session, output to ``log``
    (the tests' fixture and benchmarks/startup_idle.py start it this one way)."""
    extra = ["--interval", str(interval)] if interval is not None else []
    return subprocess.Popen(
        [sys.executable, "-m", "tests.realparts.jetson_emulator", "serve", *extra],
        cwd=Path(__file__).resolve().parents[2],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


class NotServing(RuntimeError):
    """The service did not come to serve: what was last seen is in the message."""


def first_sample(timeout: float, alive: Callable[[], str | None] = lambda: None, interval: float = 1.0) -> dict:
    """Wait until the service serves: its socket accepts a connection and a real jtop client, started
    on it, receives a first sample.  Returns that sample (``jtop.stats``).

    A service answers late while it initialises (the client asks for its configuration and gives up
    after three intervals): each attempt that fails so is tried again until ``timeout``.  Each attempt
    runs in a thread of its own, so a client that hangs (the socket accepts, nobody answers) ends in
    ``NotServing`` at the deadline, not in a hang.  ``alive`` returns None while the service may still
    come up, else why it cannot (its process died): then ``NotServing`` at once.
    """
    deadline = time.monotonic() + timeout
    why = "not tried yet"
    while True:
        dead = alive()
        if dead is not None:
            raise NotServing(f"{dead} (last: {why})")
        if not service_running():
            why = f"{JTOP_SOCKET} does not accept a connection"
        else:
            result: queue.Queue[tuple[str, object]] = queue.Queue()
            threading.Thread(target=_one_client, args=(interval, result), daemon=True).start()
            try:
                kind, value = result.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise NotServing(f"a jtop client did not finish starting within {timeout:.0f} s (hung)") from None
            if kind == "sample":
                return value  # type: ignore[return-value]
            why = str(value)
        if time.monotonic() > deadline:
            raise NotServing(f"no first sample within {timeout:.0f} s: {why}")
        time.sleep(0.2)  # poll interval between attempts, bounded by the deadline above


def _one_client(interval: float, result: queue.Queue[tuple[str, object]]) -> None:
    """One jtop client: connect, take the first sample, close; the outcome goes to ``result``."""
    try:
        from jtop import jtop

        client = jtop(interval=interval)
        client.start()  # connects, asks for the configuration, waits for the first sample
        try:
            stats = dict(client.stats)
        finally:
            client.close()
        if not stats:
            result.put(("error", "the first sample was empty"))
        else:
            result.put(("sample", stats))
    except BaseException as exc:  # noqa: BLE001 - every way a start can fail is "not serving yet"
        result.put(("error", f"{type(exc).__name__}: {exc}".strip()))


def leftover_group(root: Path = FAKE_ROOT) -> int | None:
    """The process group of an emulator left by an earlier run whose owner (the test run that started it)
    is gone, if one still has processes: what keeps /run/jtop.sock listening after a killed run.  None
    where the pointer names no such group, or its owner lives (another run's emulator: not ours to end)."""
    try:
        pointer = json.loads((root / POINTER).read_text())
        pgid, owner = int(pointer["pgid"]), int(pointer["owner"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if _exists(owner):
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            pgrp = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if pgrp == pgid and b"tests.realparts.jetson_emulator" in cmdline:
            return pgid
    return None


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def serve(gpu_load: int = 900, interval: float = 1.0, ready_timeout: float = 90.0) -> None:
    """Write the tree, start the real JtopServer here, say "ready" once a jtop client got a first sample,
    run until SIGTERM (or until the process that started it is gone), clean up.

    ``interval``: the readiness client's.  The service samples at the interval of the client that started
    its timer, for as long as clients keep coming (it stops 3 s after the last): a caller whose clients read
    at 0.5 s gives 0.5 here, or its first client finds the service sampling slower than it waits for."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stdout)
    owner = os.getppid()  # the test run (or benchmark) that started this one
    if service_running():
        sys.exit("a jtop service already listens on /run/jtop.sock: refusing to emulate over it")
    if JTOP_SOCKET.exists():  # stale socket of a dead emulator
        JTOP_SOCKET.unlink()
    ensure_group()
    write_tree(gpu_load=gpu_load)
    workdir = Path(tempfile.mkdtemp(prefix="jtop-emu-"))
    bindir = install_fakes(workdir)
    pointer = json.loads((FAKE_ROOT / POINTER).read_text())
    _write(FAKE_ROOT / POINTER, json.dumps({**pointer, "pid": os.getpid(), "pgid": os.getpgid(0), "owner": owner}))
    os.environ["PATH"] = f"{bindir}:{os.environ.get('PATH', '')}"
    os.environ["JTOP_TESTING"] = "1"
    import jtop.core.jetson_clocks
    import jtop.service

    jtop.service.get_hardware = lambda: dict(BOARD)
    # jtop looks for jetson_clocks only at /usr/bin/jetson_clocks (or ~nvidia): point it at
    # ours, and keep the clock config it stores (l4t_dfs.conf) in the temp dir, not sys.prefix
    jtop.core.jetson_clocks.PATH_JETSON_CLOCKS = [str(bindir / "jetson_clocks")]
    jtop.core.jetson_clocks.CONFIG_DEFAULT_L4T_FILE = str(workdir / "state" / "l4t_dfs.conf")
    server = jtop.service.JtopServer()
    # the service's config (sys.prefix/local/jtop/config.json) outlives a killed emulator: "jetson_clocks on
    # boot" or a fan profile stored by an earlier run would change how this one starts
    server.config.clear()
    me = os.getpid()
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        if os.getpid() != me:
            # a process forked from this one (the service itself) inherited this handler: there SIGTERM
            # must end it at once (JtopServer.close() terminates it), not set a flag nobody reads
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ticking = threading.Event()

    def why_dead() -> str | None:
        if stopping:
            return "the emulator was asked to stop"
        if not server.is_alive():
            return f"the jtop service process ended (exit {server.exitcode})"
        manager = getattr(server.broadcaster, "_process", None)
        if manager is not None and not manager.is_alive():
            return f"the jtop service's socket server (broadcaster) ended (exit {manager.exitcode})"
        if os.getppid() != owner:
            return f"the process that started the emulator ({owner}) is gone"
        return None

    code = 0
    try:
        server.start()
        threading.Thread(target=tick_cpu, args=(ticking,), daemon=True).start()
        try:
            sample = first_sample(ready_timeout, why_dead, interval)
        except NotServing as exc:
            print(f"jtop emulator: not serving: {exc}", flush=True)
            code = 1
        else:
            print(f"jtop emulator: ready (first sample: GPU load {_gpu_load(sample)})", flush=True)
            while (dead := why_dead()) is None:
                time.sleep(0.2)
            if not stopping:
                print(f"jtop emulator: stopping: {dead}", flush=True)
                code = 1
    finally:
        ticking.set()
        for step in (server.close, server.config_clear):
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - report it and go on cleaning up
                print(f"jtop emulator: {step.__name__} failed: {type(exc).__name__}: {exc}", flush=True)
                code = 1
        if JTOP_SOCKET.exists() and not service_running():
            JTOP_SOCKET.unlink()
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(FAKE_ROOT, ignore_errors=True)
        print(f"jtop emulator: stopped (exit {code})", flush=True)
    sys.exit(code)


def _gpu_load(sample: dict) -> str:
    gpu = sample.get("GPU")
    return f"{gpu}%" if gpu is not None else "not in the sample"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["serve", "write-tree"])
    parser.add_argument("--gpu-load", type=int, default=900, help="per mille, 900 = 90%%")
    parser.add_argument("--interval", type=float, default=1.0, help="the readiness client's interval (s)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.gpu_load, args.interval)
    else:
        write_tree(gpu_load=args.gpu_load)


if __name__ == "__main__":
    main()
