"""One inference server seen from outside: /health, /version, /v1/models and /metrics.

``ServerProbe.poll()`` is blocking (httpx) and never raises: an unreachable server, a
404 on /metrics (SGLang without --enable-metrics) or garbage become fields of the
``ServerStatus`` it returns.  Run it in a poller thread, one per server.  What the server says
(version, model ids, error texts, metric labels) is cleaned here and in the parsers it calls.
"""

from __future__ import annotations

import time

import httpx

from console.chat.client import new_client
from console.chat.endpoints import Endpoint
from console.chat.wire import ModelInfo
from console.runtime.sanitise import clean
from console.servers.metrics import MetricsError, MetricsWindow, ServerMetrics, keep_known, parse
from console.servers.status import ServerStatus

SLOW_EVERY = 10  # /version and /v1/models change only on restart: every 10th poll


class ServerProbe:
    def __init__(self, endpoint: Endpoint, window_s: float = 60.0, timeout: float = 3.0) -> None:
        self.endpoint = endpoint
        self.window = MetricsWindow(window_s)
        self.timeout = timeout
        self._client: httpx.Client | None = None
        self._polls = 0
        self._version: str | None = None
        self._models: tuple[ModelInfo, ...] = ()

    def _get(self, path: str) -> httpx.Response:
        if self._client is None:
            self._client = new_client(self.endpoint.root, timeout=self.timeout, headers=self.endpoint.headers())
        return self._client.get(self.endpoint.root + path)

    def poll(self) -> ServerStatus:
        root = self.endpoint.root
        try:
            health = self._get("/health").status_code
        except httpx.HTTPError as exc:
            self._polls = 0  # ask for version and models again once it is back
            self._version, self._models = None, ()
            return ServerStatus(
                root, False, error=clean(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            )
        slow = self._polls % SLOW_EVERY == 0 or not self._models
        self._polls += 1
        if slow:
            self._version, self._models = self._slow_facts()
        metrics, note = self._metrics()
        return ServerStatus(root, True, health, self._version, self._models, metrics, note)

    def _slow_facts(self) -> tuple[str | None, tuple[ModelInfo, ...]]:
        version, models = self._version, self._models
        try:
            resp = self._get("/version")
            if resp.status_code == 200:
                version = clean(str(resp.json().get("version") or "")) or None
        except (httpx.HTTPError, ValueError, AttributeError):
            pass
        try:
            resp = self._get("/v1/models")
            if resp.status_code == 200:
                rows = resp.json().get("data") or []
                models = tuple(ModelInfo.from_row(r) for r in rows if isinstance(r, dict))
        except (httpx.HTTPError, ValueError, AttributeError):
            pass
        return version, models

    def _metrics(self) -> tuple[ServerMetrics | None, str | None]:
        try:
            resp = self._get("/metrics")
        except httpx.HTTPError as exc:
            return None, f"/metrics: {type(exc).__name__}"
        if resp.status_code == 404:
            return None, "no /metrics (SGLang needs --enable-metrics)"
        if resp.status_code != 200:
            return None, f"/metrics answered HTTP {resp.status_code}"
        try:
            text = keep_known(resp.text)
            if not text.strip() and resp.text.strip():
                parse(resp.text)  # nothing known kept: not Prometheus text (an HTML page) raises here
            self.window.add(parse(text), time.monotonic())
        except MetricsError as exc:
            return None, clean(f"/metrics unreadable: {exc}")
        return self.window.current(), None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
