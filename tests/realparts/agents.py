"""Real ``jetconsole agent`` processes on free loopback ports, for the fleet's tests and benchmarks."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"(http://127\.0\.0\.1:\d+)/metrics")


def start_agent(config: Path, *options: str, env: Mapping[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """``python -m console --config CONFIG [OPTIONS] agent --listen 127.0.0.1:0`` from this checkout, and its
    URL once its first line says where it listens (``options``: the top level's, e.g. ``--source procfs``)."""
    argv = [sys.executable, "-m", "console", "--config", str(config), *options, "agent", "--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=dict(env) if env else None)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    m = STARTED.search(line)
    if m is None:
        proc.kill()
        raise RuntimeError(f"the agent did not start: {line!r}")
    return proc, m.group(1)
