"""Inference servers: one probe service per known URL (configured, or an inference container's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.chat.endpoints import Endpoint, endpoint_for
from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Lifecycle
from console.runtime.state import ConsoleState, server_rows

if TYPE_CHECKING:
    from console.servers.probe import ServerProbe

UNREACHABLE_INTERVAL = 3.0


class ServerWatch:
    """Keeps one probe running per server URL the state knows of; stops those no longer listed."""

    def __init__(self, hub: Hub, configured: tuple[Endpoint, ...], interval: float, enabled: bool = True) -> None:
        self.hub = hub
        self.configured = configured
        self.interval = interval
        self.enabled = enabled
        self._running: set[str] = set()

    def sync(self, state: ConsoleState) -> None:
        """One probe per known URL; probes of URLs no longer listed stop."""
        wanted = {r.url for r in server_rows(state) if r.url} if self.enabled else set()
        if wanted == self._running:
            return
        gone, new = self._running - wanted, wanted - self._running
        self._running = set(wanted)
        self.hub.emit(ev.ServersWatched(frozenset(wanted)))  # before the first poll, which it admits
        for url in gone:
            self.hub.runner.stop(f"server:{url}")
        for url in sorted(new):
            self._start(url)

    def _start(self, url: str) -> None:
        endpoint = endpoint_for(self.configured, url)
        made: list[ServerProbe] = []

        def step(life: Lifecycle) -> float:
            if not made:  # made on the poller's thread: httpx and the metrics parser load there, off the UI's
                from console.servers.probe import ServerProbe

                made.append(ServerProbe(endpoint))
            status = made[0].poll()
            if not life.stopped:
                self.hub.emit(ev.ServerPolled(status))
            return self.interval if status.reachable else max(self.interval, UNREACHABLE_INTERVAL)

        def close() -> None:
            for probe in made:
                probe.close()

        self.hub.runner.every(f"server:{url}", step, self.interval, cleanup=close)
