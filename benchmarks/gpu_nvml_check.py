"""What NVML reports through jetconsole on this GPU host, for the record.

    python benchmarks/gpu_nvml_check.py [--gib 2] [--backend auto|torch|cuda] [--json-out PATH]

Prints ``python -m console snapshot --json``, then GPU 0's memory before, with and after a
child that holds ``--gib`` GiB (tests/gpu/holder.py), the child's row in the process list,
how long NVML took to list it, and how long the memory took to come back after the kill.
Exits 2 where there is no NVML (no NVIDIA driver), 1 where a check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from console.telemetry.model import TelemetrySnapshot  # noqa: E402
from console.telemetry.nvml_source import NvmlSource  # noqa: E402
from console.telemetry.source import SourceUnavailable  # noqa: E402
from tests.gpu.holder import GIB, Unavailable, start_holder  # noqa: E402

MIB = 1 << 20


def mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / MIB:,.0f} MiB"


def cli_snapshot() -> tuple[dict[str, Any] | None, float]:
    env = {k: v for k, v in os.environ.items() if k != "JETCONSOLE_CONFIG"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "console", "--source", "auto", "snapshot", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    took = time.perf_counter() - t0
    print(f"$ python -m console --source auto snapshot --json   (rc {out.returncode}, {took:.2f} s)")
    print(out.stdout.rstrip())
    if out.stderr.strip():
        print("stderr:", out.stderr.rstrip())
    try:
        return json.loads(out.stdout), took
    except json.JSONDecodeError:
        return None, took


def raw_memory() -> dict[str, Any]:
    """GPU 0's memory as NVML's v1 and v2 calls and nvidia-smi give it, to set beside jetconsole's."""
    import pynvml as nv

    raw: dict[str, Any] = {}
    nv.nvmlInit()
    try:
        h = nv.nvmlDeviceGetHandleByIndex(0)
        v1 = nv.nvmlDeviceGetMemoryInfo(h)
        raw.update(v1_used=v1.used, v1_free=v1.free, v1_total=v1.total)
        try:
            v2 = nv.nvmlDeviceGetMemoryInfo(h, version=nv.nvmlMemory_v2)
            raw.update(v2_used=v2.used, v2_reserved=v2.reserved, v2_free=v2.free, v2_total=v2.total)
        except (nv.NVMLError, AttributeError) as exc:
            raw["v2_error"] = str(exc)
    except nv.NVMLError as exc:
        raw["error"] = str(exc)
    finally:
        nv.nvmlShutdown()
    try:
        smi = subprocess.run(
            [
                "nvidia-smi",
                "-i",
                "0",
                "--query-gpu=memory.used,memory.reserved,memory.total",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        raw["smi_used_reserved_total_mib"] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raw["smi_used_reserved_total_mib"] = f"n/a: {exc}"
    return raw


def raw_line(label: str, raw: dict[str, Any]) -> str:
    return (
        f"{'':<12} raw NVML ({label}): v1 used {mib(raw.get('v1_used'))}, v2 used {mib(raw.get('v2_used'))} "
        f"+ reserved {mib(raw.get('v2_reserved'))}; nvidia-smi used,reserved,total MiB "
        f"{raw.get('smi_used_reserved_total_mib')}"
    )


def gpu0_line(label: str, snap: TelemetrySnapshot) -> str:
    g = snap.gpus[0]
    return (
        f"{label:<12} mem_used {mib(g.mem_used):>12} / {mib(g.mem_total)}  load {g.load}%  "
        f"{g.temp_c} C  {g.power_w} W  {g.freq_mhz}/{g.max_freq_mhz} MHz  processes {len(snap.processes)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--backend", choices=("auto", "torch", "cuda"), default="auto")
    parser.add_argument("--json-out", metavar="PATH", help="also write the figures here")
    parser.add_argument("--skip-cli", action="store_true", help="leave out the `snapshot --json` run")
    args = parser.parse_args(argv)

    result: dict[str, Any] = {"ok": False}
    if not args.skip_cli:
        doc, took = cli_snapshot()
        result["cli_snapshot_s"] = round(took, 3)
        result["cli_sources"] = doc and [s["name"] for s in doc["sources"] if s["active"]]
        print()

    source = NvmlSource()
    try:
        source.open()
    except SourceUnavailable as exc:
        print(f"NVML: {exc} ({exc.hint})")
        return 2
    try:
        before = source.sample()
        g = before.gpus[0]
        board = before.board
        result.update(
            device=g.name,
            gpus=len(before.gpus),
            driver=board and board.driver,
            cuda=board and board.cuda,
            mem_total=g.mem_total,
            unified=g.unified,
            before=g.mem_used,
            idle_processes=[asdict(p) for p in before.processes],
        )
        print(f"device {g.name}  driver {result['driver']}  CUDA {result['cuda']}  GPUs {len(before.gpus)}")
        print(gpu0_line("before", before))
        result["raw_before"] = raw_memory()
        print(raw_line("before", result["raw_before"]))
        if g.mem_used is None:
            print("GPU 0 reports no memory figure (unified memory); the holder check needs a discrete GPU")
            return 0

        t_start = time.monotonic()
        try:
            child, backend = start_holder(args.gib, args.backend)
        except Unavailable as exc:
            print(f"holder unavailable: {exc}")
            return 1
        t_ready = time.monotonic()
        result.update(
            backend=backend, holder_pid=child.pid, holder_gib=args.gib, holder_ready_s=round(t_ready - t_start, 3)
        )
        try:
            entry, snap = None, before
            while time.monotonic() - t_ready < 15:
                snap = source.sample()
                entry = next((p for p in snap.processes if p.pid == child.pid), None)
                if entry and (entry.gpu_mem or 0) >= args.gib * GIB * 0.75:
                    break
                time.sleep(0.1)
            result.update(
                listed_after_ready_s=round(time.monotonic() - t_ready, 3),
                with_holder=snap.gpus[0].mem_used,
                holder_entry=entry and asdict(entry),
                processes_with_holder=[asdict(p) for p in snap.processes],
            )
            print(
                f"holder ({backend}, {args.gib} GiB) pid {child.pid} ready after {t_ready - t_start:.2f} s; "
                f"listed {result['listed_after_ready_s']:.2f} s later"
            )
            print(gpu0_line("with holder", snap))
            result["raw_with_holder"] = raw_memory()
            print(raw_line("with holder", result["raw_with_holder"]))
            print(f"holder row: {entry}")
        finally:
            t_kill = time.monotonic()
            child.kill()
            child.wait(timeout=30)
        t_reaped = time.monotonic()
        pid_gone_s = released_s = None
        while time.monotonic() - t_kill < 15:
            snap = source.sample()
            now = time.monotonic() - t_kill
            if pid_gone_s is None and all(p.pid != child.pid for p in snap.processes):
                pid_gone_s = now
            if released_s is None and (snap.gpus[0].mem_used or 0) <= before.gpus[0].mem_used + 256 * MIB:
                released_s = now
            if pid_gone_s is not None and released_s is not None:
                break
            time.sleep(0.05)
        result.update(
            after=snap.gpus[0].mem_used,
            reap_s=round(t_reaped - t_kill, 3),
            pid_gone_after_kill_s=pid_gone_s and round(pid_gone_s, 3),
            released_after_kill_s=released_s and round(released_s, 3),
        )
        print(gpu0_line("after", snap))
        result["raw_after"] = raw_memory()
        print(raw_line("after", result["raw_after"]))
        print(
            f"kill -> reaped {t_reaped - t_kill:.3f} s; pid gone from NVML after "
            f"{'never' if pid_gone_s is None else f'{pid_gone_s:.3f} s'}; memory back after "
            f"{'never' if released_s is None else f'{released_s:.3f} s'} (polling every 50 ms)"
        )
        ok = (
            entry is not None
            and (entry.gpu_mem or 0) >= 1.5 * GIB
            and pid_gone_s is not None
            and released_s is not None
        )
        result["ok"] = ok
    finally:
        source.close()
        print()
        print("summary " + json.dumps(result, default=str))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
