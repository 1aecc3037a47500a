"""Real ``jetconsole agent`` processes on free loopback ports, for the fleet's tests and benchmarks."""

from __future__ import annotations

import re
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"(http://127\.0\.0\.1:\d+)/metrics")
START_S = 60.0


def start_agent(config: Path, *options: str, env: Mapping[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """``python -m console --config CONFIG [OPTIONS] agent --listen 127.0.0.1:0`` from this checkout, and its
    URL once a line says where it listens (``options``: the top level's, e.g. ``--source procfs``).  Lines
    before it (a library's warning) are skipped; its stderr is read to the end afterwards, so a chatty
    agent never blocks on a full pipe."""
    argv = [sys.executable, "-m", "console", "--config", str(config), *options, "agent", "--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=dict(env) if env else None)
    assert proc.stderr is not None
    seen: list[str] = []
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + START_S
        while (left := deadline - time.monotonic()) > 0 and selector.select(left):
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if m := STARTED.search(line):
                threading.Thread(target=proc.stderr.read, daemon=True).start()
                return proc, m.group(1)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"the agent did not say where it listens within {START_S:.0f}s: {''.join(seen)!r}")


def start_agents(
    count: int, config: Path, *options: str, env: Mapping[str, str] | None = None
) -> list[tuple[subprocess.Popen[str], str]]:
    """``count`` agents; those already started are stopped when one fails to start."""
    started: list[tuple[subprocess.Popen[str], str]] = []
    try:
        for _ in range(count):
            started.append(start_agent(config, *options, env=env))
    except BaseException:
        for proc, _ in started:
            proc.kill()
            proc.wait()
        raise
    return started
