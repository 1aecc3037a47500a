"""The agent's own cost at a 1 Hz scrape, next to the dashboard's and jtop's UI, in one run (issue 16).

All three run at the same time against one emulated jtop service (``tests.realparts.jetson_emulator``,
readings every 1 s, one power rail swinging): ``jetconsole agent`` on a loopback port, read every second
at ``/metrics`` and at ``/v1/state`` as a Prometheus and a fleet view would; the dashboard and jtop in
120x40 pseudo-terminals.  After all are live and ``--settle`` seconds more, for ``--seconds``: CPU
seconds per minute and peak RSS of each process tree, and for the agent the bytes each scrape carries
(what a device puts on the wire per second at 1 Hz) and the scrape's time.  Figures, not assertions.
Needs root (the emulator writes /fake_sys and /run/jtop.sock)::

    .venv/bin/python benchmarks/agent_idle.py [--seconds 60] [--settle 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from ptyrun import ACTIVE, PtyProcess, TreeMeter, interrupt_on_signals, report_header, save_report, stop_leftovers
from startup_idle import emulated_service, emulator_host_problem, jetconsole_live, jtop_live, varying_power

from tests.realparts.agents import start_agent

LIVE_TIMEOUT = 90.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window (default 60)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after all are live (default 5)")
    parser.add_argument("--output", type=Path, help="JSON file (default benchmarks/results/agent_idle-<time>.json)")
    args = parser.parse_args(argv)
    problem = emulator_host_problem()
    if problem:
        print(f"agent_idle: {problem}", file=sys.stderr)
        return 2
    interrupt_on_signals()
    started, load_start = time.time(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="jetconsole-agent-bench-") as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(
            f'[general]\nrefresh_interval = 1.0\n[endpoints]\ndocker_host = "unix://{tmp}/no-docker.sock"\n'
            f'[hud]\nhelp_flag_file = "{tmp}/help-flag"\n[doctor]\ninterval = 300\n'
        )
        env = {**os.environ, "HOME": tmp}
        python = sys.executable
        screens = {
            "dashboard": ([python, "-m", "console", "--config", str(config)], jetconsole_live),
            "jtop": ([str(Path(python).parent / "jtop"), "--refresh", "1000"], jtop_live),
        }
        try:
            print("starting the emulated jtop service …", flush=True)
            with emulated_service(Path(tmp) / "emulator.log"), stop_leftovers():
                agent, base = start_agent(config, env=env)
                try:
                    procs = {n: PtyProcess(a, env={"HOME": tmp}) for n, (a, _) in screens.items()}
                    ACTIVE.extend(procs.values())
                    client = httpx.Client(timeout=5)
                    deadline = time.monotonic() + LIVE_TIMEOUT
                    waiting = dict(screens)
                    while time.monotonic() < deadline and (
                        waiting or client.get(base + "/v1/state").json()["telemetry"] is None
                    ):
                        for name, p in procs.items():
                            p.pump(0.1)
                            if name in waiting and waiting[name][1](p.screen.text()):  # type: ignore[operator]
                                del waiting[name]
                    if waiting:
                        print(
                            f"agent_idle: not live within {LIVE_TIMEOUT:.0f} s: {', '.join(waiting)}", file=sys.stderr
                        )
                        return 1
                    end = time.monotonic() + args.settle
                    while time.monotonic() < end:
                        for p in procs.values():
                            p.pump(0.05)
                    meters = {"agent": TreeMeter(agent.pid), **{n: TreeMeter(p.proc.pid) for n, p in procs.items()}}
                    for m in meters.values():
                        m.sample(count_new_from_zero=False)
                    sizes: dict[str, list[int]] = {"/metrics": [], "/v1/state": []}
                    times: list[float] = []
                    print(f"measuring {args.seconds:.0f} s, scraping the agent every second …", flush=True)
                    t0 = time.monotonic()
                    next_scrape = t0
                    with varying_power(True):
                        while (now := time.monotonic()) < t0 + args.seconds:
                            if now >= next_scrape:
                                for path in sizes:
                                    a = time.perf_counter()
                                    body = client.get(base + path).content
                                    times.append(time.perf_counter() - a)
                                    sizes[path].append(len(body))
                                next_scrape += 1.0
                                for m in meters.values():
                                    m.sample()
                            for p in procs.values():
                                p.pump(0.02)
                    span = time.monotonic() - t0
                    figures = {
                        n: {
                            "cpu_s_per_min": m.cpu_seconds() / span * 60,
                            "peak_rss_mib": sum(m.hwm.values()) / 1024,
                        }
                        for n, m in meters.items()
                    }
                    for p in procs.values():
                        p.stop()
                finally:
                    agent.terminate()
                    agent.wait(10)
        except KeyboardInterrupt:
            print("\ninterrupted: programs and emulator stopped", file=sys.stderr)
            return 130
    scrape = {
        "metrics_bytes_median": statistics.median(sizes["/metrics"]),
        "state_bytes_median": statistics.median(sizes["/v1/state"]),
        "scrape_ms_median": statistics.median(times) * 1000,
        "scrape_ms_max": max(times) * 1000,
        "scrapes": len(times),
    }
    report = {
        **report_header("agent_idle", started, load_start, args, refresh_s=1.0, scrape_hz=1.0),
        "figures": figures,
        "scrape": scrape,
    }
    out = save_report(report, args.output)
    dash = figures["dashboard"]
    print(f"\n{'program':<10} {'CPU s/min':>10} {'peak RSS MiB':>13} {'CPU vs dashboard':>17}")
    for n, f in figures.items():
        ratio = f["cpu_s_per_min"] / dash["cpu_s_per_min"] if dash["cpu_s_per_min"] else 0
        print(f"{n:<10} {f['cpu_s_per_min']:>10.2f} {f['peak_rss_mib']:>13.1f} {ratio:>16.2f}x")
    print(
        f"\nper 1 Hz scrape: /metrics {scrape['metrics_bytes_median']:,.0f} B, /v1/state "
        f"{scrape['state_bytes_median']:,.0f} B; time median {scrape['scrape_ms_median']:.1f} ms, "
        f"max {scrape['scrape_ms_max']:.1f} ms ({scrape['scrapes']} requests)"
    )
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
