"""What the console knows about Docker right now (pure, immutable: changes return a new state)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType

from console.containers.model import ContainerInfo, ContainerStats
from console.telemetry.model import SourceStatus

_NO_STATS: MappingProxyType[str, ContainerStats] = MappingProxyType({})


@dataclass(frozen=True)
class DockerState:
    url: str = ""
    containers: tuple[ContainerInfo, ...] = ()
    stats: MappingProxyType[str, ContainerStats] = field(default_factory=lambda: _NO_STATS)
    connected: bool = False
    error: str | None = None
    hint: str = ""

    def listed(self, containers: tuple[ContainerInfo, ...]) -> DockerState:
        live = {c.id for c in containers if c.running}
        stats = MappingProxyType({k: v for k, v in self.stats.items() if k in live})
        return replace(self, containers=containers, stats=stats, connected=True, error=None, hint="")

    def with_stats(self, stats: dict[str, ContainerStats]) -> DockerState:
        return replace(self, stats=MappingProxyType({**self.stats, **stats}))

    def failed(self, reason: str, hint: str) -> DockerState:
        return replace(self, connected=False, error=reason, hint=hint)

    def status(self) -> SourceStatus:
        if self.error:
            return SourceStatus("docker", False, self.error, self.hint)
        if self.connected:
            running = sum(c.running for c in self.containers)
            return SourceStatus("docker", True, f"{len(self.containers)} containers, {running} running ({self.url})")
        return SourceStatus("docker", False, f"connecting to {self.url}…")
