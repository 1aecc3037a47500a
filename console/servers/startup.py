"""Startup tracker: a vLLM or SGLang server's log turned into phases and a progress bar.

Pure: feed it log lines (with their arrival time) and, separately, the result of each
``/health`` probe.  It never says Ready from the log alone: "Application startup complete"
(or SGLang's "fired up") only means the API is up; Ready needs ``/health`` 200.
Regexes are the exact lines of vLLM 0.10-0.32 and SGLang 0.5 (shared/reference/domain.md
§1, §3.2); ANSI colour is stripped first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from console.runtime.sanitise import strip_ansi


@dataclass(frozen=True)
class Phase:
    key: str
    title: str
    weight: float  # share of a typical start (Thor workshop: load ~35 s, compile ~45 s, graphs ~21 s)


PHASES: tuple[Phase, ...] = (
    Phase("start", "Starting server", 0.02),
    Phase("resolve", "Resolving model", 0.03),
    Phase("engine", "Starting engine", 0.05),
    Phase("load", "Loading weights", 0.30),
    Phase("compile", "torch.compile", 0.30),
    Phase("kv", "Sizing KV cache", 0.05),
    Phase("graphs", "Capturing CUDA graphs", 0.15),
    Phase("api", "Starting API server", 0.05),
    Phase("health", "Waiting for /health", 0.05),
    Phase("ready", "Ready", 0.0),
)
ORDER = {p.key: i for i, p in enumerate(PHASES)}
TITLES = {p.key: p.title for p in PHASES}

# (phase it proves, detail key or None, regex).  All listed forms of each version.
RULES: tuple[tuple[str, str | None, re.Pattern[str]], ...] = tuple(
    (phase, detail, re.compile(rx))
    for phase, detail, rx in (
        ("start", "version", r"vLLM (?:API )?server version (\S+)"),
        ("start", "version", r"█\s+version\s+(\S+)"),
        ("start", "args", r"non-default args: (\{.*\})"),
        ("resolve", "architecture", r"Resolved architecture: (\w+)"),
        ("resolve", "max_model_len", r"Using max model len (\d+)"),
        ("engine", "engine_version", r"Initializing a V1 LLM engine \(v([^)]+)\) with config:"),
        ("engine", "world_size", r"world_size=(\d+) rank=(\d+) local_rank=(\d+)"),
        ("load", "model", r"Starting to load model (.+?)\.\.\."),
        ("load", "attention", r"Using (\S+) attention backend out of potential backends"),
        ("load", "attention", r"Using (.+) backend on V1 engine"),
        ("load", "shards", r"Loading safetensors checkpoint shards:\s+(\d+)% Completed \| (\d+)/(\d+)"),
        ("load", "weights_s", r"Loading weights took ([\d.]+) seconds"),
        ("load", "model_gib", r"Model loading took ([\d.]+) GiB(?: memory)? and ([\d.]+) seconds"),
        ("load", "weights_s", r"Load weight end\. elapsed=([\d.]+)"),  # SGLang
        ("compile", "compile_cache", r"Using cache directory: (.+) for vLLM's torch\.compile"),
        ("compile", "dynamo_s", r"Dynamo bytecode transform time: ([\d.]+) s"),
        ("compile", None, r"Compiling a graph for (?:dynamic shape|shape \S+|compile range \S+) takes ([\d.]+) s"),
        ("compile", None, r"Directly load the compiled graph\(s\) for .* took ([\d.]+) s"),
        ("compile", None, r"Starting torch\.compile"),
        ("compile", "compile_s", r"torch\.compile (?:takes|took) ([\d.]+) s in total"),
        ("compile", None, r"Initial profiling/warmup run took ([\d.]+) s"),
        ("kv", "kv_gib", r"Available KV cache memory: ([\d.]+) GiB"),
        ("kv", "kv_tokens", r"(?:(?:GPU|CPU)(?: \+ host)? )?KV cache size: ([\d,]+) tokens"),
        ("kv", "concurrency", r"Maximum concurrency for ([\d,]+) tokens per request: ([\d.]+)x"),
        ("kv", "kv_gib", r"Memory pool end\. avail mem=([\d.]+) GB"),  # SGLang
        ("graphs", "graphs_pct", r"Capturing CUDA graphs? (?:shapes)?.*?(\d+)%"),
        ("graphs", "graphs_s", r"Graph capturing finished in (\d+) secs, took ([\d.]+) GiB"),
        ("graphs", "graphs_s", r"Capture (?:\S+ )?cuda graph end\. elapsed=([\d.]+)"),  # SGLang
        ("api", "init_s", r"init engine \(profile, create kv cache, warmup model\) took ([\d.]+) s"),
        ("api", "tasks", r"Supported_?tasks: (.*)"),
        ("api", "tasks", r"Supported tasks: (.*)"),
        ("api", "url", r"Starting vLLM (?:API )?server(?: \d+)? on (\S+)"),
        ("api", None, r"Available routes are:"),
        ("health", None, r"Application startup complete\."),
        ("health", None, r"The server is fired up and ready to roll!"),  # SGLang
    )
)


@dataclass(frozen=True)
class StartupState:
    """Where a server's start stands; frozen, so views and tests hold a stable copy."""

    phase: str = "start"
    started_at: float | None = None
    phase_started: dict[str, float] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    shard_fraction: float | None = None
    graph_fraction: float | None = None
    ready_at: float | None = None
    last_line: str = ""

    @property
    def title(self) -> str:
        return TITLES[self.phase]

    @property
    def ready(self) -> bool:
        return self.phase == "ready"

    @property
    def progress(self) -> float:
        """0..1: the weights of finished phases plus the known part of the current one."""
        if self.ready:
            return 1.0
        done = sum(p.weight for p in PHASES[: ORDER[self.phase]])
        inner = {"load": self.shard_fraction, "graphs": self.graph_fraction}.get(self.phase) or 0.0
        return min(0.99, done + PHASES[ORDER[self.phase]].weight * inner)

    def elapsed(self, now: float) -> dict[str, float]:
        """Seconds spent in each phase reached so far (the current one up to ``now``)."""
        reached = sorted(self.phase_started.items(), key=lambda kv: ORDER[kv[0]])
        out = {}
        for i, (key, t0) in enumerate(reached):
            t1 = reached[i + 1][1] if i + 1 < len(reached) else (self.ready_at or now)
            out[key] = max(0.0, t1 - t0)
        return out


def _advance(state: StartupState, phase: str, t: float) -> StartupState:
    """Move forward only: a late line of an earlier phase never moves the bar back."""
    if ORDER[phase] <= ORDER[state.phase] and state.phase_started:
        return state
    started = dict(state.phase_started)
    started.setdefault(phase, t)
    return replace(
        state, phase=phase, phase_started=started, started_at=state.started_at if state.started_at is not None else t
    )


def feed(state: StartupState, line: str, t: float) -> StartupState:
    """Account for one log line that arrived at ``t`` (seconds, any clock)."""
    if state.ready:
        return state
    text = strip_ansi(line).strip()
    if not text:
        return state
    if state.started_at is None:
        state = replace(state, started_at=t, phase_started={"start": t})
    for phase, detail, rx in RULES:
        m = rx.search(text)
        if not m:
            continue
        state = _advance(state, phase, t)
        details = dict(state.details)
        if detail == "shards":
            pct, done, total = (int(g) for g in m.groups())
            details["shards"] = f"{done}/{total}"
            state = replace(state, shard_fraction=done / total if total else pct / 100)
        elif detail == "graphs_pct":
            state = replace(state, graph_fraction=int(m.group(1)) / 100)
        elif detail is not None:
            details[detail] = m.group(1) if m.lastindex == 1 else " ".join(m.groups())
        state = replace(state, details=details, last_line=text[-200:])
        break
    return state


def health_ok(state: StartupState, t: float) -> StartupState:
    """``/health`` answered 200: Ready (even if the log never said so, e.g. logs cut)."""
    if state.ready:
        return state
    started = dict(state.phase_started)
    started.setdefault("ready", t)
    return replace(
        state,
        phase="ready",
        ready_at=t,
        phase_started=started,
        started_at=state.started_at if state.started_at is not None else t,
    )


def track(lines: list[tuple[float, str]]) -> StartupState:
    """Feed many (time, line) pairs; convenient for tests and replays."""
    state = StartupState()
    for t, line in lines:
        state = feed(state, line, t)
    return state
