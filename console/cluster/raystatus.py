"""``ray status`` read (pure): the active and pending nodes, recent failures, and the cluster's CPUs and GPUs.

What it parses is Ray 2.x's autoscaler summary, as printed by ``ray status --address HEAD:PORT``::

    Active:
     1 node_0272187f1fac448dd1969dd8644ea4d5e62969508936574f40e9561c
    Pending:
     (no pending nodes)
    Recent failures:
     (no failures)
    ...
    Total Usage:
     0.0/4.0 CPU
     0.0/2.0 GPU

Anything else (Ray not up yet: "No cluster status.") reads as no nodes, with what it said kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SECTION = re.compile(r"^(Active|Pending|Recent failures|Total Usage|Usage|Total Constraints|Total Demands):\s*$")
RESOURCE = re.compile(r"^([\d.]+)(?:[KMGT]i?)?B?/([\d.]+)(?:[KMGT]i?)?B? (\w+)")
NODE = re.compile(r"^\d+ (node_[0-9a-f]+)")


@dataclass(frozen=True)
class RayStatus:
    active: tuple[str, ...] = ()  # node ids
    pending: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()  # Ray's own words
    used: tuple[tuple[str, float, float], ...] = ()  # (resource, used, total): CPU, GPU, memory...
    said: str = ""  # the first line, when it is not a status (Ray not up yet)

    def total(self, resource: str) -> float:
        return next((t for r, _, t in self.used if r == resource), 0.0)


def parse(text: str) -> RayStatus:
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        m = SECTION.match(line)
        if m:
            current = m.group(1)
            sections.setdefault(current, [])
        elif not raw.startswith(" "):  # a heading of another kind ("Resources", "-----"): its section ends
            current = ""
        elif current and line and not line.startswith("("):  # an entry, one space in ("(no failures)": none)
            sections[current].append(line)
    if not sections:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        return RayStatus(said=first[:200])
    used = tuple(
        (m.group(3), float(m.group(1)), float(m.group(2)))
        for line in sections.get("Total Usage", sections.get("Usage", []))
        if (m := RESOURCE.match(line))
    )
    return RayStatus(
        active=_nodes(sections.get("Active", [])),
        pending=_nodes(sections.get("Pending", [])),
        failures=tuple(line[:200] for line in sections.get("Recent failures", [])),
        used=used,
    )


def _nodes(lines: list[str]) -> tuple[str, ...]:
    return tuple(m.group(1) for line in lines if (m := NODE.match(line)))
