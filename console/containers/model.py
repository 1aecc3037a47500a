"""Frozen container snapshots: what the Docker source produces and the views read."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    image: str
    state: str  # created | running | paused | restarting | exited | dead | removing
    status: str  # Docker's words: "Up 3 minutes (healthy)"
    health: str | None = None  # healthy | unhealthy | starting | None (no healthcheck)
    created: float = 0.0
    started_at: str | None = None
    ports: tuple[str, ...] = ()
    runtime: str | None = None
    restart_policy: str | None = None
    network: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    command: str = ""
    pids: tuple[int, ...] = ()  # host PIDs (inference containers only), to join with GPU processes

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class ContainerStats:
    id: str
    cpu_pct: float | None
    mem_used: int | None
    mem_limit: int | None


@dataclass(frozen=True)
class ActionResult:
    """What a container action did (or, in a dry run, would do)."""

    ok: bool
    action: str
    target: str
    message: str
    dry_run: bool = False
