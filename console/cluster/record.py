"""The cluster that ``up`` started, kept in the state dir (``cluster.json``) so that ``status`` and ``down``
find both nodes without being told again, also after Ctrl-C or a crash half-way.  Written before the first
node is touched, removed by ``down``.  It holds the plan and the server's URL: no secret is ever in a plan.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from console.cluster.plan import ClusterPlan, Node
from console.cluster.presets import ClusterPreset
from console.runtime.sanitise import clean


@dataclass(frozen=True)
class Record:
    plan: ClusterPlan
    url: str  # the head's OpenAI API (…/v1) as this console reaches it
    started: float  # epoch seconds


def path() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("jetconsole")) / "cluster.json"


def save(record: Record, where: Path | None = None) -> None:
    where = where or path()
    where.parent.mkdir(parents=True, exist_ok=True)
    p = record.plan
    doc = {
        "head": asdict(p.head),
        "worker": asdict(p.worker),
        "preset": asdict(p.preset),
        "data_dir": p.data_dir,
        "volumes": list(p.volumes),
        "memlock": p.memlock,
        "url": record.url,
        "started": record.started,
    }
    tmp = where.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, where)


def load(where: Path | None = None) -> Record | None:
    """The recorded cluster; None when there is none; ValueError naming the file when it cannot be read."""
    where = where or path()
    try:
        doc = json.loads(where.read_text())
        given = doc["preset"]
        preset: dict[str, Any] = {f.name: given[f.name] for f in fields(ClusterPreset) if f.name in given}
        preset["serve_flags"] = tuple(clean(str(f)) for f in preset["serve_flags"])
        for text in ("name", "description", "image", "model", "mode", "shm_size", "published"):
            if text in preset:  # a file anyone can edit: its text reaches the screen
                preset[text] = clean(str(preset[text]))
        plan = ClusterPlan(
            _node(doc["head"]),
            _node(doc["worker"]),
            ClusterPreset(**preset),
            doc["data_dir"],
            tuple(doc.get("volumes", ())),
            bool(doc.get("memlock", True)),
        )
        return Record(plan, clean(str(doc["url"])), float(doc["started"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{where}: not a cluster record ({exc}); remove it once both nodes are down") from None


def _node(doc: dict[str, Any]) -> Node:
    return Node(clean(str(doc["device"])), clean(str(doc["interface"])), clean(str(doc["ip"])))


def forget(where: Path | None = None) -> None:
    (where or path()).unlink(missing_ok=True)
