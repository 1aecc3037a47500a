"""Ending the tests' own helper processes (sshd, Prometheus, a browser): asked first, then killed."""

from __future__ import annotations

import subprocess


def end(proc: subprocess.Popen, grace: float = 10.0) -> None:  # type: ignore[type-arg]
    """SIGTERM, ``grace`` seconds to go, then SIGKILL; reaped either way."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
