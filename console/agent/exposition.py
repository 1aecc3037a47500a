"""``/metrics``: the agent's state in Prometheus' text exposition, written by prometheus_client.

A pure view of ``ConsoleState``: one collect builds the metric families of one state, so a scrape never
sees half an update.  Names follow Prometheus' conventions (base units: ratios 0-1, bytes, hertz,
seconds, watts, celsius; a ``_info`` or one-hot series for text).  Label values came from the device and
its containers, cleaned where they entered the state; prometheus_client escapes them.  Nothing here
reads a command line, a label or an environment, so no credential can reach a scraper.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from console.agent.document import servers
from console.hud.view import DOWN, ERROR, READY, STARTING
from console.runtime.sanitise import clean, clean_mapping
from console.runtime.state import ConsoleState
from console.telemetry.model import TelemetrySnapshot

PREFIX = "jetconsole_"
PHASES = (READY, STARTING, ERROR, DOWN)
CHECK_STATES = ("ok", "warn", "fail", "skip")
MHZ = 1e6


def exposition(state: ConsoleState, agent: dict[str, str]) -> bytes:
    """The text a scraper reads for ``state``; ``agent`` (its version) goes into ``jetconsole_agent_info``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(state, agent))
    return generate_latest(registry)


class _Families(Collector):
    def __init__(self, state: ConsoleState, agent: dict[str, str]) -> None:
        self.state, self.agent = state, agent

    def collect(self) -> Iterable[Metric]:
        yield from families(self.state, self.agent)


def gauge(name: str, doc: str, labels: tuple[str, ...] = (), unit: str = "") -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, labels=list(labels), unit=unit)


def families(state: ConsoleState, agent: dict[str, str]) -> Iterator[Metric]:
    """Every metric family of ``state``; a figure the device does not give has no sample (never a 0)."""
    yield InfoMetricFamily(PREFIX + "agent", "The agent serving these metrics.", value=clean_mapping(agent))
    yield from telemetry_families(state)
    flag = gauge("help_flag", "1 while the workshop help flag is raised on this device.")
    _add(flag, [], 1.0 if state.hud.help_flag else 0.0)
    yield flag
    since = gauge("help_flag_raised_timestamp_seconds", "When the help flag was raised (Unix time).")
    if state.hud.help_flag and state.hud.help_since is not None:
        _add(since, [], state.hud.help_since)
    yield since
    yield from container_families(state)
    yield from server_families(state)
    yield from doctor_families(state)


def telemetry_families(state: ConsoleState) -> Iterator[Metric]:
    telemetry = state.telemetry
    up = gauge("telemetry_source_up", "1 when the telemetry source is in use.", ("source",))
    for status in telemetry.statuses():
        _add(up, [status.name], 1.0 if status.active else 0.0)
    yield up
    s = telemetry.merged
    if s is None:
        return
    yield _device_info(s)
    yield _one("cpu_utilization_ratio", "CPU load, all cores.", _ratio(s.cpu.load if s.cpu else None))
    cores = gauge("cpu_core_utilization_ratio", "CPU load of one core.", ("core",))
    for core in s.cpu.cores if s.cpu else ():
        _add(cores, [str(core.index)], _ratio(core.load))
    yield cores
    yield from gpu_families(s)
    m = s.memory
    for name, doc, value in (
        ("memory_total_bytes", "RAM.", m.total if m else None),
        ("memory_used_bytes", "RAM in use.", m.used if m else None),
        ("memory_available_bytes", "RAM available.", m.available if m else None),
        ("memory_gpu_shared_bytes", "RAM the GPU holds (Jetson NvMap).", m.gpu_shared if m else None),
        ("swap_total_bytes", "Swap.", m.swap_total if m else None),
        ("swap_used_bytes", "Swap in use.", m.swap_used if m else None),
    ):
        yield _one(name, doc, value)
    yield _one(
        "emc_utilization_ratio", "External memory controller load (Jetson).", _ratio(s.emc.load if s.emc else None)
    )
    temps = gauge("temperature_celsius", "A thermal sensor.", ("sensor",))
    for name, t in zip(unique(t.name for t in s.temps), s.temps, strict=True):
        _add(temps, [name], t.celsius)
    yield temps
    rails = gauge("power_rail_watts", "Power of one rail.", ("rail",))
    power_rails = s.power.rails if s.power else ()
    for name, rail in zip(unique(r.name for r in power_rails), power_rails, strict=True):
        _add(rails, [name], rail.watts)
    yield rails
    yield _one(
        "power_watts",
        "Board power (the total rail, or the sum the source gives).",
        s.power.total_w if s.power else None,
    )
    fans = gauge("fan_speed_ratio", "Fan speed.", ("fan",))
    for name, fan in zip(unique(f.name for f in s.fans), s.fans, strict=True):
        _add(fans, [name], _ratio(fan.speed_pct))
    yield fans
    yield _one("uptime_seconds", "Time since the device booted.", s.uptime_s)


def gpu_families(s: TelemetrySnapshot) -> Iterator[Metric]:
    rows = (
        ("gpu_utilization_ratio", "GPU load.", lambda g: _ratio(g.load)),
        ("gpu_frequency_hertz", "GPU clock.", lambda g: g.freq_mhz * MHZ if g.freq_mhz is not None else None),
        ("gpu_memory_used_bytes", "GPU memory in use (not given for unified memory: see RAM).", lambda g: g.mem_used),
        ("gpu_memory_total_bytes", "GPU memory (not given for unified memory: see RAM).", lambda g: g.mem_total),
        ("gpu_memory_unified", "1 when the GPU's memory is the system RAM (Jetson, GB10).", lambda g: float(g.unified)),
        ("gpu_temperature_celsius", "GPU temperature.", lambda g: g.temp_c),
        ("gpu_power_watts", "GPU power.", lambda g: g.power_w),
    )
    for name, doc, read in rows:
        family = gauge(name, doc, ("gpu",))
        for index, g in enumerate(s.gpus):
            _add(family, [f"{index}:{g.name}"], read(g))
        yield family


def container_families(state: ConsoleState) -> Iterator[Metric]:
    info = InfoMetricFamily(PREFIX + "container", "A container on this device's Docker.", labels=["container"])
    running = gauge("container_running", "1 while the container runs.", ("container",))
    cpu = gauge("container_cpu_ratio", "CPU the container uses (1 = one core).", ("container",))
    memory = gauge("container_memory_used_bytes", "Memory the container uses.", ("container",))
    for c in state.docker.containers:
        info.add_metric([clean(c.name)], clean_mapping({"image": c.image, "state": c.state, "health": c.health or ""}))
        _add(running, [c.name], 1.0 if c.running else 0.0)
        stats = state.docker.stats.get(c.id)
        if stats is not None:
            _add(cpu, [c.name], _ratio(stats.cpu_pct))
            _add(memory, [c.name], stats.mem_used)
    yield from (info, running, cpu, memory)


def server_families(state: ConsoleState) -> Iterator[Metric]:
    labels = ("server",)
    phase = gauge(
        "server_phase",
        "1 for the server's phase (READY, STARTING, ERROR, DOWN), 0 for the others.",
        ("server", "phase"),
    )
    info = InfoMetricFamily(PREFIX + "server", "An inference server: its model and container.", labels=list(labels))
    ready = gauge("server_ready", "1 when /health answers 200.", labels)
    progress = gauge("server_startup_progress_ratio", "How far the start-up has come.", labels)
    figures: list[tuple[GaugeMetricFamily, str, Any]] = [
        (gauge("server_requests_running", "Requests running.", labels), "running", None),
        (gauge("server_requests_waiting", "Requests waiting.", labels), "waiting", None),
        (gauge("server_kv_cache_usage_ratio", "KV cache in use.", labels), "kv_usage", None),
        (gauge("server_prompt_tokens_per_second", "Prompt tokens read per second.", labels), "prompt_tps", None),
        (gauge("server_generation_tokens_per_second", "Tokens generated per second.", labels), "gen_tps", None),
    ]
    ttft = gauge("server_time_to_first_token_seconds", "Time to first token, recent requests.", ("server", "quantile"))
    itl = gauge("server_inter_token_latency_seconds", "Time between tokens, recent requests.", ("server", "quantile"))
    for row in servers(state):
        name = row["name"]
        for p in PHASES:
            _add(phase, [name, p], 1.0 if row["phase"] == p else 0.0)
        info.add_metric([clean(name)], clean_mapping({key: row[key] or "" for key in ("model", "container", "url")}))
        _add(ready, [name], 1.0 if row["ready"] else 0.0)
        _add(progress, [name], row["startup_progress"])
        for family, key, _ in figures:
            _add(family, [name], row[key])
        for family, key in ((ttft, "ttft"), (itl, "itl")):
            _add(family, [name, "0.5"], row[f"{key}_p50"])
            _add(family, [name, "0.95"], row[f"{key}_p95"])
    yield from (phase, info, ready, progress, *(f for f, _, _ in figures), ttft, itl)


def doctor_families(state: ConsoleState) -> Iterator[Metric]:
    checks = gauge(
        "doctor_check", "1 for the check's state (ok, warn, fail, skip), 0 for the others.", ("check", "state")
    )
    for c in state.doctor.checks:
        for word in CHECK_STATES:
            _add(checks, [c.id, word], 1.0 if c.status == word else 0.0)
    yield checks


def _device_info(s: TelemetrySnapshot) -> InfoMetricFamily:
    b = s.board
    values = {
        "model": (b.model if b else None) or "",
        "module": (b.module if b else None) or "",
        "l4t": (b.l4t if b else None) or "",
        "jetpack": (b.jetpack if b else None) or "",
        "cuda": (b.cuda if b else None) or "",
        "driver": (b.driver if b else None) or "",
        "power_mode": s.power_mode.name if s.power_mode else "",
    }
    return InfoMetricFamily(PREFIX + "device", "The board and its software.", value=clean_mapping(values))


def unique(names: Iterable[str]) -> list[str]:
    """Label values that are unique: a second ``acpitz`` becomes ``acpitz#2`` (a series given twice is dropped
    by Prometheus with a warning)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def _one(name: str, doc: str, value: float | int | None) -> GaugeMetricFamily:
    family = gauge(name, doc)
    _add(family, [], value)
    return family


def _add(family: GaugeMetricFamily, labels: list[str], value: float | int | None) -> None:
    """A sample, unless the device gave no figure; label values as one-line text (cleaned at the state's
    entry already: this keeps a control character out even of a value that came another way)."""
    if value is not None and math.isfinite(value):
        family.add_metric([clean(label) for label in labels], float(value))


def _ratio(pct: float | None) -> float | None:
    return pct / 100.0 if pct is not None else None
