"""``/v1/state``: the agent's whole state as one JSON document (a pure view of ``ConsoleState``).

The schema is named and versioned (``SCHEMA``, ``VERSION``) and written out in README ("Agent"); a
reader refuses a document whose version is newer than the one it knows.  What it holds came from the
device, its containers and its servers: cleaned where it entered the state, and masked again here
(``mask_data``), so no credential a container's command or labels carry leaves the device: commands,
labels and environments are not in it at all.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from console.containers.model import ContainerInfo
from console.doctor.check import Check
from console.fleet.schema import SCHEMA, VERSION
from console.hud.view import server_state
from console.runtime.secrets import mask_data, mask_url
from console.runtime.state import ConsoleState, server_rows
from console.servers.metrics import ServerMetrics
from console.telemetry.model import SourceReport

# The server figures a fleet tile and a scraper read, by their names in ServerMetrics.
SERVER_FIGURES = (
    "running",
    "waiting",
    "kv_usage",
    "prompt_tps",
    "gen_tps",
    "ttft_p50",
    "ttft_p95",
    "itl_p50",
    "itl_p95",
)


def state_document(state: ConsoleState, *, agent: dict[str, Any], now: float) -> dict[str, Any]:
    """The document for ``state``; ``agent`` says who serves it (version, listen address, refresh)."""
    telemetry = state.telemetry
    snap = telemetry.merged
    return finite(
        mask_data(
            {
                "schema": SCHEMA,
                "version": VERSION,
                "at": now,
                "agent": agent,
                "host": {"name": state.hud.host, "ip": state.hud.ip},
                "help_flag": {"raised": state.hud.help_flag, "since": state.hud.help_since},
                "sources": SourceReport(telemetry.statuses()).to_list(),
                "telemetry": snap.to_dict() if snap is not None else None,
                "docker": {"connected": state.docker.connected, "error": state.docker.error},
                "containers": [_container(state, c) for c in state.docker.containers],
                "servers": servers(state),
                "doctor": [_check(c) for c in state.doctor.checks],
            }
        )
    )


def servers(state: ConsoleState) -> list[dict[str, Any]]:
    """One entry per inference server: its phase as the HUD says it, and its figures."""
    out = []
    for row in server_rows(state):
        if row.url is None:
            continue  # a web UI (Open WebUI) or an image whose API address cannot be told: no server figures
        status = state.servers.status.get(row.url) if row.url else None
        startup = state.startups.get(row.container.id) if row.container else None
        phase, _shown, detail = server_state(row, status, startup)  # the HUD shows the row's name for no model
        model = status.model if status is not None else None
        metrics = status.metrics if status is not None else None
        out.append(
            {
                "name": row.container.name if row.container else _endpoint_name(row.url),
                "url": mask_url(row.url),
                "container": row.container.name if row.container else None,
                "phase": phase,
                "ready": bool(status and status.ready),
                "model": model or None,
                "detail": detail,
                "startup_progress": startup.state.progress if startup and startup.kind != "ready" else None,
                **figures(metrics),
            }
        )
    return out


def _endpoint_name(url: str) -> str:
    """A configured endpoint's name without its user info (``http://user:pass@h:8000`` -> ``h:8000``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host


def finite(value: Any) -> Any:
    """JSON-like ``value`` with NaN and infinities as null: JSON has no such numbers (Python writes a bare
    ``NaN`` that other readers refuse), and a device's sensor can read one."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def figures(metrics: ServerMetrics | None) -> dict[str, float | int | None]:
    return {name: getattr(metrics, name) if metrics else None for name in SERVER_FIGURES}


def _container(state: ConsoleState, c: ContainerInfo) -> dict[str, Any]:
    stats = state.docker.stats.get(c.id)
    return {
        "id": c.short_id,
        "name": c.name,
        "image": c.image,
        "state": c.state,
        "status": c.status,
        "health": c.health,
        "ports": list(c.ports),
        "runtime": c.runtime,
        "cpu_pct": stats.cpu_pct if stats else None,
        "mem_used": stats.mem_used if stats else None,
        "mem_limit": stats.mem_limit if stats else None,
    }


def _check(c: Check) -> dict[str, Any]:
    return {"id": c.id, "title": c.title, "status": c.status}
