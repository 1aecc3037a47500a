"""An emulated Jetson AGX Orin for the real jtop service (jetson-stats 7.2.2).

jetson-stats tests itself this way: with ``JTOP_TESTING=1`` its service reads a fake
sysfs tree under ``/fake_sys`` instead of ``/sys``.  This module writes that tree
(CPU, iGPU, EMC, fan, INA3221 power rails), puts a fake ``nvpmodel`` on the service's
PATH, and hosts the real ``JtopServer`` in this process.  It is used by the test suite
and by ``benchmarks/``; it never runs where a jtop service already listens.

    python -m tests.realparts.jetson_emulator serve     # until SIGTERM
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from pathlib import Path

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
NVPMODEL = """#!/bin/sh
# fake nvpmodel for the emulated Orin: modes of AGX Orin 64GB
case "$1" in
  -q) printf 'NV Power Mode: MAXN\\n0\\n' ;;
  -p) printf 'POWER_MODEL: ID=0 NAME=MAXN\\nPOWER_MODEL: ID=1 NAME=MODE_15W\\n'
      printf 'POWER_MODEL: ID=2 NAME=MODE_30W\\nPOWER_MODEL: ID=3 NAME=MODE_50W\\n'
      printf 'PM_CONFIG: DEFAULT=MODE_30W(2)\\n' ;;
  *) exit 0 ;;
esac
"""


def _write(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value)


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
    for name, value in {"cur_freq": "816000000", "max_freq": "1300500000", "min_freq": "306000000",
                        "governor": "nvhost_podgov"}.items():
        _write(gpu_dir / name, value)
    for name, value in {"railgate_enable": "0", "tpc_pg_mask": "0", "enable_3d_scaling": "1",
                        "load": str(gpu_load)}.items():
        _write(gpu_dir / "device" / name, value)
    link = root / "class/devfreq" / GPU_NAME
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(gpu_dir)
    emc = root / "kernel/debug/bpmp/debug/clk/emc"
    for name, value in {"rate": "3199000000", "max_rate": "3199000000", "min_rate": "204000000",
                        "mrq_rate_locked": "3199000000"}.items():
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
    _write(root / "kernel/debug/nvmap/iovmm/maps", "\n".join(lines) + "\n")


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


def serve(gpu_load: int = 900) -> None:
    """Write the tree, start the real JtopServer here, run until SIGTERM, clean up."""
    if service_running():
        sys.exit("a jtop service already listens on /run/jtop.sock: refusing to emulate over it")
    if JTOP_SOCKET.exists():  # stale socket of a dead emulator
        JTOP_SOCKET.unlink()
    ensure_group()
    write_tree(gpu_load=gpu_load)
    bindir = Path(tempfile.mkdtemp(prefix="jtop-emu-bin-"))
    (bindir / "nvpmodel").write_text(NVPMODEL)
    (bindir / "nvpmodel").chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    os.environ["PATH"] = f"{bindir}:{os.environ.get('PATH', '')}"
    os.environ["JTOP_TESTING"] = "1"
    import jtop.service

    jtop.service.get_hardware = lambda: dict(BOARD)
    server = jtop.service.JtopServer()
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.start()
    ticking = threading.Event()
    threading.Thread(target=tick_cpu, args=(ticking,), daemon=True).start()
    print("jtop emulator: ready", flush=True)
    try:
        while not stopping and server.is_alive():
            time.sleep(0.2)
    finally:
        ticking.set()
        server.close()
        server.config_clear()
        shutil.rmtree(bindir, ignore_errors=True)
        shutil.rmtree(FAKE_ROOT, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["serve", "write-tree"])
    parser.add_argument("--gpu-load", type=int, default=900, help="per mille, 900 = 90%%")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.gpu_load)
    else:
        write_tree(gpu_load=args.gpu_load)


if __name__ == "__main__":
    main()
