"""The doctor's audit log: one JSON line per action, in the user state dir.

A leaf module: the CLI, the power switches, the in-app session and the fixes all write here.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from console.runtime.sanitise import json_text
from console.runtime.secrets import mask_data


def audit_path() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("jetconsole")) / "doctor-audit.log"


def audit(event: str, data: dict[str, Any]) -> None:
    """Append one JSON line per action to the audit log (the user state dir).

    Credentials in ``data`` are masked first (a command's ``--api-key X``, ``HF_TOKEN=X``, a holder's
    command line, any ``token``/``api_key`` entry): the log keeps what was done, never a secret.
    """
    path = audit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "event": event, **mask_data(data)}
    with path.open("a", encoding="utf-8") as f:
        f.write(json_text(line) + "\n")  # a masked value as "••••", not \u2022
