"""Start-up and idle cost of jetconsole next to jtop's own curses UI, on one emulated Jetson.

Both programs run in turn in a 120x40 pseudo-terminal (TERM=xterm-256color) against the
same emulated jtop service (``tests.realparts.jetson_emulator``), refreshing every 1 s.

* start-up: seconds from spawning the process to the first screen that shows live jtop
  telemetry (the emulator's GPU load of 90%), over several alternating runs;
* idle, over ``--seconds`` after the first live frame (and ``--settle`` more): CPU seconds
  per minute of the process tree, peak RSS (VmHWM), bytes and write bursts per second sent
  to the terminal.

Needs root (the emulated service writes /fake_sys and /run/jtop.sock)::

    .venv/bin/python benchmarks/startup_idle.py [--runs 5] [--seconds 60]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ptyrun import (
    ACTIVE,
    COLS,
    ROOT,
    ROWS,
    PtyProcess,
    TreeMeter,
    compile_bytecode,
    interrupt_on_signals,
    report_header,
    save_report,
    shielded,
    status_kib,
    stop_leftovers,
)

sys.path.insert(0, str(ROOT))  # the emulator lives in tests/realparts
LIVE_TIMEOUT = 30.0
FLOOR = "bare Textual"  # the floor: a Textual app with one line (bare_textual.py), started like jetconsole
BARE_MARKER = "bare Textual app: first frame"

# ---- the programs under test ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    name: str
    argv: list[str]
    live: Callable[[str], bool]  # screen text -> shows live jtop telemetry


def jetconsole_live(screen: str) -> bool:
    """Title line says the jtop source is in use and a GPU row shows the emulated 90% load."""
    lines = screen.splitlines()
    titled = any(re.search(r"telemetry: \S*jtop", line) for line in lines[:3])
    return titled and any(re.search(r"\bGPU\b.*\b90(?:\.0)?%", line) for line in lines)


def jtop_live(screen: str) -> bool:
    """jtop's ALL page: the GPU gauge reads the emulated 90.0% load (``GPU [|||   90.0%] 816MHz``)."""
    return any(re.search(r"^\s*GPU \[.*\b90\.0%\]", line) for line in screen.splitlines())


def bare_live(screen: str) -> bool:
    """The floor's one line is on the screen."""
    return BARE_MARKER in screen


def programs(config_path: Path) -> list[Program]:
    python = sys.executable
    jtop_cmd = Path(python).parent / "jtop"
    return [
        Program("jetconsole", [python, "-m", "console", "--config", str(config_path)], jetconsole_live),
        Program("jtop", [str(jtop_cmd), "--refresh", "1000"], jtop_live),
        Program(FLOOR, [python, str(ROOT / "benchmarks" / "bare_textual.py")], bare_live),
    ]


# ---- running one program in a pty -----------------------------------------------------------------------------


@dataclass
class RunResult:
    program: str
    live_s: float | None = None  # spawn -> first frame with live telemetry
    first_paint_s: float | None = None  # spawn -> first non-blank screen
    exit_s: float | None = None  # "q" -> process gone
    idle_seconds: float | None = None
    idle_cpu_s_per_min: float | None = None
    idle_bytes_per_s: float | None = None
    idle_bursts_per_s: float | None = None
    idle_bytes_per_s_by_10s: list[float] = field(default_factory=list)  # does the output grow with history?
    peak_rss_main_mib: float | None = None
    peak_rss_tree_mib: float | None = None
    rss_end_main_mib: float | None = None
    processes: dict[str, int] = field(default_factory=dict)
    live_screen: str = ""
    idle_end_screen: str = ""
    error: str = ""


def run_once(program: Program, idle: float = 0.0, settle: float = 0.0, vary: bool = False) -> RunResult:
    """One start of ``program``; with ``idle`` > 0 it also measures the idle window after the first live frame."""
    result = RunResult(program.name)
    pty_proc = PtyProcess(program.argv)
    ACTIVE.append(pty_proc)
    meter = TreeMeter(pty_proc.proc.pid)
    try:

        def live_or_painted() -> bool:  # no /proc sampling here: VmHWM keeps its peak, and scans cost CPU
            now = time.monotonic()
            text = pty_proc.screen.text()
            if result.first_paint_s is None and text.strip():
                result.first_paint_s = now - pty_proc.started
            return program.live(text)

        if pty_proc.pump_for(LIVE_TIMEOUT, live_or_painted):
            result.live_s = time.monotonic() - pty_proc.started
            pty_proc.pump_until_quiet()  # keep the whole frame, not the part that carried the marker
        else:
            state = "exited" if pty_proc.proc.poll() is not None else "still running"
            result.error = f"no live frame within {LIVE_TIMEOUT:.0f}s ({state})"
        result.live_screen = pty_proc.screen.text()
        meter.sample()
        if idle > 0 and result.live_s is not None:
            pty_proc.pump_for(settle)
            with varying_power(vary):
                measure_idle(pty_proc, meter, idle, result)
        meter.sample()
        main_hwm = meter.hwm.get(pty_proc.proc.pid)
        result.peak_rss_main_mib = main_hwm / 1024 if main_hwm else None
        result.peak_rss_tree_mib = sum(meter.hwm.values()) / 1024 if meter.hwm else None
        for pid, name in meter.names.items():
            result.processes[name] = result.processes.get(name, 0) + (pid in meter.hwm)
    finally:
        result.exit_s = pty_proc.stop()
        ACTIVE.remove(pty_proc)
    return result


def measure_idle(pty_proc: PtyProcess, meter: TreeMeter, seconds: float, result: RunResult) -> None:
    """Fill the idle figures of ``result`` over the next ``seconds``."""
    window = TreeMeter(pty_proc.proc.pid)
    window.sample(count_new_from_zero=False)
    bytes0, bursts0, t0 = pty_proc.bytes, pty_proc.bursts, time.monotonic()
    end, slice_end, slice_bytes = t0 + seconds, t0 + 10, bytes0
    while (left := end - time.monotonic()) > 0:
        pty_proc.pump_for(min(left, 2.0, max(slice_end - time.monotonic(), 0.01)))  # sample /proc every 2 s
        window.sample()
        meter.sample()
        if time.monotonic() >= slice_end:
            result.idle_bytes_per_s_by_10s.append((pty_proc.bytes - slice_bytes) / 10)
            slice_end, slice_bytes = slice_end + 10, pty_proc.bytes
        if pty_proc.proc.poll() is not None:
            result.error = "exited during the idle window"
            break
    span = time.monotonic() - t0
    result.idle_seconds = round(span, 2)
    result.idle_cpu_s_per_min = window.cpu_seconds() / span * 60
    result.idle_bytes_per_s = (pty_proc.bytes - bytes0) / span
    result.idle_bursts_per_s = (pty_proc.bursts - bursts0) / span
    result.idle_end_screen = pty_proc.screen.text()
    rss_end = status_kib(pty_proc.proc.pid, "VmRSS")
    result.rss_end_main_mib = rss_end / 1024 if rss_end is not None else None


@contextlib.contextmanager
def varying_power(enabled: bool, rail: str = "VDD_GPU_SOC", period: float = 7.0) -> Iterator[None]:
    """While the block runs, a background thread swings one emulated rail's current (800..1600 mA).

    The emulator's readings are otherwise constant, so a full sparkline would never change; a real
    board's power never stands still.  The GPU load (the start-up marker) is left alone.
    """
    if not enabled:
        yield
        return
    from tests.realparts.jetson_emulator import RAILS, rail_current_path

    path = rail_current_path(rail)
    stop = threading.Event()

    def swing() -> None:
        t0 = time.monotonic()
        while not stop.wait(0.25):
            phase = (time.monotonic() - t0) / period * 2 * math.pi
            write_atomic(path, str(round(1200 + 400 * math.sin(phase))))

    thread = threading.Thread(target=swing, name="vary-power", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        write_atomic(path, str(RAILS[rail][1]))


def write_atomic(path: Path, text: str) -> None:
    """Replace a file whole, so the service never reads it half-written."""
    tmp = path.with_name(path.name + ".bench")
    with contextlib.suppress(OSError):
        tmp.write_text(text)
        os.replace(tmp, path)


# ---- the emulated jtop service ------------------------------------------------------------------------------


def emulator_host_problem() -> str | None:
    """Why the emulated jtop service cannot run here (not root, or a jtop service holds the socket), else None."""
    if os.geteuid() != 0:
        return "needs root (the emulated jtop service writes /fake_sys and /run/jtop.sock)"
    from tests.realparts.jetson_emulator import service_running

    if service_running():
        return (
            "a jtop service already listens on /run/jtop.sock; this benchmark runs its own emulated service and "
            "will not measure against another. Stop it first (sudo systemctl stop jtop.service, or end the "
            "emulator that holds the socket)."
        )
    return None


@contextlib.contextmanager
def emulated_service(log_path: Path, timeout: float = 60.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``tests.realparts.jetson_emulator serve`` until the block ends; SIGTERM, then SIGKILL."""
    from tests.realparts.jetson_emulator import spawn

    with log_path.open("wb") as log:
        proc = spawn(log)
    try:
        deadline = time.monotonic() + timeout
        while b"jtop emulator: ready" not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the jtop emulator did not come up (exit {proc.poll()}):\n{tail}")
            time.sleep(0.1)
        yield proc
    finally:
        with shielded():
            _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # the service's own processes share the group
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of a clean exit


# ---- report -------------------------------------------------------------------------------------------------


def _stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "n": len(values)}


def summarize(runs: list[RunResult], idle: dict[str, RunResult], names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        mine = [r for r in runs if r.program == name]
        idle_run = idle.get(name)
        out[name] = {
            "live_s": _stats([r.live_s for r in mine if r.live_s is not None]),
            "first_paint_s": _stats([r.first_paint_s for r in mine if r.first_paint_s is not None]),
            "exit_s": _stats([r.exit_s for r in mine if r.exit_s is not None]),
            "never_live": sum(r.live_s is None for r in mine),
            "idle": asdict(idle_run) if idle_run else None,
        }
    return out


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(summary: dict[str, Any], idle_window: float, static: bool) -> str:
    a, b = summary["jetconsole"], summary["jtop"]
    floor = summary.get(FLOOR) or {"live_s": None, "first_paint_s": None, "exit_s": None, "idle": None}

    def stat(entry: dict[str, Any], key: str, part: str) -> float | None:
        return entry[key][part] if entry[key] else None

    def idle_value(entry: dict[str, Any], key: str) -> float | None:
        return entry["idle"][key] if entry["idle"] else None

    def last_slice(entry: dict[str, Any]) -> float | None:
        slices = entry["idle"]["idle_bytes_per_s_by_10s"] if entry["idle"] else []
        return slices[-1] if slices else None

    def row(label: str, key: str, digits: int, part: str | None = None) -> tuple[str, list[float | None], int]:
        if part is None:
            return label, [idle_value(e, key) for e in (a, b, floor)], digits
        return label, [stat(e, key, part) for e in (a, b, floor)], digits

    rows = [row(f"start-up to live frame, {part} (s)", "live_s", 3, part) for part in ("min", "median", "max")]
    rows += [
        row("start-up to first paint, median (s)", "first_paint_s", 3, "median"),
        row("quit after 'q', median (s)", "exit_s", 3, "median"),
        row("idle CPU (CPU-s per minute)", "idle_cpu_s_per_min", 2),
        row("peak RSS, main process (MiB)", "peak_rss_main_mib", 1),
        row("peak RSS, process tree (MiB)", "peak_rss_tree_mib", 1),
        row("idle terminal output (bytes/s)", "idle_bytes_per_s", 0),
        ("  … its last 10 s (bytes/s)", [last_slice(a), last_slice(b), last_slice(floor)], 0),
        row("idle terminal writes (bursts/s)", "idle_bursts_per_s", 1),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'':{width}}  {'jetconsole':>10}  {'jtop':>10}  {'ratio':>7}  {FLOOR:>12}", "-" * (width + 49)]
    for label, (x, y, z), digits in rows:
        ratio = f"{x / y:.2f}x" if x is not None and y else "n/a"
        lines.append(
            f"{label:{width}}  {_fmt(x, digits):>10}  {_fmt(y, digits):>10}  {ratio:>7}  {_fmt(z, digits):>12}"
        )
    runs = max(a["live_s"]["n"] if a["live_s"] else 0, b["live_s"]["n"] if b["live_s"] else 0)
    readings = "constant readings" if static else "one power rail swinging"
    lines.append(
        f"({runs} start-ups each, alternating; idle window {idle_window:.0f} s at 1 s refresh, "
        f"{readings}; ratio = jetconsole / jtop; {FLOOR}: the floor, bare_textual.py started the same way)"
    )
    for name, entry in summary.items():
        if entry["never_live"]:
            lines.append(f"!! {name}: {entry['never_live']} run(s) never showed a live frame")
    return "\n".join(lines)


# ---- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed start-ups per program (default 5)")
    parser.add_argument("--seconds", type=float, default=60.0, help="idle window per program (default 60)")
    parser.add_argument(
        "--settle",
        type=float,
        default=3.0,
        help="seconds after the first live frame before the idle window opens (default 3)",
    )
    parser.add_argument(
        "--gap",
        type=float,
        default=4.5,
        help="seconds between starts, so the service has stopped sampling (default 4.5)",
    )
    parser.add_argument(
        "--static",
        action="store_true",
        help="keep every emulated reading constant in the idle window (default: one power rail swings)",
    )
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed first start of each program")
    parser.add_argument("--output", type=Path, help="JSON file (default benchmarks/results/startup_idle-<time>.json)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    compile_bytecode()
    problem = emulator_host_problem()
    if problem:
        print(f"startup_idle: {problem}", file=sys.stderr)
        return 2
    interrupt_on_signals()
    started, load_start = time.time(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="jetconsole-bench-") as tmp:
        config_path = Path(tmp) / "config.toml"
        config_path.write_text("[general]\nrefresh_interval = 1.0\n")
        progs = programs(config_path)
        runs: list[RunResult] = []
        idle: dict[str, RunResult] = {}
        try:
            print("starting the emulated jtop service …", flush=True)
            with emulated_service(Path(tmp) / "emulator.log"), stop_leftovers():
                if not args.no_warmup:
                    for prog in progs:
                        print(f"warm-up: {prog.name}", flush=True)
                        run_once(prog)
                for i in range(args.runs):
                    order = progs if i % 2 == 0 else progs[::-1]
                    for prog in order:
                        time.sleep(args.gap)  # every timed start meets a service that has stopped sampling
                        res = run_once(prog)
                        runs.append(res)
                        print(
                            f"run {i + 1}/{args.runs} {prog.name:<10} live after {_fmt(res.live_s, 3)} s"
                            f"{'  ' + res.error if res.error else ''}",
                            flush=True,
                        )
                for prog in progs:
                    print(f"idle: {prog.name} for {args.settle:.0f}+{args.seconds:.0f} s …", flush=True)
                    idle[prog.name] = run_once(prog, idle=args.seconds, settle=args.settle, vary=not args.static)
        except KeyboardInterrupt:
            print("\ninterrupted: programs and emulator stopped", file=sys.stderr)
            return 130
    summary = summarize(runs, idle, [p.name for p in progs])
    report = {
        **report_header(
            "startup_idle", started, load_start, args, terminal=f"{COLS}x{ROWS} xterm-256color", refresh_s=1.0
        ),
        "commands": {p.name: p.argv for p in progs},
        "summary": summary,
        "runs": [asdict(r) | {"live_screen": None} for r in runs],
    }
    out = save_report(report, args.output)
    print()
    print(table(summary, args.seconds, args.static))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
