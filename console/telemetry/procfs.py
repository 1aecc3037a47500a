"""/proc and /sys: CPU, memory, swap, temperatures and fans on any Linux box.

Parsers are pure functions over file text so they are tested on many inputs; the
source reads the files under a root directory (``/`` normally, a fake tree in tests).
Names read from files (thermal zones, hwmon chips and labels, the device-tree model, the
kernel release, governors) and the hostname are cleaned as they are read.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path

from console.runtime.sanitise import clean, clean_opt
from console.telemetry.model import Board, Cpu, CpuCore, Fan, Memory, TelemetrySnapshot, TempSensor
from console.telemetry.source import SourceUnavailable


@dataclass(frozen=True)
class CpuTimes:
    busy: int
    total: int


def parse_proc_stat(text: str) -> dict[str, CpuTimes]:
    """``/proc/stat`` -> {"cpu": total, "cpu0": ..., ...} in jiffies."""
    out: dict[str, CpuTimes] = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            continue
        name, *fields = line.split()
        values = [int(v) for v in fields[:8]]
        values += [0] * (8 - len(values))
        idle = values[3] + values[4]  # idle + iowait
        total = sum(values)
        out[name] = CpuTimes(busy=total - idle, total=total)
    return out


def cpu_load(before: CpuTimes | None, after: CpuTimes) -> float | None:
    """Percent busy between two readings; None without a previous reading."""
    if before is None:
        return None
    dt = after.total - before.total
    if dt <= 0:
        return 0.0
    return max(0.0, min(100.0, 100.0 * (after.busy - before.busy) / dt))


def parse_meminfo(text: str) -> dict[str, int]:
    """``/proc/meminfo`` -> {key: bytes}."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if not parts:
            continue
        try:
            value = int(parts[0])
        except ValueError:
            continue
        out[key.strip()] = value * 1024 if len(parts) > 1 and parts[1] == "kB" else value
    return out


def memory_from_meminfo(info: dict[str, int]) -> Memory:
    """Map meminfo to Memory; ``NvMapMemUsed`` (Orin) is the GPU's share of RAM."""
    total = info.get("MemTotal", 0)
    available = info.get("MemAvailable", info.get("MemFree", 0))
    cached = info.get("Cached", 0) + info.get("SReclaimable", 0)
    swap_total = info.get("SwapTotal", 0)
    return Memory(
        total=total,
        used=max(0, total - available),
        available=available,
        cached=cached,
        buffers=info.get("Buffers"),
        gpu_shared=info.get("NvMapMemUsed"),
        swap_total=swap_total,
        swap_used=max(0, swap_total - info.get("SwapFree", 0)),
        swap_cached=info.get("SwapCached"),
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return None


def _read_name(path: Path) -> str | None:
    """A one-line name from a file (a driver or the device tree chose it), cleaned."""
    return clean_opt(_read(path))


def _read_int(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


class ProcfsSource:
    """CPU, memory, temperatures and fans from /proc and /sys; works on any Linux."""

    name = "procfs"
    paced = False

    def __init__(self, root: str | Path = "/") -> None:
        self.root = Path(root)
        self._prev: dict[str, CpuTimes] = {}
        self._thermal: list[tuple[str, Path]] = []
        self._hwmon_fans: list[tuple[str, Path]] = []
        self._board: Board | None = None

    def open(self) -> None:
        if _read(self.root / "proc/stat") is None:
            raise SourceUnavailable("cannot read /proc/stat", "jetconsole needs Linux /proc")
        self._thermal = self._find_thermal()
        self._hwmon_fans = self._find_fans()
        self._board = self._read_board()
        self._prev = parse_proc_stat(_read(self.root / "proc/stat") or "")

    def _find_thermal(self) -> list[tuple[str, Path]]:
        found: list[tuple[str, Path]] = []
        base = self.root / "sys/class/thermal"
        for zone in sorted(base.glob("thermal_zone*")):
            name = _read_name(zone / "type") or clean(zone.name)
            found.append((name, zone / "temp"))
        for hw in sorted((self.root / "sys/class/hwmon").glob("hwmon*")):
            chip = _read_name(hw / "name") or clean(hw.name)
            for temp in sorted(hw.glob("temp*_input")):
                label = _read_name(hw / temp.name.replace("_input", "_label"))
                found.append((f"{chip} {label}" if label else chip, temp))
        return found

    def _find_fans(self) -> list[tuple[str, Path]]:
        fans = []
        for hw in sorted((self.root / "sys/class/hwmon").glob("hwmon*")):
            for rpm in sorted(hw.glob("fan*_input")):
                fans.append((_read_name(hw / "name") or clean(hw.name), rpm))
        return fans

    def _read_board(self) -> Board:
        model = _read(self.root / "proc/device-tree/model")
        release = _read(self.root / "proc/sys/kernel/osrelease")
        return Board(
            model=clean(model.strip("\x00")) if model else None,
            kernel=clean_opt(release),
            hostname=clean(socket.gethostname()) if self.root == Path("/") else None,
        )

    def _cores(self, now: dict[str, CpuTimes]) -> tuple[CpuCore, ...]:
        cores = []
        names = sorted((n for n in now if n != "cpu"), key=lambda n: int(n[3:]))
        for name in names:
            index = int(name[3:])
            freq_dir = self.root / f"sys/devices/system/cpu/cpu{index}/cpufreq"
            cur = _read_int(freq_dir / "scaling_cur_freq")
            top = _read_int(freq_dir / "cpuinfo_max_freq")
            cores.append(
                CpuCore(
                    index=index,
                    load=cpu_load(self._prev.get(name), now[name]),
                    freq_mhz=cur / 1000 if cur else None,
                    max_freq_mhz=top / 1000 if top else None,
                    governor=_read_name(freq_dir / "scaling_governor"),
                )
            )
        return tuple(cores)

    def sample(self) -> TelemetrySnapshot:
        now = parse_proc_stat(_read(self.root / "proc/stat") or "")
        if "cpu" not in now:
            raise OSError("/proc/stat has no cpu line")
        cpu = Cpu(load=cpu_load(self._prev.get("cpu"), now["cpu"]), cores=self._cores(now))
        self._prev = now
        memory = memory_from_meminfo(parse_meminfo(_read(self.root / "proc/meminfo") or ""))
        temps = []
        for name, path in self._thermal:
            milli = _read_int(path)
            if milli is not None and milli > -40000:
                temps.append(TempSensor(name=name, celsius=milli / 1000))
        fans = tuple(Fan(name=n, rpm=_read_int(p)) for n, p in self._hwmon_fans)
        uptime = _read(self.root / "proc/uptime")
        return TelemetrySnapshot(
            time=time.time(),
            sources=(self.name,),
            cpu=cpu,
            memory=memory,
            temps=tuple(temps),
            fans=fans,
            board=self._board,
            uptime_s=float(uptime.split()[0]) if uptime else None,
        )

    def close(self) -> None:
        self._prev = {}
