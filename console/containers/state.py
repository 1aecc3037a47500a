"""What the app knows about Docker right now (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from console.containers.model import ContainerInfo, ContainerStats
from console.telemetry.model import SourceStatus


@dataclass
class DockerState:
    url: str = ""
    containers: tuple[ContainerInfo, ...] = ()
    stats: dict[str, ContainerStats] = field(default_factory=dict)
    connected: bool = False
    error: str | None = None
    hint: str = ""

    def listed(self, containers: tuple[ContainerInfo, ...]) -> None:
        self.containers = containers
        self.connected, self.error, self.hint = True, None, ""
        live = {c.id for c in containers if c.running}
        self.stats = {k: v for k, v in self.stats.items() if k in live}

    def failed(self, reason: str, hint: str) -> None:
        self.connected, self.error, self.hint = False, reason, hint

    def status(self) -> SourceStatus:
        if self.error:
            return SourceStatus("docker", False, self.error, self.hint)
        if self.connected:
            running = sum(c.running for c in self.containers)
            return SourceStatus("docker", True, f"{len(self.containers)} containers, {running} running ({self.url})")
        return SourceStatus("docker", False, f"connecting to {self.url}…")
