"""Telemetry as plain text (pure): sizes, percentages, bars, sparklines; shared by the UI, snapshot and HUD."""

from __future__ import annotations

from console.telemetry.history import hottest_c, power_total
from console.telemetry.model import Gpu, Memory, TelemetrySnapshot

NA = "n/a"
BLOCKS = " ▏▎▍▌▋▊▉█"
ASCII_SPARKS = "_.,-=+*#"
_ascii = False  # the terminal cannot show block characters (TERM=linux): bars and sparklines in ASCII


def use_ascii(on: bool) -> None:
    """Draw bars and sparklines with ASCII from now on (set once at start from the terminal's abilities)."""
    global _ascii
    _ascii = on


def gib(n: int | None, digits: int = 1) -> str:
    return NA if n is None else f"{n / 2**30:.{digits}f}"


def size(n: int | None) -> str:
    """Bytes in the largest unit that keeps 3 significant digits."""
    if n is None:
        return NA
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


def pct(v: float | None) -> str:
    return NA if v is None else f"{v:.0f}%"


def mhz(v: float | None) -> str:
    if v is None:
        return NA
    return f"{v / 1000:.2f} GHz" if v >= 1000 else f"{v:.0f} MHz"


def watts(v: float | None) -> str:
    return NA if v is None else f"{v:.1f} W"


def celsius(v: float | None) -> str:
    return NA if v is None else f"{v:.0f}°C"


def bar(value: float | None, width: int, top: float = 100.0) -> str:
    """A horizontal bar of ``width`` cells using eighth blocks (readable without colour)."""
    empty = "." if _ascii else "·"
    if value is None or width <= 0:
        return empty * max(width, 0)
    eighths = round(max(0.0, min(value, top)) / top * width * 8)
    full, rest = divmod(eighths, 8)
    if _ascii:
        return ("#" * round(eighths / 8)).ljust(width, empty)
    text = "█" * full + (BLOCKS[rest] if rest else "")
    return text.ljust(width, empty)


def duration(seconds: float | None, with_seconds: bool = True) -> str:
    """``1:02:05``, ``1d 1:01``; without seconds ``1:02`` (changes once a minute)."""
    if seconds is None:
        return NA
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}:{minutes:02d}"
    return f"{hours}:{minutes:02d}:{s:02d}" if with_seconds else f"{hours}:{minutes:02d}"


def uptime(seconds: float | None) -> str:
    """How long something has been up, unambiguous: ``58s``, ``12m``, ``3h 04m``, ``2d 5h``."""
    if seconds is None:
        return NA
    s = max(0, int(seconds))
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m" if minutes else f"{s}s"


def memory_text(m: Memory | None) -> str:
    if m is None:
        return NA
    parts = [f"{gib(m.used)}/{gib(m.total)} GiB"]
    if m.cached is not None:
        parts.append(f"cache {gib(m.cached)}")
    if m.gpu_shared is not None:
        parts.append(f"GPU {gib(m.gpu_shared)}")
    return " ".join(parts)


def swap_text(m: Memory | None) -> str:
    if m is None:
        return NA
    if not m.swap_total:
        return "none"
    return f"{gib(m.swap_used)}/{gib(m.swap_total)} GiB"


def gpu_memory_text(g: Gpu) -> str:
    """GPU memory, truthful on unified parts where the driver reports no number."""
    if g.mem_total is not None:
        return f"{gib(g.mem_used)}/{gib(g.mem_total)} GiB"
    return "unified (see RAM)" if g.unified else NA


def summary_line(s: TelemetrySnapshot | None) -> str:
    """One line for small screens and the 80x24 collapsed panel."""
    if s is None:
        return "waiting for the first sample…"
    parts = [f"CPU {pct(s.cpu.load if s.cpu else None)}"]
    if s.gpus:
        parts.append(f"GPU {pct(s.gpus[0].load)}")
    if s.memory:
        parts.append(f"RAM {gib(s.memory.used)}/{gib(s.memory.total)}G")
    total = power_total(s)
    if total is not None:
        parts.append(f"PWR {watts(total)}")
    hot = hottest_c(s)
    if hot is not None:
        parts.append(celsius(hot))
    if s.power_mode:
        parts.append(s.power_mode.name)
    return "  ".join(parts)


def board_line(s: TelemetrySnapshot) -> str:
    b = s.board
    parts: list[str] = []
    if b:
        parts.append(b.model or b.hostname or "this machine")
        for label, value in (("L4T", b.l4t), ("JetPack", b.jetpack), ("CUDA", b.cuda), ("driver", b.driver)):
            if value:
                parts.append(f"{label} {value}")
    if s.power_mode:
        parts.append(f"mode {s.power_mode.name}")
    if s.jetson_clocks is not None:
        parts.append(f"jetson_clocks {'on' if s.jetson_clocks else 'off'}")
    if s.uptime_s is not None:
        parts.append(f"up {uptime(s.uptime_s)}")  # per-second only in the first minute
    return " · ".join(parts) if parts else "this machine"


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int, lo: float | None = 0.0, hi: float | None = None) -> str:
    """The last ``width`` values as block characters, right-aligned.

    ``lo``/``hi`` fix the scale (0-100 for percentages); ``None`` scales to the data.
    """
    if width <= 0:
        return ""
    tail = values[-width:]
    if not tail:
        return " " * width
    low = min(tail) if lo is None else lo
    high = max(tail) if hi is None else hi
    if high <= low:
        high = low + 1.0
    ramp = ASCII_SPARKS if _ascii else SPARKS
    steps = len(ramp) - 1
    chars = [ramp[round((min(max(v, low), high) - low) / (high - low) * steps)] for v in tail]
    return "".join(chars).rjust(width)
