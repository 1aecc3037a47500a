"""Idle cost of the HUD next to the dashboard and jtop's own curses UI, side by side in one run.

The three run at the same time, each in its own 120x40 pseudo-terminal (TERM=xterm-256color),
against one emulated jtop service (``tests.realparts.jetson_emulator``, readings every 1 s, one
power rail swinging so something changes), with no inference server: the workshop's quiet hour.
After each shows live telemetry and ``--settle`` seconds more, for ``--seconds`` (default an
hour): bytes written to the terminal per minute and CPU seconds per minute of each process tree,
and their ratios.  Figures, not assertions.  Needs root (the emulator writes /fake_sys and
/run/jtop.sock)::

    .venv/bin/python benchmarks/hud_idle.py [--seconds 3600] [--settle 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from ptyrun import (
    ACTIVE,
    COLS,
    ROWS,
    PtyProcess,
    TreeMeter,
    interrupt_on_signals,
    report_header,
    save_report,
    stop_leftovers,
)
from startup_idle import emulated_service, emulator_host_problem, jetconsole_live, jtop_live, varying_power

LIVE_TIMEOUT = 90.0


def hud_live(screen: str) -> bool:
    """The HUD drew its figures (the labels) and the GPU tile has digits under it."""
    return "GEN TOK/S" in screen and "POWER" in screen and "█" in screen


def programs(config: Path) -> dict[str, tuple[list[str], object]]:
    python = sys.executable
    return {
        "hud": ([python, "-m", "console", "--config", str(config), "--hud"], hud_live),
        "dashboard": ([python, "-m", "console", "--config", str(config)], jetconsole_live),
        "jtop": ([str(Path(python).parent / "jtop"), "--refresh", "1000"], jtop_live),
    }


def pump_all(procs: dict[str, PtyProcess], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for p in procs.values():
            p.pump(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3600.0, help="the idle window (default 3600)")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after all are live (default 10)")
    parser.add_argument("--output", type=Path, help="JSON file (default benchmarks/results/hud_idle-<time>.json)")
    args = parser.parse_args(argv)
    problem = emulator_host_problem()
    if problem:
        print(f"hud_idle: {problem}", file=sys.stderr)
        return 2
    interrupt_on_signals()
    started, load_start = time.time(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="jetconsole-hud-bench-") as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(
            f'[general]\nrefresh_interval = 1.0\n[endpoints]\nservers = ["http://127.0.0.1:9/v1"]\n'
            f'[hud]\nhelp_flag_file = "{tmp}/help-flag"\n[doctor]\ninterval = 300\n'
        )
        progs = programs(config)
        figures: dict[str, dict[str, float]] = {}
        try:
            print("starting the emulated jtop service …", flush=True)
            with emulated_service(Path(tmp) / "emulator.log"), stop_leftovers():
                procs = {name: PtyProcess(argv, env={"HOME": tmp}) for name, (argv, _) in progs.items()}
                ACTIVE.extend(procs.values())
                deadline = time.monotonic() + LIVE_TIMEOUT
                waiting = dict(progs)
                while waiting and time.monotonic() < deadline:
                    pump_all(procs, 0.2)
                    for name in [n for n, (_, live) in waiting.items() if live(procs[n].screen.text())]:  # type: ignore[operator]
                        print(f"{name} live after {time.monotonic() - procs[name].started:.1f} s", flush=True)
                        del waiting[name]
                if waiting:
                    print(f"hud_idle: not live within {LIVE_TIMEOUT:.0f} s: {', '.join(waiting)}", file=sys.stderr)
                    return 1
                pump_all(procs, args.settle)
                meters = {n: TreeMeter(p.proc.pid) for n, p in procs.items()}
                for m in meters.values():
                    m.sample(count_new_from_zero=False)
                bytes0 = {n: p.bytes for n, p in procs.items()}
                t0 = time.monotonic()
                print(f"idle window: {args.seconds:.0f} s …", flush=True)
                with varying_power(True):
                    while (left := t0 + args.seconds - time.monotonic()) > 0:
                        pump_all(procs, min(left, 2.0))
                        for m in meters.values():
                            m.sample()
                span = time.monotonic() - t0
                for n, p in procs.items():
                    figures[n] = {
                        "bytes_per_min": (p.bytes - bytes0[n]) / span * 60,
                        "cpu_s_per_min": meters[n].cpu_seconds() / span * 60,
                    }
                hud_screen = procs["hud"].screen.text()
                for p in procs.values():
                    p.stop()
        except KeyboardInterrupt:
            print("\ninterrupted: programs and emulator stopped", file=sys.stderr)
            return 130
    base = figures["jtop"]
    report = {
        **report_header("hud_idle", started, load_start, args, terminal=f"{COLS}x{ROWS} xterm-256color", refresh_s=1.0),
        "figures": figures,
        "ratios_to_jtop": {
            n: {k: (v / base[k] if base[k] else None) for k, v in f.items()} for n, f in figures.items()
        },
        "hud_screen_at_end": hud_screen,
    }
    out = save_report(report, args.output)
    print(f"\n{'program':<10} {'bytes/min':>12} {'CPU s/min':>10} {'bytes vs jtop':>14} {'CPU vs jtop':>12}")
    for n, f in figures.items():
        r = report["ratios_to_jtop"][n]  # type: ignore[index]
        print(
            f"{n:<10} {f['bytes_per_min']:>12,.0f} {f['cpu_s_per_min']:>10.2f} "
            f"{r['bytes_per_min'] or 0:>13.2f}x {r['cpu_s_per_min'] or 0:>11.2f}x"
        )
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
