"""The agent's HTTP server on a loopback port (issue 16): its three paths, the bearer token, one build
shared by concurrent scrapers, and a stalled client that holds up nobody."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from console.agent.document import SCHEMA
from console.agent.server import AgentServer
from console.runtime.state import ConsoleState
from tests.unit.test_agent_views import device_state

pytestmark = pytest.mark.timeout(30)
TOKEN = "0123456789abcdef0123456789abcdef"


class Holder:
    """The state the server reads: the test swaps it."""

    def __init__(self, state: ConsoleState) -> None:
        self.state = state

    def __call__(self) -> ConsoleState:
        return self.state


@pytest.fixture
def holder(orin_snapshot) -> Holder:
    return Holder(device_state(orin_snapshot))


def serve(holder: Holder, *, token: str | None = None, max_age: float = 60.0) -> AgentServer:
    server = AgentServer(holder, "127.0.0.1", 0, agent={"version": "test"}, max_age=max_age, token=token)
    server.start()
    return server


@pytest.fixture
def server(holder: Holder) -> Iterator[AgentServer]:
    s = serve(holder)
    yield s
    s.stop()


def url(server: AgentServer, path: str) -> str:
    host, port = server.address
    return f"http://{host}:{port}{path}"


def test_the_three_paths(server: AgentServer) -> None:
    health = httpx.get(url(server, "/health"))
    assert (health.status_code, health.text) == (200, "ok\n")
    metrics = httpx.get(url(server, "/metrics"))
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    names = {f.name for f in text_string_to_metric_families(metrics.text)}
    assert {"jetconsole_gpu_utilization_ratio", "jetconsole_server_ready", "jetconsole_help_flag"} <= names
    state = httpx.get(url(server, "/v1/state"))
    assert state.status_code == 200 and state.json()["schema"] == SCHEMA
    missing = httpx.get(url(server, "/nope"))
    assert missing.status_code == 404 and "/metrics" in missing.text


def test_a_token_is_asked_for_the_state_not_for_health(holder: Holder) -> None:
    server = serve(holder, token=TOKEN)
    try:
        for path in ("/metrics", "/v1/state"):
            bare = httpx.get(url(server, path))
            assert bare.status_code == 401 and bare.headers["www-authenticate"].startswith("Bearer")
            wrong = httpx.get(url(server, path), headers={"Authorization": "Bearer " + "x" * len(TOKEN)})
            assert wrong.status_code == 401 and TOKEN not in wrong.text
            bare_token = httpx.get(url(server, path), headers={"Authorization": TOKEN})  # no scheme: refused
            assert bare_token.status_code == 401
            right = httpx.get(url(server, path), headers={"Authorization": f"Bearer {TOKEN}"})
            assert right.status_code == 200 and TOKEN not in right.text
        assert httpx.get(url(server, "/health")).status_code == 200
    finally:
        server.stop()


def test_concurrent_scrapers_share_one_build(server: AgentServer) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: httpx.get(url(server, "/metrics")).text, range(48)))
    assert len(set(answers)) == 1 and server.metrics.builds == 1


def test_a_body_is_built_again_only_when_the_state_moved_on(holder: Holder) -> None:
    server = serve(holder, max_age=0.0)
    try:
        first = httpx.get(url(server, "/v1/state")).json()
        httpx.get(url(server, "/v1/state"))
        assert server.document.builds == 1  # the same state: the same body
        holder.state = replace(
            holder.state, version=holder.state.version + 1, hud=replace(holder.state.hud, help_flag=False)
        )
        second = httpx.get(url(server, "/v1/state")).json()
        assert server.document.builds == 2
        assert first["help_flag"]["raised"] is True and second["help_flag"]["raised"] is False
    finally:
        server.stop()


def test_a_stalled_client_holds_up_nobody(server: AgentServer) -> None:
    """A scraper that connects and never sends a request (a SIGSTOPped viewer) keeps only its own thread."""
    host, port = server.address
    stalled = [socket.create_connection((host, port)) for _ in range(4)]
    try:
        done = threading.Event()

        def scrape() -> None:
            if httpx.get(url(server, "/metrics"), timeout=5).status_code == 200:
                done.set()

        threading.Thread(target=scrape, daemon=True).start()
        assert done.wait(5)
    finally:
        for s in stalled:
            s.close()


def test_it_listens_on_ipv6_loopback_too(holder: Holder) -> None:
    server = AgentServer(holder, "::1", 0, agent={"version": "test"}, max_age=60.0)
    server.start()
    try:
        host, port = server.address
        assert host == "::1" and httpx.get(f"http://[::1]:{port}/health").text == "ok\n"
    finally:
        server.stop()
