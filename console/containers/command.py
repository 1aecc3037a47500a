"""Headless twins of the containers screens: ``jetconsole containers`` and ``jetconsole launch``.

No Textual.  Exit codes: 0 ready (or listed / dry run), 3 preflight failed, 4 the server
exited (with the diagnosis), 5 not ready in time, 6 Docker unavailable, 7 bad preset/--set.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import asdict
from typing import TextIO

from console import config as cfg
from console.containers import preflight, presets, view
from console.containers.docker_source import DockerSource, DockerUnavailable
from console.containers.launcher import LaunchEvent, create_and_start, track
from console.servers.startup import ORDER, PHASES

EXIT_PREFLIGHT, EXIT_EXITED, EXIT_TIMEOUT, EXIT_DOCKER, EXIT_PRESET = 3, 4, 5, 6, 7


def _open(config: cfg.Config, err: TextIO) -> DockerSource | None:
    source = DockerSource(config.docker_host)
    try:
        source.open()
    except DockerUnavailable as exc:
        print(f"jetconsole: {exc}" + (f" — {exc.hint}" if exc.hint else ""), file=err)
        return None
    return source


def containers(config: cfg.Config, as_json: bool, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    source = _open(config, err)
    if source is None:
        return EXIT_DOCKER
    try:
        listed = source.containers()
    finally:
        source.close()
    if as_json:
        print(json.dumps([asdict(c) for c in listed], indent=2), file=out)
        return 0
    keep = [i for i, name in enumerate(view.COLUMNS) if name not in view.STATS_COLUMNS]
    table = [list(view.COLUMNS)] + [cells for _, cells in view.rows(listed, {})]
    rows = [[r[i] for i in keep] for r in table]
    widths = [max(len(r[i]) for r in rows) for i in range(len(keep))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip(), file=out)
    return 0


def bar(fraction: float, width: int = 24) -> str:
    done = round(fraction * width)
    return "#" * done + "-" * (width - done)


def launch(
    config: cfg.Config,
    name: str,
    settings: list[str],
    dry_run: bool,
    timeout: float,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    available = config.all_presets()
    if name not in available:
        print(f"jetconsole: unknown preset {name!r} (known: {', '.join(sorted(available))})", file=err)
        return EXIT_PRESET
    try:
        preset = presets.apply_overrides(available[name], presets.parse_set(settings))
        plan = presets.plan(preset, os.environ)
    except ValueError as exc:
        print(f"jetconsole: {exc}", file=err)
        return EXIT_PRESET
    print("Equivalent command:\n" + presets.docker_run_line(plan), file=out)
    source = _open(config, err)
    if source is None:
        return EXIT_DOCKER
    try:
        checks = preflight.run_checks(
            plan, source, util=preset.gpu_memory_utilization, max_model_len=preset.max_model_len, **_memory()
        )
        for c in checks:
            print(
                f"preflight {c.level:>4}  {c.name:<10} {c.detail}"
                + (f"\n{'':26}→ {c.fix}" if c.fix and c.level != preflight.OK else ""),
                file=out,
            )
        if preflight.blocking(checks):
            print("jetconsole: preflight failed; nothing was started", file=err)
            return EXIT_PREFLIGHT
        if dry_run:
            print("dry run: nothing was started", file=out)
            return 0
        cid = create_and_start(source, plan)
        print(f"started {plan.name or cid[:12]} ({cid[:12]})", file=out, flush=True)
        health = f"{plan.url}/health" if plan.url else None
        last = track(source, cid, health, lambda e: _print_event(e, out), threading.Event(), timeout)
    finally:
        source.close()
    if last.kind == "ready":
        return 0
    if last.diagnosis is not None:
        d = last.diagnosis
        print(f"\ncause: {d.title}\n  {d.explanation}\n  evidence: {d.evidence}\n  fix: {d.fix}", file=err)
        if d.action and d.action.settings:
            sets = " ".join(f"--set {k}={v}" for k, v in d.action.settings.items())
            print(f"  relaunch: jetconsole launch {name} {sets}", file=err)
        elif d.action and d.action.command:
            print(f"  run: {d.action.command}", file=err)
    return EXIT_TIMEOUT if last.kind == "timeout" else EXIT_EXITED


def _print_event(event: LaunchEvent, out: TextIO) -> None:
    s = event.state
    step = f"[{ORDER[s.phase] + 1}/{len(PHASES)}]"
    if event.kind == "phase":
        extra = ", ".join(f"{k}={v}" for k, v in s.details.items() if k in ("architecture", "shards", "kv_tokens"))
        print(f"{step} {bar(s.progress)} {s.title}" + (f" ({extra})" if extra else ""), file=out, flush=True)
    elif event.kind == "diagnosis" and event.diagnosis:
        print(f"problem: {event.diagnosis.title}: {event.diagnosis.evidence}", file=out, flush=True)
    elif event.kind == "ready":
        print(f"{step} {bar(1.0)} Ready: {event.message}", file=out, flush=True)
    else:
        print(f"{event.kind}: {event.message}", file=out, flush=True)


def _memory() -> dict[str, int | None]:
    """GPU-visible memory for the fit check: system RAM (UMA on Jetson/Spark), else unknown."""
    from console.telemetry.procfs import memory_from_meminfo, parse_meminfo

    try:
        with open("/proc/meminfo") as f:
            mem = memory_from_meminfo(parse_meminfo(f.read()))
    except OSError:
        return {"mem_total": None, "mem_available": None}
    return {"mem_total": mem.total, "mem_available": mem.available}
