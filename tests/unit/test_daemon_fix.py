"""``docker_verifier`` against a stand-in docker module: every client it makes is closed."""

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
    """A docker module whose first ``down`` clients cannot reach the daemon."""
    made: list[FakeClient] = []

    def client(**_kw) -> FakeClient:
        made.append(FakeClient(len(made) >= down, runtime, images or []))
        return made[-1]

    monkeypatch.setitem(sys.modules, "docker", SimpleNamespace(DockerClient=client, from_env=client))
    monkeypatch.setattr(daemon_fix.time, "sleep", lambda _s: None)
    return made


def test_every_client_is_closed_once_docker_is_back(monkeypatch: pytest.MonkeyPatch) -> None:
    made = fake_docker(monkeypatch, down=2)
    assert daemon_fix.docker_verifier("unix:///fake.sock")() is None  # no local image: no container run
    assert len(made) == 3 and all(c.closed for c in made)
    made = fake_docker(monkeypatch, down=0, runtime="runc")
    assert 'default runtime "runc"' in daemon_fix.docker_verifier(None)()
    assert [c.closed for c in made] == [True]


def test_clients_are_closed_when_docker_never_comes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    made = fake_docker(monkeypatch, down=10**6)
    assert daemon_fix.docker_verifier(None, wait_s=0)().startswith("Docker did not come back within 0 s")
    assert made and all(c.closed for c in made)
