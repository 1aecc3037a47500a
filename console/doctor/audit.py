"""The doctor's audit log: one JSON line per action, in the user state dir.

A leaf module: the CLI, the power switches, the in-app session and the fixes all write here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def audit_path() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("jetconsole")) / "doctor-audit.log"


def audit(event: str, data: dict[str, Any]) -> None:
    """Append one JSON line per action to the audit log (the user state dir)."""
    path = audit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "event": event, **data}) + "\n")
