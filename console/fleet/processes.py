"""The fleet's child processes (ssh, rsync): started with no input and their output piped, and ended for
sure, whatever ended the wait for them (a time limit, a cancelled action, an error)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence


async def start(argv: Sequence[str], merge_stderr: bool = False) -> asyncio.subprocess.Process:
    """``argv`` running, stdin closed; OSError when it cannot run (not installed)."""
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
    )


async def end(proc: asyncio.subprocess.Process) -> None:
    """Killed if it still runs, and reaped."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
