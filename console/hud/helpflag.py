"""The workshop help flag: one small file in the user state dir, so the HUD's key, ``jetconsole
help-flag on|off`` from any shell on the device, and a restarted HUD all see the same state.

The file holds ``on`` and when it was raised; no file means off.  Writes are atomic (temp file
and rename) so a HUD reading it never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

ENV = "JETCONSOLE_HELP_FLAG"  # another path (tests; a flag shared by several users of one device)


def path() -> Path:
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    from platformdirs import user_state_dir

    return Path(user_state_dir("jetconsole")) / "help-flag"


def read(where: Path | None = None) -> bool:
    """Whether help is requested (an unreadable file counts as off, never as an error on the HUD)."""
    try:
        return (where or path()).read_text().split(maxsplit=1)[:1] == ["on"]
    except (OSError, UnicodeDecodeError):
        return False


def since(where: Path | None = None) -> float | None:
    """When the flag was raised (epoch seconds), from the time the file holds, else the file's mtime;
    None when it is down or unreadable."""
    target = where or path()
    try:
        text = target.read_text()
        mtime = target.stat().st_mtime
    except (OSError, UnicodeDecodeError):
        return None
    return parse(text, mtime)[1]


def parse(text: str, mtime: float | None = None) -> tuple[bool, float | None]:
    """(raised, since) of a flag file's text (``on 2026-12-05T15:21:31+0000``); since is ``mtime`` when the
    text holds no time, None when the flag is down."""
    words = text.split()
    if words[:1] != ["on"]:
        return False, None
    try:
        return True, (datetime.strptime(words[1], "%Y-%m-%dT%H:%M:%S%z").timestamp() if len(words) > 1 else mtime)
    except ValueError:
        return True, mtime


def write(on: bool, where: Path | None = None) -> Path:
    """Raise or lower the flag; returns the file.  OSError (read-only home, …) is the caller's to say."""
    target = where or path()
    if not on:
        target.unlink(missing_ok=True)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".help-flag.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(f"on {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def command(state: str, where: Path | None = None) -> int:
    """``jetconsole help-flag on|off|status``: 0 done (status: 0 on, 1 off), 2 could not write."""
    import sys

    where = where or path()
    if state == "status":
        on = read(where)
        print(f"help flag {'on' if on else 'off'} ({where})")
        return 0 if on else 1
    try:
        write(state == "on", where)
    except OSError as exc:
        print(f"jetconsole: help flag not changed: {exc}", file=sys.stderr)
        return 2
    print(f"help flag {state} ({where}): every HUD on this device shows it within a second")
    return 0
