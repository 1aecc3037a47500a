"""``docker_verifier`` when a client is made but its ping fails: every such client is closed before the next try.

Only this path is left to a stand-in docker module, because the real daemon cannot be put in that state on
purpose: docker-py's client asks the daemon for its API version while it is made, so against a stopped
dockerd the construction itself fails and there is no client to close; a made client's ping failing takes
dockerd dying between the two calls.  The rest (a running daemon's result, the daemon coming back, never
coming back, no connection left open) is proved against a private dockerd in
tests/realparts/test_daemon_json_fix.py (``test_verifier_*``).
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from console.doctor import daemon_fix


class FakeClient:
    def __init__(self, up: bool, runtime: str, images: list) -> None:
        self.up, self.runtime, self.closed = up, runtime, False
        self.images = SimpleNamespace(list=lambda: images)
        self.containers = SimpleNamespace(run=lambda *a, **k: None)

    def ping(self) -> bool:
        if not self.up:
            raise ConnectionError("connection refused")
        return True

    def info(self) -> dict:
        return {"DefaultRuntime": self.runtime}

    def close(self) -> None:
        self.closed = True


def fake_docker(
    monkeypatch: pytest.MonkeyPatch, down: int, runtime: str = "nvidia", images: list | None = None
) -> list[FakeClient]:
    """A docker module whose first ``down`` clients are made but cannot reach the daemon."""
    made: list[FakeClient] = []

    def client(**_kw) -> FakeClient:
        made.append(FakeClient(len(made) >= down, runtime, images or []))
        return made[-1]

    monkeypatch.setitem(sys.modules, "docker", SimpleNamespace(DockerClient=client, from_env=client))
    monkeypatch.setattr(daemon_fix.time, "sleep", lambda _s: None)
    return made


def test_clients_whose_ping_failed_are_closed_once_docker_is_back(monkeypatch: pytest.MonkeyPatch) -> None:
    made = fake_docker(monkeypatch, down=2)
    assert daemon_fix.docker_verifier("unix:///fake.sock")() is None  # no local image: no container run
    assert len(made) == 3 and all(c.closed for c in made)


def test_clients_whose_ping_failed_are_closed_when_docker_never_comes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    made = fake_docker(monkeypatch, down=10**6)
    assert daemon_fix.docker_verifier(None, wait_s=0)().startswith("Docker did not come back within 0 s")
    assert made and all(c.closed for c in made)
