"""The fleet's child processes (ssh, rsync): started with no input and their output piped, each in a
process group of its own, and ended for sure, whatever ended the wait for them (a time limit, a cancelled
action, an error): the whole group, since rsync's own ssh would otherwise live on holding the pipe, and
asyncio waits for the pipe to close before it calls the process ended."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence


async def start(argv: Sequence[str], merge_stderr: bool = False) -> asyncio.subprocess.Process:
    """``argv`` running, stdin closed; OSError when it cannot run (not installed)."""
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
        start_new_session=True,  # its group is its own: ended together, and Ctrl-C here is not sent to it
    )


async def end(proc: asyncio.subprocess.Process) -> None:
    """Its whole process group killed if it still runs, and reaped."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
