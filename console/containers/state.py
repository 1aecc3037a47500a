"""What the console knows about Docker right now (pure, immutable: changes return a new state)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType

from console.containers.model import ContainerInfo, ContainerStats
from console.telemetry.model import SourceStatus

_NO_STATS: MappingProxyType[str, ContainerStats] = MappingProxyType({})
_NO_PENDING: MappingProxyType[str, str] = MappingProxyType({})
PENDING_WORDS = {"start": "starting…", "stop": "stopping…", "restart": "restarting…", "remove": "removing…"}


@dataclass(frozen=True)
class DockerState:
    url: str = ""
    containers: tuple[ContainerInfo, ...] = ()
    stats: MappingProxyType[str, ContainerStats] = field(default_factory=lambda: _NO_STATS)
    connected: bool = False
    error: str | None = None
    hint: str = ""
    pending: MappingProxyType[str, str] = field(default_factory=lambda: _NO_PENDING)  # id -> action under way

    def listed(self, containers: tuple[ContainerInfo, ...]) -> DockerState:
        live = {c.id for c in containers if c.running}
        stats = MappingProxyType({k: v for k, v in self.stats.items() if k in live})
        return replace(self, containers=containers, stats=stats, connected=True, error=None, hint="")

    def with_stats(self, stats: dict[str, ContainerStats]) -> DockerState:
        return replace(self, stats=MappingProxyType({**self.stats, **stats}))

    def acting(self, container_id: str, action: str) -> DockerState:
        """An action was sent for ``container_id``: shown ("stopping…") until it settles."""
        return replace(self, pending=MappingProxyType({**self.pending, container_id: action}))

    def settled(self, container_id: str) -> DockerState:
        if container_id not in self.pending:
            return self
        return replace(self, pending=MappingProxyType({k: v for k, v in self.pending.items() if k != container_id}))

    def pending_word(self, container_id: str) -> str | None:
        """ "stopping…" while a stop of ``container_id`` is under way, else None."""
        action = self.pending.get(container_id)
        return PENDING_WORDS.get(action, f"{action}…") if action else None

    def failed(self, reason: str, hint: str) -> DockerState:
        return replace(self, connected=False, error=reason, hint=hint)

    def status(self) -> SourceStatus:
        if self.error:
            return SourceStatus("docker", False, self.error, self.hint)
        if self.connected:
            running = sum(c.running for c in self.containers)
            return SourceStatus("docker", True, f"{len(self.containers)} containers, {running} running ({self.url})")
        return SourceStatus("docker", False, f"connecting to {self.url}…")
