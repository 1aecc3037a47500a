"""A fleet refresh against real agents on loopback ports, next to all-smi's published rates (issue 16).

Starts ``--agents`` real ``jetconsole agent`` processes (telemetry from /proc, no Docker, no doctor), each
on its own loopback port, then reads all of them every ``--interval`` seconds for ``--seconds`` the way
the Fleet view does (``console.fleet.poll``: one asyncio round, one connection pool, each device under
its own time limit).  Figures: a round's time (median, p95, max), the viewer's CPU seconds per minute,
bytes on the wire per device per second, and how many answers were good.  With ``--stop N`` the first N
agents are SIGSTOPped first, to show what a dead device adds to the others' round (nothing but its own
timeout, which runs beside them).  With ``--prometheus`` a real Prometheus (Debian's, with
deploy/prometheus/'s config and rules) scrapes the same agents, and the Fleet view's other path is measured
in the same run: one query a round (``console.fleet.prometheus``), its bytes, and Prometheus' own CPU.
Peer: all-smi refreshes every 5 s at 51-100 nodes (its source, ../shared/reference/fleet.md).  Figures,
not assertions::

    .venv/bin/python benchmarks/fleet_refresh.py --agents 60 --interval 1 --seconds 60 [--stop 1] [--prometheus]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from ptyrun import ROOT, report_header, save_report

sys.path.insert(0, str(ROOT))

from console.fleet.hosts import Device
from console.fleet.poll import new_client, read_device
from console.fleet.prometheus import QUERY, instance_of, read_prometheus
from tests.realparts import agents as real_agents
from tests.realparts.prometheus_server import query, running_prometheus, wait_for

ALL_SMI_S = 5.0  # all-smi's refresh at 51-100 nodes


def start_agents(count: int, tmp: Path, refresh: float = 1.0) -> list[tuple[subprocess.Popen[str], str]]:
    config = tmp / "agent.toml"
    config.write_text(
        f'[general]\nrefresh_interval = {refresh}\n[endpoints]\ndocker_host = "unix://{tmp}/none.sock"\nservers = []\n'
        "[doctor]\ninterval = 0\n"
    )
    env = {**os.environ, "JETCONSOLE_HELP_FLAG": str(tmp / "flag")}
    return real_agents.start_agents(count, config, "--source", "procfs", env=env)


async def measure(devices: list[Device], interval: float, seconds: float, timeout: float) -> dict[str, float]:
    rounds: list[float] = []
    latencies: list[float] = []  # of the good answers: what the others wait, whatever a dead one does
    good = bad = 0
    async with new_client(len(devices)) as client:
        # the first round opens the connections; the figures start with the second
        await asyncio.gather(*(read_device(client, d, timeout) for d in devices))
        cpu0, t0 = time.process_time(), time.monotonic()
        while time.monotonic() - t0 < seconds:
            start = time.monotonic()
            answers = await asyncio.gather(*(read_device(client, d, timeout) for d in devices))
            rounds.append(time.monotonic() - start)
            good += sum(a.reading is not None for a in answers)
            latencies += [a.seconds for a in answers if a.reading is not None]
            bad += sum(a.reading is None for a in answers)
            left = interval - (time.monotonic() - start)
            if left > 0:
                await asyncio.sleep(left)
        span = time.monotonic() - t0
    # bytes per answer: one more read of a few, counted (the pool does not count for us)
    sizes = []
    async with httpx.AsyncClient(timeout=timeout) as counter:
        for d in devices[::-1]:  # the stopped ones are first
            with contextlib.suppress(httpx.HTTPError):
                sizes.append(len((await counter.get(d.url + "/v1/state")).content))
            if len(sizes) == 3:
                break
    wire = statistics.median(sizes) if sizes else 0
    return {
        "rounds": len(rounds),
        "round_median_ms": statistics.median(rounds) * 1000,
        "round_p95_ms": sorted(rounds)[max(0, int(len(rounds) * 0.95) - 1)] * 1000,
        "round_max_ms": max(rounds) * 1000,
        "good_answer_median_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "good_answer_p95_ms": sorted(latencies)[max(0, int(len(latencies) * 0.95) - 1)] * 1000 if latencies else 0.0,
        "viewer_cpu_s_per_min": (time.process_time() - cpu0) / span * 60,
        "answer_bytes": wire,
        "bytes_per_device_per_s": wire / interval,
        "good_answers": good,
        "failed_answers": bad,
    }


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU seconds so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure_prometheus(base: str, devices: list[Device], interval: float, seconds: float) -> dict[str, float]:
    """The Fleet view's Prometheus path: one query a round, for every device."""
    rounds: list[float] = []
    good = bad = 0
    timeout = max(0.75, 0.9 * interval)
    async with new_client(1) as client:
        await read_prometheus(client, base, devices, timeout)  # opens the connection
        cpu0, t0 = time.process_time(), time.monotonic()
        while time.monotonic() - t0 < seconds:
            start = time.monotonic()
            got = await read_prometheus(client, base, devices, timeout)
            rounds.append(time.monotonic() - start)
            good += sum(a.reading is not None for a in got.answers)
            bad += sum(a.reading is None for a in got.answers)
            left = interval - (time.monotonic() - start)
            if left > 0:
                await asyncio.sleep(left)
        span = time.monotonic() - t0
        body = (await client.get(base + "/api/v1/query", params={"query": QUERY})).content
    return {
        "rounds": len(rounds),
        "round_median_ms": statistics.median(rounds) * 1000,
        "round_p95_ms": sorted(rounds)[max(0, int(len(rounds) * 0.95) - 1)] * 1000,
        "round_max_ms": max(rounds) * 1000,
        "viewer_cpu_s_per_min": (time.process_time() - cpu0) / span * 60,
        "answer_bytes": len(body),
        "bytes_per_device_per_s": len(body) / len(devices) / interval,
        "good_answers": good,
        "failed_answers": bad,
    }


def through_prometheus(tmp: Path, devices: list[Device], args: argparse.Namespace) -> dict[str, float]:
    """A real Prometheus scraping the agents, read as the Fleet view reads it; its own CPU beside."""
    targets = [{"targets": [instance_of(d)], "labels": {"device": d.name}} for d in devices]
    live = len(devices) - args.stop
    with running_prometheus(tmp / "prometheus", targets) as prometheus:
        print("Prometheus: waiting for the first scrape of every agent …", flush=True)
        wait_for(
            lambda: len(query(prometheus.url, 'jetconsole_memory_total_bytes{job="jetconsole"}')) >= live,
            120,
            "Prometheus' first scrapes",
        )
        cpu0 = cpu_seconds(prometheus.process.pid)
        t0 = time.monotonic()
        figures = asyncio.run(measure_prometheus(prometheus.url, devices, args.interval, args.seconds))
        figures["prometheus_cpu_s_per_min"] = (
            (cpu_seconds(prometheus.process.pid) - cpu0) / (time.monotonic() - t0) * 60
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=60, help="real agent processes (default 60)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between rounds (default 1)")
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window (default 60)")
    parser.add_argument("--timeout", type=float, default=0.75, help="each device's limit (default 0.75 s)")
    parser.add_argument("--stop", type=int, default=0, help="SIGSTOP this many agents first (default 0)")
    parser.add_argument(
        "--agent-refresh", type=float, default=1.0, help="the agents' own refresh interval (default 1 s)"
    )
    parser.add_argument("--prometheus", action="store_true", help="also read them through a real Prometheus")
    parser.add_argument("--output", type=Path, help="JSON file (default benchmarks/results/fleet_refresh-<time>.json)")
    args = parser.parse_args(argv)
    started, load_start = time.time(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="jetconsole-fleet-bench-") as tmp:
        print(f"starting {args.agents} agents …", flush=True)
        agents = start_agents(args.agents, Path(tmp), args.agent_refresh)
        try:
            for proc, _ in agents[: args.stop]:
                os.kill(proc.pid, signal.SIGSTOP)
            devices = [Device(f"dev-{i:03d}", url) for i, (_, url) in enumerate(agents)]
            print(f"reading them every {args.interval:g} s for {args.seconds:.0f} s …", flush=True)
            figures = asyncio.run(measure(devices, args.interval, args.seconds, args.timeout))
            prom = through_prometheus(Path(tmp), devices, args) if args.prometheus else None
        finally:
            for proc, _ in agents:
                os.kill(proc.pid, signal.SIGCONT)
                proc.terminate()
            for proc, _ in agents:
                proc.wait(20)
    report = {**report_header("fleet_refresh", started, load_start, args), "figures": figures, "prometheus": prom}
    out = save_report(report, args.output)
    f = figures
    print(
        f"\n{args.agents} agents ({args.stop} stopped), every {args.interval:g} s: a round takes "
        f"{f['round_median_ms']:.0f} ms median, {f['round_p95_ms']:.0f} ms p95, {f['round_max_ms']:.0f} ms max "
        f"({f['rounds']:.0f} rounds; {f['good_answers']:.0f} good, {f['failed_answers']:.0f} failed answers)"
    )
    print(
        f"a good answer comes {f['good_answer_median_ms']:.0f} ms median, {f['good_answer_p95_ms']:.0f} ms p95 "
        "after the round starts (the Fleet view shows it then)"
    )
    print(
        f"viewer CPU {f['viewer_cpu_s_per_min']:.2f} CPU-s/min; {f['answer_bytes']:,.0f} B an answer, "
        f"{f['bytes_per_device_per_s']:,.0f} B/s a device on the wire"
    )
    print(
        f"refresh: every {args.interval:g} s here, all-smi every {ALL_SMI_S:g} s at 51-100 nodes "
        f"({args.interval / ALL_SMI_S:.2f}x its interval)"
    )
    if prom is not None:
        p = prom
        print(
            f"through Prometheus (one query a round): {p['round_median_ms']:.0f} ms median, "
            f"{p['round_p95_ms']:.0f} ms p95, {p['round_max_ms']:.0f} ms max ({p['rounds']:.0f} rounds; "
            f"{p['good_answers']:.0f} good, {p['failed_answers']:.0f} failed answers); "
            f"{p['round_median_ms'] / f['good_answer_median_ms']:.2f}x the agents' good-answer median"
            if f["good_answer_median_ms"]
            else ""
        )
        print(
            f"viewer CPU {p['viewer_cpu_s_per_min']:.2f} CPU-s/min "
            f"({p['viewer_cpu_s_per_min'] / f['viewer_cpu_s_per_min']:.2f}x "
            f"polling the agents); {p['answer_bytes']:,.0f} B a query, {p['bytes_per_device_per_s']:,.0f} B/s a device "
            f"({p['bytes_per_device_per_s'] / f['bytes_per_device_per_s']:.2f}x); Prometheus itself "
            f"{p['prometheus_cpu_s_per_min']:.2f} CPU-s/min scraping them every second"
        )
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
