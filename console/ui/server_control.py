"""The app's inference-server side: one poller thread per server URL, the selected server.

Server URLs come from config ``[endpoints] servers`` and from inference containers
(``console.servers.registry``).  Each poller calls ``ServerProbe.poll`` and posts
``ServerPolled``; nothing here blocks the event loop.
"""

from __future__ import annotations

import threading

from console.chat.endpoints import Endpoint, canonical, endpoints
from console.servers.probe import ServerProbe, ServerStatus
from console.servers.registry import ServerRow, server_rows
from console.ui.messages import ServerPolled

UNREACHABLE_INTERVAL = 3.0


class ServerControl:
    """Mixed into the app: ``self.config``, ``post_message`` and ``_spawn`` come from it."""

    def init_servers(self) -> None:
        self.server_status: dict[str, ServerStatus] = {}  # canonical URL -> last poll
        self._server_stops: dict[str, threading.Event] = {}
        self.configured = endpoints(self.config.servers, self.config.api_keys)  # type: ignore[attr-defined]
        self.selected_url: str | None = canonical(self.configured[0].url) if self.configured else None

    def endpoint_for(self, url: str) -> Endpoint:
        """A configured endpoint (with its key) or a bare one for a container's URL."""
        return next((e for e in self.configured if canonical(e.url) == canonical(url)), Endpoint(canonical(url)))

    def server_rows(self) -> list[ServerRow]:
        return server_rows(self.docker.containers, tuple(e.url for e in self.configured))  # type: ignore[attr-defined]

    def sync_server_pollers(self) -> None:
        """One poller per known URL; pollers of URLs no longer listed stop."""
        wanted = {r.url for r in self.server_rows() if r.url} if self.poll_servers else set()  # type: ignore[attr-defined]
        for url in wanted - set(self._server_stops):
            stop = threading.Event()
            self._server_stops[url] = stop
            probe = ServerProbe(self.endpoint_for(url))
            self._spawn(lambda p=probe, s=stop: self._poll_server(p, s), f"jetconsole-server-{url}")  # type: ignore[attr-defined]
        for url in set(self._server_stops) - wanted:
            self._server_stops.pop(url).set()
            self.server_status.pop(url, None)

    def _poll_server(self, probe: ServerProbe, stop: threading.Event) -> None:
        interval = self.config.refresh_interval  # type: ignore[attr-defined]
        try:
            while not stop.is_set():
                status = probe.poll()
                if stop.is_set():
                    break
                self.post_message(ServerPolled(status))  # type: ignore[attr-defined]
                stop.wait(interval if status.reachable else max(interval, UNREACHABLE_INTERVAL))
        finally:
            probe.close()

    def on_server_polled(self, message: ServerPolled) -> None:
        status: ServerStatus = message.status  # type: ignore[assignment]
        url = canonical(status.url)
        if url not in self._server_stops:
            return  # a late poll of a server no longer listed
        before = self.server_status.get(url)
        self.server_status[url] = status
        if url == self.selected_url:
            self.chat_server_changed(status, before)  # type: ignore[attr-defined]
        if not status.ready:
            self.sync_startup_followers()  # type: ignore[attr-defined]
        self._refresh_screen()  # type: ignore[attr-defined]

    def selected_status(self) -> ServerStatus | None:
        return self.server_status.get(self.selected_url) if self.selected_url else None

    def stop_server_pollers(self) -> None:
        for stop in self._server_stops.values():
            stop.set()
