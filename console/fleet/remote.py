"""Running a planned action (console/fleet/actions.py) on its devices: each step over SSH, or rsync here,
a few at a time, each with its own outcome.

One device's failure (refused login, a changed host key, a command that exits non-zero, its time limit)
is that device's outcome and never stops the others.  Progress comes as lines (rsync's percentage, a
launch's phase), and every outcome is written to the audit log with the command, secrets masked.  What
a device prints is untrusted: cleaned, and only the last lines kept.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import time
from collections.abc import Callable, Sequence

from console.fleet import processes
from console.fleet.actions import Outcome, Plan, Step
from console.fleet.hosts import Device
from console.fleet.ssh import ssh_argv, ssh_error
from console.runtime.sanitise import clean

CONNECT_S = 10
TAIL_LINES = 20
PERCENT = re.compile(r"\s(\d{1,3})%\s")
DOCTOR = {0: "good", 1: "warnings", 2: "failures"}
SSH_SAID = re.compile(
    r"^(ssh: |.*Permission denied|.*Host key|.*REMOTE HOST|.*Connection (closed|refused|timed|reset)|Timeout, server)"
)
FAILURE = re.compile(r"\b(fail|failed|error|refused|cannot|denied|not found|no such)\b", re.IGNORECASE)

Progress = Callable[[str, str], None]  # (device, what it is doing)


def no_progress(_device: str, _text: str) -> None:
    """A Progress for a caller that reads only the outcome."""


def progress_of(line: str) -> str:
    """A progress line as shown: rsync's ``1,234,567  45%  12.3MB/s  0:00:10 (xfr#3, to-chk=2/10)`` becomes
    ``45% 12.3MB/s``; another line as it is (cleaned)."""
    m = PERCENT.search(f" {line} ")
    if m and "/s" in line:
        speed = next((w for w in line.split() if w.endswith("/s")), "")
        return f"{m.group(1)}% {speed}".strip()
    return clean(line.strip())[:120]


async def run_step(
    step: Step, device: Device, ssh_config: str, timeout: float, progress: Progress, keep: int = TAIL_LINES
) -> Outcome:
    """One device's step, within ``timeout`` (0: the step's own limit, if it has one); its last ``keep`` lines
    of output are kept (a caller that parses the whole output asks for more)."""
    start = time.monotonic()
    timeout = timeout or step.limit
    remote = step.remote
    if not step.local and timeout > 0:  # ended on the device too, not only the ssh here
        remote = f"timeout {int(timeout) + 1} sh -c {shlex.quote(step.remote)}"
    argv = list(step.argv) if step.local else ssh_argv(device, ssh_config, CONNECT_S, remote)
    try:
        proc = await processes.start(argv, merge_stderr=True)
    except OSError as exc:
        return Outcome(step.device, False, f"cannot run {argv[0]}: {exc.strerror}", None, 0.0)
    tail: list[str] = []
    try:
        async with asyncio.timeout(timeout if timeout > 0 else None):
            await read_lines(proc.stdout, tail, lambda line: progress(step.device, progress_of(line)), keep)
            code = await proc.wait()
    except TimeoutError:
        return Outcome(step.device, False, f"no end within {timeout:g} s: stopped", None, _since(start), tuple(tail))
    finally:
        await processes.end(proc)
    return _outcome(step, code, tail, _since(start))


def reason(tail: Sequence[str]) -> str:
    """The line of a failed command's output that says why: the first that speaks of a failure (what follows
    it is mostly its consequence: rsync's "error in file IO" after the mkdir that failed), else the last that
    is not a hint ("→ do this"), squeezed to one short line."""
    lines = [" ".join(line.split()) for line in tail if line.strip()]
    said = [line for line in lines if not line.startswith("→")]
    why = next((line for line in said if FAILURE.search(line)), said[-1] if said else "")
    return why[:200]


def _outcome(step: Step, code: int, tail: list[str], seconds: float) -> Outcome:
    last = reason(tail)
    if not step.local and code == 255 and any(SSH_SAID.search(line) for line in tail):  # ssh's own failure
        return Outcome(step.device, False, ssh_error("\n".join(tail), code), code, seconds, tuple(tail))
    if step.remote == "jetconsole doctor" and code in DOCTOR:
        return Outcome(step.device, True, DOCTOR[code], code, seconds, tuple(tail))
    if code == 0:
        return Outcome(step.device, True, "done", code, seconds, tuple(tail))
    if code == 127 and not step.local:
        why = "a command is not installed there (jetconsole? docker?)"
        return Outcome(step.device, False, f"failed (exit 127): {why}: {last}", code, seconds, tuple(tail))
    return Outcome(step.device, False, f"failed (exit {code}): {last}", code, seconds, tuple(tail))


async def read_lines(
    stream: asyncio.StreamReader | None, tail: list[str], each: Callable[[str], None], keep: int = TAIL_LINES
) -> None:
    """Lines as they come (rsync ends its progress lines with a carriage return), the last ``keep`` kept."""
    pending = b""
    while stream is not None and (chunk := await stream.read(4096)):
        pending += chunk
        *lines, pending = re.split(rb"[\r\n]", pending)
        pending = pending[-65536:]  # a line without an end is not kept whole
        for raw in lines:
            line = clean(raw.decode(errors="replace"))
            if line.strip():
                tail.append(line)
                del tail[:-keep]
                each(line)
    if pending.strip():
        tail.append(clean(pending.decode(errors="replace")))
        del tail[:-keep]


def _since(start: float) -> float:
    return time.monotonic() - start


async def run_plan(
    plan: Plan,
    devices: Sequence[Device],
    ssh_config: str,
    timeout: float,
    parallel: int,
    progress: Progress,
    done: Callable[[Outcome], None],
) -> list[Outcome]:
    """Every step, at most ``parallel`` at once; ``done`` hears each outcome as it comes.  The refused
    devices are outcomes too, first."""
    by_name = {d.name: d for d in devices}
    outcomes = [Outcome(name, False, f"refused: {why}", None, 0.0) for name, why in plan.refused]
    for o in outcomes:
        done(o)
    gate = asyncio.Semaphore(max(1, parallel))

    async def one(step: Step) -> Outcome:
        async with gate:
            progress(step.device, "starting")
            outcome = await run_step(step, by_name[step.device], ssh_config, timeout, progress)
        done(outcome)
        return outcome

    outcomes += await asyncio.gather(*(one(s) for s in plan.steps))
    return outcomes
