"""Devices without an agent, read over SSH: ``jetconsole snapshot --json`` run there, or a plain /proc read
when jetconsole is absent.  Each answer says which way it was read (``via``: "ssh" or "ssh /proc").

OpenSSH's own ``ssh`` runs it, so the user's keys, ssh config (or ``[fleet] ssh_config``), agent and
known_hosts apply: host keys are checked (BatchMode: an unknown or changed key is refused, never asked),
no password is asked for or stored.  Each read is its own connection (no master kept open: a rebooted
device or a link that went down never leaves a stale one to hang on).  What the device prints is
untrusted text: at most ``MAX_OUTPUT`` bytes are read, and it is parsed and cleaned like an agent's answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path

from console.fleet import processes
from console.fleet.actions import SSH_OPTIONS
from console.fleet.hosts import Device
from console.fleet.reading import BadAnswer, Reading, reading
from console.fleet.schema import SCHEMA, VERSION
from console.fleet.state import Answer
from console.hud import helpflag
from console.runtime.sanitise import clean

MAX_OUTPUT = 1 << 20
VIA_SNAPSHOT, VIA_PROC = "ssh", "ssh /proc"
FLAG, SNAPSHOT, PROC, TEMPS = "@@jetconsole-flag", "@@jetconsole-snapshot", "@@jetconsole-proc", "@@jetconsole-temps"

# One POSIX sh script: the help flag's file, then the snapshot, or /proc and the thermal zones without it.
REMOTE = (
    f'echo {FLAG}; cat "${{XDG_STATE_HOME:-$HOME/.local/state}}/jetconsole/help-flag" 2>/dev/null; '
    "if command -v jetconsole >/dev/null 2>&1; "
    f"then echo {SNAPSHOT}; jetconsole snapshot --json 2>/dev/null; "
    f"else echo {PROC}; cat /proc/meminfo; echo {TEMPS}; cat /sys/class/thermal/thermal_zone*/temp 2>/dev/null; fi; "
    "true"  # a device without thermal zones is no failure
)


@dataclass(frozen=True)
class SshSettings:
    """``[fleet] ssh_config``, ``ssh_interval`` and ``ssh_timeout``."""

    config: str = ""  # an ssh config file ("" = the user's ~/.ssh/config)
    interval: float = 5.0  # seconds between two reads of a device without an agent
    timeout: float = 10.0  # one read's limit: the connection, the snapshot's sample, the answer


def ssh_argv(device: Device, ssh_config: str, timeout: float, command: str = REMOTE) -> list[str]:
    """The ``ssh`` command line that runs ``command`` (the read's script unless told) on ``device``."""
    assert device.ssh and not device.ssh.startswith("-")  # the hosts file refuses such a target
    config = ["-F", str(Path(ssh_config).expanduser())] if ssh_config else []
    return [
        "ssh",
        *config,
        "-o",
        f"ConnectTimeout={max(1, int(timeout))}",  # ssh keeps the first value given: this one, not SSH_OPTIONS'
        *SSH_OPTIONS,
        "-T",
        device.ssh,
        command,
    ]


def parse_output(text: str, received: float) -> tuple[Reading, str]:
    """(the reading, how it was read) of ``REMOTE``'s output; BadAnswer when it is not that."""
    parts = _sections(text)
    if FLAG not in parts or (SNAPSHOT not in parts and PROC not in parts):
        raise BadAnswer("the device's shell printed something else: is this a POSIX shell?")
    raised, since = helpflag.parse(parts[FLAG])
    flag = {"raised": raised, "since": since}
    if SNAPSHOT in parts:
        try:
            snap = json.loads(parts[SNAPSHOT])
        except (ValueError, RecursionError):
            raise BadAnswer("jetconsole snapshot --json printed no JSON there: is it an old jetconsole?") from None
        if not isinstance(snap, dict) or not isinstance(snap.get("telemetry"), dict):
            raise BadAnswer("jetconsole snapshot --json there gave no telemetry")
        tele = snap["telemetry"]
        doc = {"schema": SCHEMA, "version": VERSION, "at": tele.get("time") or received, "telemetry": tele}
        return reading({**doc, "help_flag": flag, "host": {}}), VIA_SNAPSHOT
    memory = _meminfo(parts[PROC])
    temps = [{"celsius": int(w) / 1000} for w in parts.get(TEMPS, "").split() if w.lstrip("-").isdigit()]
    doc = {"schema": SCHEMA, "version": VERSION, "at": received, "help_flag": flag, "host": {}}
    return reading({**doc, "telemetry": {"memory": memory, "temps": temps}}), VIA_PROC


def _sections(text: str) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line in (FLAG, SNAPSHOT, PROC, TEMPS):
            current = out.setdefault(line, [])
        elif current is not None:
            current.append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def _meminfo(text: str) -> dict[str, int]:
    kib: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        words = rest.split()
        if words and words[0].isdigit():
            kib[key.strip()] = int(words[0]) * 1024
    if "MemTotal" not in kib:
        raise BadAnswer("no MemTotal in its /proc/meminfo")
    available = kib.get("MemAvailable", kib.get("MemFree", 0))
    return {"total": kib["MemTotal"], "used": kib["MemTotal"] - available}


def ssh_error(stderr: str, code: int) -> str:
    """What went wrong, in a user's words, from ssh's own message."""
    text = stderr
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    last = clean(lines[-1]) if lines else f"ssh exited with {code}"
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text or "Host key verification failed" in text:
        if "HAS CHANGED" in text:
            return (
                "host key mismatch: the device's key is not the one in known_hosts "
                "(reinstalled? check it, then ssh-keygen -R HOST)"
            )
        return "host key not trusted: connect once with ssh to check and accept it"
    if "Permission denied" in text:
        return f"SSH login refused: {last} (a key for this device in ssh-agent or the ssh config?)"
    return f"SSH: {last}"


async def read_over_ssh(device: Device, ssh_config: str, timeout: float) -> Answer:
    """One SSH read of ``device``, within ``timeout`` seconds."""
    start = time.monotonic()
    via = VIA_SNAPSHOT
    try:
        proc = await processes.start(ssh_argv(device, ssh_config, timeout))
    except OSError as exc:
        return Answer(device.name, None, f"cannot run ssh: {exc.strerror}", 0.0, time.monotonic(), via)
    try:
        async with asyncio.timeout(timeout):
            out, err = await asyncio.gather(_bounded(proc.stdout), _bounded(proc.stderr))
            code = await proc.wait()
        if code == 255:  # ssh's own failure: connection, host key, login
            raise BadAnswer(ssh_error(err.decode(errors="replace"), code))
        got, via = parse_output(out.decode(errors="replace"), time.time())
        return Answer(device.name, got, None, time.monotonic() - start, time.monotonic(), via)
    except TimeoutError:
        error = f"no answer over SSH within {timeout:g} s"
    except BadAnswer as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - one device's odd answer never stops the round
        error = f"bad answer over SSH: {type(exc).__name__}: {exc}"
    finally:
        await processes.end(proc)
    return Answer(device.name, None, clean(error), time.monotonic() - start, time.monotonic(), via)


async def _bounded(stream: asyncio.StreamReader | None) -> bytes:
    """A pipe read to its end, keeping at most MAX_OUTPUT bytes (the rest is read and dropped)."""
    kept = bytearray()
    while stream is not None and (chunk := await stream.read(65536)):
        if len(kept) < MAX_OUTPUT:
            kept += chunk[: MAX_OUTPUT - len(kept)]
    return bytes(kept)


def session_argv(device: Device, ssh_config: str) -> list[str]:
    """``ssh -t TARGET jetconsole``: the device's own jetconsole, every screen, in this terminal."""
    assert device.ssh
    config = ["-F", str(Path(ssh_config).expanduser())] if ssh_config else []
    return ["ssh", *config, "-t", device.ssh, "jetconsole"]


def run_session(argv: list[str]) -> int:
    """Run an interactive session in this terminal and wait for its end (the caller has handed the terminal
    over: the app is suspended meanwhile)."""
    import subprocess

    return subprocess.call(argv)
