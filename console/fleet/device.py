"""One device seen whole, from its agent's ``/v1/state``: what the Fleet screen's device view shows (pure).

The telemetry decodes back into the ``TelemetrySnapshot`` every telemetry view reads, so the device's
figures are drawn by the same panel as this machine's; its containers, servers, doctor checks and help
flag come as rows.  Everything in it is untrusted text from the device: decoded against the types (a field
of the wrong type is refused, an unknown one ignored), cleaned, numbers finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import msgspec

from console.fleet.reading import BadAnswer
from console.fleet.schema import SCHEMA, VERSION
from console.runtime.sanitise import clean
from console.telemetry.model import TelemetrySnapshot


@dataclass(frozen=True)
class ContainerRow:
    name: str
    image: str
    state: str
    health: str
    cpu_pct: float | None
    mem_used: int | None


@dataclass(frozen=True)
class ServerRow:
    name: str
    phase: str
    model: str
    detail: str
    gen_tps: float | None
    running: int | None
    waiting: int | None
    kv_usage: float | None
    ttft_p50: float | None


@dataclass(frozen=True)
class DeviceDetail:
    """A device's whole answer, decoded."""

    at: float
    host: str
    snapshot: TelemetrySnapshot | None
    docker: str  # "connected" or why not
    containers: tuple[ContainerRow, ...]
    servers: tuple[ServerRow, ...]
    doctor: tuple[tuple[str, str], ...]  # (title, status)
    help_flag: bool


def detail(doc: Any) -> DeviceDetail:
    """The ``DeviceDetail`` of an agent's answer; BadAnswer saying what is wrong."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise BadAnswer("not a jetconsole agent: its answer has no agent schema")
    version = doc.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise BadAnswer(f"schema version {version!r} is not one this jetconsole reads ({VERSION}): update it")
    try:
        snap = msgspec.convert(_cleaned(doc["telemetry"]), TelemetrySnapshot) if doc.get("telemetry") else None
        docker = msgspec.convert(doc.get("docker") or {}, dict[str, Any])
        containers = msgspec.convert(doc.get("containers") or [], list[dict[str, Any]])
        servers = msgspec.convert(doc.get("servers") or [], list[dict[str, Any]])
        checks = msgspec.convert(doc.get("doctor") or [], list[dict[str, Any]])
        flag = msgspec.convert(doc.get("help_flag") or {}, dict[str, Any])
        host = msgspec.convert(doc.get("host") or {}, dict[str, Any])
    except msgspec.ValidationError as exc:
        raise BadAnswer(f"its answer has a field of the wrong type: {clean(str(exc))}") from None
    return DeviceDetail(
        at=_num(doc.get("at")) or 0.0,
        host=_text(host.get("name")),
        snapshot=snap,
        docker="connected" if docker.get("connected") else _text(docker.get("error")) or "no Docker",
        containers=tuple(
            ContainerRow(
                _text(c.get("name")),
                _text(c.get("image")),
                _text(c.get("state")),
                _text(c.get("health")),
                _num(c.get("cpu_pct")),
                _int(c.get("mem_used")),
            )
            for c in containers
        ),
        servers=tuple(
            ServerRow(
                _text(s.get("name")),
                _text(s.get("phase")),
                _text(s.get("model")),
                _text(s.get("detail")),
                _num(s.get("gen_tps")),
                _int(s.get("running")),
                _int(s.get("waiting")),
                _num(s.get("kv_usage")),
                _num(s.get("ttft_p50")),
            )
            for s in servers
        ),
        doctor=tuple((_text(c.get("title")), _text(c.get("status"))) for c in checks),
        help_flag=bool(flag.get("raised")),
    )


def _cleaned(value: Any) -> Any:
    """The telemetry's strings cleaned and its numbers finite (a NaN is no figure), before decoding."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _cleaned(v) for k, v in value.items() if k != "schema"}
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    return value


def _text(value: Any) -> str:
    return clean(str(value)) if value is not None else ""


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    n = _num(value)
    return int(n) if n is not None else None
