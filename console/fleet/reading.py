"""A device as the fleet view shows it, read from its agent's ``/v1/state``: what a tile needs, checked.

``reading(doc)`` takes the decoded JSON of one answer and gives a ``Reading`` or raises ``BadAnswer`` with
what was wrong (not a jetconsole agent, a newer schema than this reader knows, a field of the wrong
type).  Every string in it is cleaned: a device's answer is untrusted text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from console.fleet.schema import SCHEMA, VERSION
from console.runtime.sanitise import clean


class BadAnswer(ValueError):
    """An agent's answer this reader cannot use; the message says why."""


@dataclass(frozen=True)
class ServerFigures:
    name: str
    phase: str  # READY | STARTING | ERROR | DOWN
    model: str
    detail: str
    gen_tps: float | None
    running: int | None
    waiting: int | None


@dataclass(frozen=True)
class Reading:
    """One answer of one agent."""

    at: float  # the agent's clock (Unix time)
    host: str
    gpu_load: float | None  # percent
    memory_used: int | None  # bytes (RAM: unified memory on Jetson and GB10)
    memory_total: int | None
    hottest_c: float | None
    power_w: float | None
    help_flag: bool
    help_since: float | None
    servers: tuple[ServerFigures, ...]


def reading(doc: Any) -> Reading:
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise BadAnswer("not a jetconsole agent: its answer has no agent schema")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise BadAnswer("its version is not a number")
    if version > VERSION:
        raise BadAnswer(f"schema version {version} is newer than this jetconsole reads ({VERSION}): update it")
    telemetry = _dict(doc.get("telemetry") or {}, "telemetry")
    gpus = _list(telemetry.get("gpus") or [], "telemetry.gpus")
    memory = _dict(telemetry.get("memory") or {}, "telemetry.memory")
    temps = _list(telemetry.get("temps") or [], "telemetry.temps")
    power = _dict(telemetry.get("power") or {}, "telemetry.power")
    flag = _dict(doc.get("help_flag") or {}, "help_flag")
    host = _dict(doc.get("host") or {}, "host")
    first_gpu = _dict(gpus[0], "telemetry.gpus[0]") if gpus else {}
    return Reading(
        at=_number(doc.get("at"), "at") or 0.0,
        host=clean(str(host.get("name") or "")),
        gpu_load=_number(first_gpu.get("load"), "gpu load"),
        memory_used=_int(memory.get("used"), "memory.used"),
        memory_total=_int(memory.get("total"), "memory.total"),
        hottest_c=max(
            (t for s in temps if (t := _number(_dict(s, "temps[]").get("celsius"), "celsius")) is not None),
            default=None,
        ),
        power_w=_number(power.get("total_w"), "power.total_w"),
        help_flag=bool(flag.get("raised")),
        help_since=_epoch(_number(flag.get("since"), "help_flag.since")),
        servers=tuple(_server(_dict(s, "servers[]")) for s in _list(doc.get("servers") or [], "servers")),
    )


def _server(s: dict[str, Any]) -> ServerFigures:
    return ServerFigures(
        name=clean(str(s.get("name") or "")),
        phase=clean(str(s.get("phase") or "")),
        model=clean(str(s.get("model") or "")),
        detail=clean(str(s.get("detail") or "")),
        gen_tps=_number(s.get("gen_tps"), "gen_tps"),
        running=_int(s.get("running"), "running"),
        waiting=_int(s.get("waiting"), "waiting"),
    )


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadAnswer(f"{what} is not an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadAnswer(f"{what} is not a list")
    return value


def _number(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadAnswer(f"{what} is not a number")
    return float(value)


def _int(value: Any, what: str) -> int | None:
    number = _number(value, what)
    return None if number is None else int(number)


def _epoch(value: float | None) -> float | None:
    """A Unix time a clock can show (1970 to 2100), else None: an agent's garbage never reaches strftime."""
    return value if value is not None and 0 < value < 4_102_444_800 else None
