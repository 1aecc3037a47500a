"""The daemon.json fix end to end against a private dockerd with an NVIDIA-runtime shim (environment.md §1).

The shim is ``exec runc "$@"`` named as the NVIDIA runtime: after the fix, ``docker info`` reports
the default runtime ``nvidia`` and a container runs under it.  The daemon is this module's own:
the fix restarts it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from console.doctor.daemon_fix import FixPlan, apply_fix, docker_verifier, plan_fix
from console.doctor.daemon_json import DaemonJsonError
from tests.realparts.private_dockerd import BUSYBOX_IMAGE, PrivateDockerd


@pytest.fixture(scope="module")
def daemon(dockerd) -> Iterator[PrivateDockerd]:  # dockerd: the session one says whether dockerd can run here
    own = PrivateDockerd()
    shim = own.dir / "nvidia-container-runtime"
    shim.write_text('#!/bin/sh\nexec runc "$@"\n')
    shim.chmod(0o755)
    own.shim = shim  # type: ignore[attr-defined]
    try:
        own.start()
        own.import_busybox()
        yield own
    finally:
        own.cleanup()


class Restarts:
    """Restarts the private daemon the way systemctl would; counts calls; can fail the first ``fail`` ones."""

    def __init__(self, daemon: PrivateDockerd, fail: int = 0) -> None:
        self.daemon, self.fail, self.calls = daemon, fail, 0

    def __call__(self) -> None:
        self.calls += 1
        self.daemon.stop()
        if self.calls <= self.fail:
            raise RuntimeError("Job for docker.service failed (simulated)")
        self.daemon.start()


def reset(daemon: PrivateDockerd, content: str | None) -> None:
    """Put ``content`` in the daemon's config file (None: no file) and restart it with that.

    dockerd starts with neither no file nor an empty one: it runs on ``{}`` and the file is changed after."""
    daemon.stop()
    daemon.config.write_text(content or "{}\n")
    daemon.start()
    if content is None:
        daemon.config.unlink()
    elif not content:
        daemon.config.write_text("")


def info(daemon: PrivateDockerd) -> dict:
    return docker.DockerClient(base_url=daemon.url).info()


def fix(daemon: PrivateDockerd, restart: Restarts, events: list) -> tuple[FixPlan, object]:
    plan = plan_fix(daemon.config, runtime_path=str(daemon.shim))  # type: ignore[attr-defined]
    result = apply_fix(
        plan, restart, docker_verifier(daemon.url, BUSYBOX_IMAGE), audit=lambda event, data: events.append(event)
    )
    return plan, result


@pytest.mark.parametrize(
    "before",
    [
        None,
        "{}\n",
        "",
        json.dumps(
            {"log-driver": "json-file", "log-opts": {"max-size": "10m"}, "runtimes": {"custom": {"path": "runc"}}},
            indent=2,
        ),
    ],
)
def test_fix_makes_nvidia_the_default_and_keeps_everything_else(daemon: PrivateDockerd, before: str | None) -> None:
    reset(daemon, before)
    assert info(daemon)["DefaultRuntime"] == "runc"
    events: list = []
    restart = Restarts(daemon)
    plan, result = fix(daemon, restart, events)
    assert plan.needed and result.ok, result.steps
    assert restart.calls == 1 and not result.rolled_back
    after = json.loads(daemon.config.read_text())
    old = json.loads(before) if before and before.strip() else {}
    assert {k: v for k, v in after.items() if k not in ("runtimes", "default-runtime")} == {
        k: v for k, v in old.items() if k not in ("runtimes", "default-runtime")
    }
    assert after["runtimes"] == {**old.get("runtimes", {}), "nvidia": {"args": [], "path": str(daemon.shim)}}
    assert after["default-runtime"] == "nvidia"
    real = info(daemon)  # Docker's own word
    assert real["DefaultRuntime"] == "nvidia" and "nvidia" in real["Runtimes"]
    assert ("custom" in real["Runtimes"]) == ("custom" in (before or ""))
    if before is None:
        assert result.backup is None and (daemon.config.stat().st_mode & 0o777) == 0o644
    else:
        assert result.backup is not None and result.backup.read_text() == before  # the old file, kept
    assert events == ["daemon-json.written", "daemon-json.verified"]
    indent = "  " if before and before.startswith('{\n  "') else "    "  # the file's own indentation is kept
    assert f'+{indent}"default-runtime": "nvidia"' in plan.diff


def test_already_right_changes_nothing_and_does_not_restart(daemon: PrivateDockerd) -> None:
    good = (
        json.dumps(
            {"runtimes": {"nvidia": {"args": [], "path": str(daemon.shim)}}, "default-runtime": "nvidia"}, indent=4
        )
        + "\n"
    )
    reset(daemon, good)
    stamp = daemon.config.stat().st_mtime_ns
    restart = Restarts(daemon)
    plan, result = fix(daemon, restart, [])
    assert not plan.needed and result.ok and plan.diff == ""
    assert restart.calls == 0 and daemon.config.stat().st_mtime_ns == stamp
    assert info(daemon)["DefaultRuntime"] == "nvidia"


def test_malformed_file_is_refused_and_untouched(daemon: PrivateDockerd) -> None:
    bad = '{\n  "log-driver": "json-file",\n  "runtimes": {\n}\n'
    daemon.config.write_text(bad)
    with pytest.raises(DaemonJsonError) as err:
        plan_fix(daemon.config)
    assert err.value.line == 5 and str(daemon.config) in str(err.value) and "by hand" in str(err.value)
    assert daemon.config.read_text() == bad
    daemon.config.write_text('["not", "an", "object"]')
    with pytest.raises(DaemonJsonError, match="top level must be an object"):
        plan_fix(daemon.config)


def test_restart_failing_rolls_back_and_brings_the_daemon_back(daemon: PrivateDockerd) -> None:
    before = '{"log-level": "info"}\n'
    reset(daemon, before)
    events: list = []
    restart = Restarts(daemon, fail=1)
    _, result = fix(daemon, restart, events)
    assert not result.ok and result.rolled_back and "simulated" in (result.error or "")
    assert daemon.config.read_text() == before  # byte for byte
    assert restart.calls == 2 and info(daemon)["DefaultRuntime"] == "runc"  # up again, on the old file
    assert events == ["daemon-json.written", "daemon-json.rolled-back"]


def test_container_failing_under_the_new_runtime_rolls_back(daemon: PrivateDockerd, tmp_path: Path) -> None:
    reset(daemon, "{}\n")
    broken = tmp_path / "nvidia-container-runtime"
    broken.write_text("#!/bin/sh\necho 'nvidia-container-cli: initialization error' >&2\nexit 1\n")
    broken.chmod(0o755)
    plan = plan_fix(daemon.config, runtime_path=str(broken))
    result = apply_fix(plan, Restarts(daemon), docker_verifier(daemon.url, BUSYBOX_IMAGE))
    assert not result.ok and result.rolled_back
    assert "did not run under the nvidia runtime" in (result.error or "")
    assert daemon.config.read_text() == "{}\n" and info(daemon)["DefaultRuntime"] == "runc"


NVIDIA_DEFAULT = '{{"runtimes": {{"nvidia": {{"path": "{shim}"}}}}, "default-runtime": "nvidia"}}\n'


def record_clients(monkeypatch: pytest.MonkeyPatch) -> tuple[list[float], list[docker.DockerClient]]:
    """Real docker clients, remembered: every attempt the verifier makes (a down daemon fails the client's
    construction: docker-py asks the daemon for its API version then), every client made, whether closed.
    Holding the clients keeps the garbage collector from closing one the verifier forgot."""
    attempts: list[float] = []
    made: list[docker.DockerClient] = []

    class Recorded(docker.DockerClient):
        def __init__(self, *args, **kwargs) -> None:
            attempts.append(time.monotonic())
            super().__init__(*args, **kwargs)
            self.closed = False
            made.append(self)

        def close(self) -> None:
            self.closed = True
            super().close()

    monkeypatch.setattr(docker, "DockerClient", Recorded)  # what the verifier's ``import docker`` finds
    return attempts, made


def connections(daemon: PrivateDockerd) -> set[int]:
    """This process's sockets connected to the daemon's socket (inodes): ``ss`` lists the daemon's accepted
    ends with the socket's path and their peer; the peers among this process's fds are ours."""
    out = subprocess.run(["ss", "-xn"], capture_output=True, text=True, check=True).stdout
    peers = set()
    for line in out.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[4] == str(daemon.socket) and fields[7].isdigit():
            peers.add(int(fields[7]))
    ours = set()
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:["):
                ours.add(int(link[len("socket:[") : -1]))
    return peers & ours


def connections_held(daemon: PrivateDockerd) -> set[int]:
    """``connections`` once the garbage collector has closed those of clients nobody holds (a quick client
    elsewhere, PrivateDockerd's own ping): what is left is held by a live object, such as a recorded client."""
    gc.collect()
    return connections(daemon)


def assert_all_closed(daemon: PrivateDockerd, made: list[docker.DockerClient], before: set[int]) -> None:
    assert made and all(c.closed for c in made)
    assert connections_held(daemon) <= before  # no connection of a verifier's client is left open on the daemon


def test_verifier_against_a_running_daemon(daemon: PrivateDockerd, monkeypatch: pytest.MonkeyPatch) -> None:
    """Up, with the NVIDIA runtime the default: nothing to report (ping, info, a container ran); up on runc:
    the verifier names the runtime.  Either way the client it made is closed, no connection left."""
    reset(daemon, NVIDIA_DEFAULT.format(shim=daemon.shim))  # type: ignore[attr-defined]
    before = connections_held(daemon)
    attempts, made = record_clients(monkeypatch)
    assert docker_verifier(daemon.url, BUSYBOX_IMAGE)() is None
    assert len(attempts) == len(made) == 1
    assert_all_closed(daemon, made, before)
    reset(daemon, "{}\n")
    before = connections_held(daemon)
    attempts, made = record_clients(monkeypatch)
    runc = docker_verifier(daemon.url, BUSYBOX_IMAGE)()
    assert runc == 'docker info reports the default runtime "runc", not "nvidia"'
    assert_all_closed(daemon, made, before)


def test_verifier_waits_for_the_daemon_to_come_back(daemon: PrivateDockerd, monkeypatch: pytest.MonkeyPatch) -> None:
    """Down when the verifier starts (as after the fix's restart): it keeps asking; once dockerd is back on
    the NVIDIA default, the check passes.  The failed tries left no client; the one made is closed."""
    reset(daemon, NVIDIA_DEFAULT.format(shim=daemon.shim))  # type: ignore[attr-defined]
    daemon.stop()
    before = connections_held(daemon)
    attempts, made = record_clients(monkeypatch)
    result: list[str | None] = []
    verifier = threading.Thread(target=lambda: result.append(docker_verifier(daemon.url, BUSYBOX_IMAGE)()))
    verifier.start()
    try:
        deadline = time.monotonic() + 30
        while len(attempts) < 2 and time.monotonic() < deadline:  # it has asked the down daemon, twice
            time.sleep(0.05)
        assert len(attempts) >= 2 and not made and verifier.is_alive() and not result
    finally:
        daemon.start()
        verifier.join(90)  # the verifier's own deadline is 60 s; a container run on top
    assert not verifier.is_alive() and result == [None]
    assert len(made) == 1 and len(attempts) > len(made)  # the tries against the down daemon made no client
    assert_all_closed(daemon, made, before)


def test_verifier_reports_a_daemon_that_never_comes_back(
    daemon: PrivateDockerd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Down for good: after its wait the verifier returns Docker's own error for the last try, no client open."""
    daemon.stop()
    try:
        attempts, made = record_clients(monkeypatch)
        started = time.monotonic()
        result = docker_verifier(daemon.url, BUSYBOX_IMAGE, wait_s=2)()
        took = time.monotonic() - started
    finally:
        daemon.start()
    assert result is not None and result.startswith("Docker did not come back within 2 s ("), result
    assert "Error while fetching server API version" in result  # docker-py's words, from the last try
    assert 2 <= took < 30 and len(attempts) >= 2 and made == []  # it kept trying; nothing was left to close


def test_unwritable_directory_is_refused_before_anything_changes(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("needs root to mount a read-only tmpfs (scripts/test.sh runs as root)")
    etc = tmp_path / "docker"
    etc.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(etc)], check=True)
    try:
        (etc / "daemon.json").write_text("{}\n")
        subprocess.run(["mount", "-o", "remount,ro", str(etc)], check=True)
        plan = plan_fix(etc / "daemon.json")
        restart = []
        result = apply_fix(plan, lambda: restart.append(1), lambda: None)
        assert not result.ok and "cannot write to" in (result.error or "") and "run as root" in result.error
        assert restart == [] and (etc / "daemon.json").read_text() == "{}\n"
        assert sorted(p.name for p in etc.iterdir()) == ["daemon.json"]  # no backup, no temp file
    finally:
        subprocess.run(["umount", "-l", str(etc)], check=False)


def test_doctor_command_reads_the_real_daemon(daemon: PrivateDockerd) -> None:
    """``jetconsole doctor --json`` against the private daemon: Docker's own version and runtimes as evidence,
    and the daemon.json check failing on its file until the fix."""
    import sys

    reset(daemon, '{"log-level": "info"}\n')
    gpu = daemon.dir / "nvidia0"
    gpu.touch()
    code = (
        "import sys, json; from pathlib import Path; from console.doctor.check import Probe, exit_code;"
        "from console.doctor.checks import run_all;"
        f"p = Probe(docker_host={daemon.url!r}, daemon_json=Path({str(daemon.config)!r}), "
        f"gpu_markers=(Path({str(gpu)!r}),));"
        "cs = run_all(p); print(json.dumps([c.to_dict() for c in cs])); sys.exit(exit_code(cs))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    checks = {c["id"]: c for c in json.loads(done.stdout)}
    assert done.returncode == 2
    version = docker.DockerClient(base_url=daemon.url).version()["Version"]
    assert checks["docker"]["status"] == "ok" and checks["docker"]["evidence"][0].startswith(f"Docker {version} ")
    assert "default runtime runc" in checks["docker"]["evidence"][1]
    assert (
        checks["daemon-json"]["status"] == "fail"
        and "docker info: default runtime runc" in checks["daemon-json"]["evidence"]
    )
    fix(daemon, Restarts(daemon), [])
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert {c["id"]: c["status"] for c in json.loads(done.stdout)}["daemon-json"] == "ok"
