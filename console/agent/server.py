"""The agent's HTTP server: ``/metrics``, ``/v1/state`` and ``/health``, read-only, from the runtime's state.

A thread per connection (the standard library's ``ThreadingHTTPServer``): a scraper that stalls holds its
own thread, never the others or the runtime.  Each body is built at most once per ``max_age`` seconds
(half the refresh interval) whatever the number of scrapers, under a lock, so sixty viewers and a
Prometheus cost one rendering.  A connection that sends nothing is dropped after ``REQUEST_TIMEOUT_S``.
With a token, ``/metrics`` and ``/v1/state`` want
``Authorization: Bearer <token>`` (compared in constant time); ``/health`` says only "ok".
"""

from __future__ import annotations

import hmac
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from console.agent.document import state_document
from console.agent.exposition import exposition
from console.runtime.sanitise import json_text
from console.runtime.state import ConsoleState

METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REQUEST_TIMEOUT_S = 10.0
JSON_TYPE = "application/json; charset=utf-8"


class Cached:
    """``build()``'s result, built again only when older than ``max_age`` seconds and the state moved on."""

    def __init__(
        self, build: Callable[[ConsoleState], bytes], state: Callable[[], ConsoleState], max_age: float
    ) -> None:
        self._build, self._state, self.max_age = build, state, max_age
        self._lock = threading.Lock()
        self._body = b""
        self._version = -1
        self._at = float("-inf")
        self.builds = 0  # how many times it was built (the agent's tests and benchmark read it)

    def get(self) -> bytes:
        with self._lock:  # concurrent scrapers wait for the one build, then share it
            now = time.monotonic()
            if now - self._at >= self.max_age:
                state = self._state()
                if state.version != self._version or not self._body:
                    self._body = self._build(state)
                    self._version = state.version
                    self.builds += 1
                self._at = now
            return self._body


class AgentServer:
    """Serve the state of ``state()`` on ``host:port`` until ``stop()``; ``port`` 0 picks a free one."""

    def __init__(
        self,
        state: Callable[[], ConsoleState],
        host: str,
        port: int,
        *,
        agent: dict[str, Any],
        max_age: float,
        token: str | None = None,
    ) -> None:
        self.agent = agent
        self.token = token
        labels = {"version": str(agent.get("version", ""))}
        self.metrics = Cached(lambda s: exposition(s, labels), state, max_age)
        self.document = Cached(
            lambda s: json_text(state_document(s, agent=self.agent, now=time.time())).encode(), state, max_age
        )
        server_class = _Server6 if ":" in host else ThreadingHTTPServer
        self.httpd = server_class((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="agent-http", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving; bounded: ``shutdown`` waits for the serving loop without a limit, and an agent that
        hangs on SIGTERM is worse than one that drops a request (one did, once, after a long SIGSTOP)."""
        if self._thread is not None and self._thread.is_alive():
            stopper = threading.Thread(target=self.httpd.shutdown, name="agent-http-stop", daemon=True)
            stopper.start()
            stopper.join(timeout)
        self.httpd.server_close()

    def allowed(self, authorization: str | None) -> bool:
        if self.token is None:
            return True
        scheme, _, given = (authorization or "").partition(" ")
        return scheme == "Bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler(server: AgentServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "jetconsole-agent"
        sys_version = ""
        timeout = REQUEST_TIMEOUT_S  # a client that connects and sends nothing frees its thread

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/health":
                self._send(200, b"ok\n", "text/plain; charset=utf-8")
            elif path not in ("/metrics", "/v1/state"):
                self._send(404, b"not found: try /metrics, /v1/state or /health\n", "text/plain; charset=utf-8")
            elif not server.allowed(self.headers.get("Authorization")):
                self._send(401, b"a bearer token is required\n", "text/plain; charset=utf-8", bearer=True)
            elif path == "/metrics":
                self._send(200, server.metrics.get(), METRICS_TYPE)
            else:
                self._send(200, server.document.get(), JSON_TYPE)

        def _send(self, code: int, body: bytes, kind: str, bearer: bool = False) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if bearer:
                self.send_header("WWW-Authenticate", 'Bearer realm="jetconsole-agent"')
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Requests are not logged: a 1 s fleet would write 60 lines a second."""

    return Handler
