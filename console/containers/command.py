"""Headless twins of the containers screens: ``jetconsole containers`` and ``jetconsole launch``.

No Textual.  Both run the runtime headless with the services they use: ``containers`` its Docker
watcher alone (the first listing), ``launch`` its telemetry (the preflight sizes the model against
``engine_memory`` of the merged sample, as the Launch screen does) and its launch service, whose
preflight, start and phases this prints.
Exit codes: 0 ready (or listed), 3 preflight failed, 4 the server exited (with the diagnosis), 5 not
ready in time, 6 Docker unavailable, 7 bad preset/--set.  A dry run starts nothing: it exits 0 once it
has shown the ``docker run`` line and the preflight, and its last line says whether a launch now would
pass the preflight or which checks would refuse it (6 and 7 as above when it cannot get that far).
Commands, env and the ``docker run`` line are shown with every credential masked (``--api-key ••••``).
"""

from __future__ import annotations

import os
import queue
import sys
import time
from typing import TYPE_CHECKING, TextIO

from console import config as cfg
from console.containers import preflight, presets, view
from console.containers.launcher import LaunchEvent
from console.servers.startup import ORDER, PHASES

if TYPE_CHECKING:
    from console.runtime.events import Event
    from console.runtime.runtime import Runtime

EXIT_PREFLIGHT, EXIT_EXITED, EXIT_TIMEOUT, EXIT_DOCKER, EXIT_PRESET = 3, 4, 5, 6, 7
LIST_WAIT_S = 30.0  # Docker's own timeouts end a hung daemon before this
TELEMETRY_WAIT_S = 5.0  # the preflight's memory figure: the first samples of every source
RUN_ID = 1


def _runtime(config: cfg.Config, telemetry: bool, watch_docker: bool) -> Runtime:
    from console.runtime.runtime import Runtime
    from console.runtime.services.headless import no_telemetry

    return Runtime(
        config,
        discover_fn=None if telemetry else no_telemetry,
        watch_docker=watch_docker,
        poll_servers=False,
        hud_sources=False,
    )


def containers(config: cfg.Config, as_json: bool, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from console.runtime.services.headless import wait_for

    runtime = _runtime(config, telemetry=False, watch_docker=True)
    runtime.start()
    try:
        wait_for(runtime, lambda s: s.docker.connected or s.docker.error is not None, LIST_WAIT_S)
        docker = runtime.state.docker
    finally:
        runtime.stop(1.0)
    if not docker.connected:
        reason = docker.error or f"no answer from Docker at {docker.url} in {LIST_WAIT_S:.0f} s"
        print(f"jetconsole: {reason}" + (f" — {docker.hint}" if docker.hint else ""), file=err)
        return EXIT_DOCKER
    listed = docker.containers
    if as_json:
        print(view.containers_json(listed), file=out)
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
    available = presets.all_presets(config)
    if name not in available:
        print(f"jetconsole: unknown preset {name!r} (known: {', '.join(sorted(available))})", file=err)
        return EXIT_PRESET
    try:
        preset = presets.apply_overrides(available[name], presets.parse_set(settings))
        plan = presets.plan(preset, os.environ)
    except ValueError as exc:
        print(f"jetconsole: {exc}", file=err)
        return EXIT_PRESET
    print("Equivalent command:\n" + presets.docker_run_line(plan), file=out)  # masked, --api-key X too
    from console.runtime import commands as cmd
    from console.runtime import events as ev
    from console.runtime.services.headless import FirstSamples

    runtime = _runtime(config, telemetry=True, watch_docker=False)
    first = FirstSamples()
    said: queue.Queue[Event] = queue.Queue()
    runtime.subscribe(first)
    runtime.subscribe(
        lambda _s, e: (
            said.put(e) if isinstance(e, (ev.PreflightDone, ev.LaunchProgress)) and e.run_id == RUN_ID else None
        )
    )
    runtime.start()
    try:
        first.wait(TELEMETRY_WAIT_S)
        runtime.send(cmd.Launch(RUN_ID, plan, preset, launch=not dry_run))
        return _follow(name, said, dry_run, timeout, out, err)
    finally:
        runtime.stop(2.0)  # a follow still running (a timeout) ends with the runtime


def _follow(name: str, said: queue.Queue[Event], dry_run: bool, timeout: float, out: TextIO, err: TextIO) -> int:
    """Print the launch service's preflight, start and phases until Ready, an exit or ``timeout``."""
    from console.runtime import events as ev

    checked, deadline, last = False, float("inf"), None
    while True:
        try:
            event = said.get(timeout=max(0.0, min(0.5, deadline - time.monotonic())))
        except queue.Empty:
            if time.monotonic() < deadline:
                continue
            print(f"timeout: not ready after {timeout:.0f} s", file=out, flush=True)
            return EXIT_TIMEOUT
        if isinstance(event, ev.PreflightDone):
            checked = True
            for c in event.checks:
                print(
                    f"preflight {c.level:>4}  {c.name:<10} {c.detail}"
                    + (f"\n{'':26}→ {c.fix}" if c.fix and c.level != preflight.OK else ""),
                    file=out,
                )
            if dry_run:
                print(dry_run_verdict(event.checks), file=out)
                return 0
            if event.blocked:
                print("jetconsole: preflight failed; nothing was started", file=err)
                return EXIT_PREFLIGHT
        elif isinstance(event, ev.LaunchProgress) and event.event is None:
            if not checked:  # Docker could not be asked (or refused the preflight's questions)
                print(f"jetconsole: {event.message}", file=err)
                return EXIT_DOCKER
            if not event.message.startswith("started "):
                print(f"jetconsole: {event.message}", file=err)  # Docker refused to create or start it
                return EXIT_EXITED
            print(event.message, file=out, flush=True)
            deadline = time.monotonic() + timeout
        elif isinstance(event, ev.LaunchProgress) and event.event is not None:
            last = event.event
            _print_event(last, out)
            if last.kind in ("ready", "exited", "timeout", "stopped"):
                break
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


def dry_run_verdict(checks: tuple[preflight.Check, ...]) -> str:
    """A dry run's last line: nothing started (none ever is), and whether a launch now would pass the preflight."""
    refusing = preflight.blocking(list(checks))
    if not refusing:
        return "dry run: nothing was started; a launch now would pass the preflight (run it without --dry-run)"
    names = ", ".join(c.name for c in refusing)
    return (
        f"dry run: nothing was started; a launch now would be refused by the preflight ({names}): "
        "fix what it says above, then run it without --dry-run"
    )


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
