"""Saving a container's log to a file: the lines as shown (already cleaned), secrets masked, a new file."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

from console.runtime.secrets import mask_prose


def default_folder() -> Path:
    """``<user data dir>/jetconsole/logs``."""
    import platformdirs

    return platformdirs.user_data_path("jetconsole") / "logs"


def file_name(name: str, now: float) -> str:
    """``web-20260105-120000.log``: the container's name made safe for a file name, and the time."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "container"
    return f"{safe}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}.log"


def save_log(folder: Path, name: str, lines: Sequence[str], now: float) -> Path:
    """Write ``lines`` (credentials masked) to a new file in ``folder`` (made if missing, private to the user);
    an existing file is never overwritten: a suffix is added.  A folder made here is the user's alone (0700); one
    that exists keeps its mode."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    base = folder / file_name(name, now)
    path, n = base, 1
    text = "".join(mask_prose(line) + "\n" for line in lines)
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.stem}-{n}{base.suffix}")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return path
