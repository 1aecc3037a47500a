"""What a poll of one inference server found (a plain value: the state, the panels and the HUD hold it).

``console.servers.probe`` makes these; it imports httpx, which a start of the app does not need.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from console.chat.wire import ModelInfo
from console.servers.metrics import ServerMetrics


@dataclass(frozen=True)
class ServerStatus:
    url: str  # the root (no /v1)
    reachable: bool
    health: int | None = None  # HTTP status of /health (200 ready, 503 engine dead)
    version: str | None = None
    models: tuple[ModelInfo, ...] = ()
    metrics: ServerMetrics | None = None
    metrics_note: str | None = None  # why there are no metrics ("404: start SGLang with --enable-metrics")
    error: str | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ready(self) -> bool:
        return self.reachable and self.health == 200

    @property
    def model(self) -> str | None:
        return self.models[0].id if self.models else None
