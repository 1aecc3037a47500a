"""Rows for the containers table: filter, sort, cells; the Inspect text and ``containers --json`` (pure, shared
by UI and CLI).  Every credential in a container's command, args and env is masked (``--api-key ••••``) and
JSON carries the mask's own characters, not ``\u2022`` escapes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from console.containers.model import ContainerInfo, ContainerStats
from console.runtime.sanitise import json_text
from console.runtime.secrets import mask_data, mask_inspect
from console.telemetry import view as fmt
from console.telemetry.model import GpuProcess

COLUMNS = ("name", "state", "CPU", "MEM", "health", "status", "image", "ports", "runtime", "restart")
STATS_COLUMNS = ("CPU", "MEM")
SORTS = ("name", "state", "cpu", "mem", "image")
INFERENCE_HINTS = ("vllm", "sglang", "open-webui", "tensorrt", "llama", "ollama")


def matches(c: ContainerInfo, needle: str) -> bool:
    if not needle:
        return True
    hay = f"{c.name} {c.image} {c.state} {c.status} {' '.join(c.ports)} {c.short_id}".lower()
    return all(word in hay for word in needle.lower().split())


def sort_key(kind: str, stats: Mapping[str, ContainerStats]):
    def key(c: ContainerInfo):
        s = stats.get(c.id)
        if kind == "cpu":
            return (-(s.cpu_pct or 0.0) if s else 0.0, c.name)
        if kind == "mem":
            return (-(s.mem_used or 0) if s else 0, c.name)
        if kind == "state":
            return (not c.running, c.state, c.name)
        if kind == "image":
            return (c.image, c.name)
        return (c.name,)

    return key


def rows(
    containers: tuple[ContainerInfo, ...], stats: Mapping[str, ContainerStats], needle: str = "", sort: str = "name"
) -> list[tuple[str, list[str]]]:
    chosen = sorted((c for c in containers if matches(c, needle)), key=sort_key(sort, stats))
    out = []
    for c in chosen:
        s = stats.get(c.id) if c.running else None
        out.append(
            (
                c.id,
                [
                    c.name,
                    c.state,
                    fmt.pct(s.cpu_pct) if s and s.cpu_pct is not None else "",
                    fmt.size(s.mem_used) if s and s.mem_used is not None else "",
                    c.health or "",
                    c.status,
                    c.image,
                    ", ".join(c.ports) or "",
                    c.runtime or "",
                    c.restart_policy or "",
                ],
            )
        )
    return out


def is_inference(c: ContainerInfo) -> bool:
    """Containers the servers panel shows: launched from a preset, or a known server image."""
    if "jetconsole.preset" in c.labels:
        return True
    image = c.image.lower()
    return any(h in image for h in INFERENCE_HINTS)


def gpu_memory(c: ContainerInfo, processes: tuple[GpuProcess, ...]) -> int | None:
    """GPU memory held by the container's processes (telemetry joined on host PIDs)."""
    held = [p.gpu_mem for p in processes if p.pid in c.pids and p.gpu_mem is not None]
    return sum(held) if held else None


def inspect_text(document: Mapping[str, Any]) -> str:
    """Docker's inspect document as the Inspect screen shows it: credentials masked (env, command, entrypoint,
    args), indented, keys sorted, ``••••`` as itself."""
    return json_text(mask_inspect(document), indent=2, sort_keys=True, default=str)


def containers_json(containers: tuple[ContainerInfo, ...]) -> str:
    """``jetconsole containers --json``: one object per container, credentials masked, ``••••`` as itself."""
    return json_text([mask_data(asdict(c)) for c in containers], indent=2)


_HEALTH_SUFFIX = re.compile(r"\s*\((?:healthy|unhealthy|health: starting)\)")
_VAGUE = (("Less than a second", "<1 second"), ("About a minute", "~1 minute"), ("About an hour", "~1 hour"))


def short_status(status: str) -> str:
    """Docker's status for the list's column: its health suffix left to the health column, and its vague
    durations short ("Up Less than a second" -> "Up <1 second"), so the list fits 120 columns."""
    status = _HEALTH_SUFFIX.sub("", status)
    for vague, short in _VAGUE:
        status = status.replace(vague, short)
    return status
