"""The Docker source against a private dockerd: list, events, logs, stats, actions, failures."""

from __future__ import annotations

import io
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from console.containers.docker_source import ContainerGone, DockerSource, DockerUnavailable, describe, wait_until
from tests.realparts.private_dockerd import BUSYBOX_IMAGE, PrivateDockerd


@pytest.fixture
def source(dockerd) -> DockerSource:
    src = DockerSource(dockerd.url)
    src.open()
    yield src
    for c in src.api.containers(all=True):
        src.api.remove_container(c["Id"], force=True)
    src.close()


def run_busybox(src: DockerSource, name: str, script: str, **kw) -> str:
    config = src.api.create_container(
        BUSYBOX_IMAGE,
        ["sh", "-c", script],
        name=name,
        labels={"jetconsole.test": "1"},
        environment=kw.pop("environment", None),
        host_config=src.api.create_host_config(network_mode="none", restart_policy={"Name": "unless-stopped"}),
    )
    src.api.start(config["Id"])
    return config["Id"]


def test_list_shows_state_ports_runtime_policy(source: DockerSource) -> None:
    cid = run_busybox(source, "jc-list", "echo hello; sleep 300")
    listed = {c.name: c for c in source.containers()}
    c = listed["jc-list"]
    assert c.id == cid and c.running and c.image == BUSYBOX_IMAGE and c.status.startswith("Up")
    assert c.runtime == "runc" and c.restart_policy == "unless-stopped" and c.labels["jetconsole.test"] == "1"


def test_events_follow_changes(source: DockerSource) -> None:
    seen: list[str] = []
    stream = source.events(since=time.time())

    def read() -> None:
        for event in stream:
            seen.append(f"{event.get('Action')}:{event.get('Actor', {}).get('Attributes', {}).get('name')}")
            if len(seen) >= 3 and any(s.startswith("die:") for s in seen):
                break

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    cid = run_busybox(source, "jc-events", "sleep 300")
    result = source.act("stop", cid, "jc-events", timeout=1)
    assert result.ok and result.message == "stopped jc-events"
    assert wait_until(lambda: any(s == "die:jc-events" for s in seen), timeout=15), seen
    assert "start:jc-events" in seen
    stream.close()


def test_logs_follow_and_inspect_masks_secrets(source: DockerSource) -> None:
    cid = run_busybox(
        source,
        "jc-logs",
        "echo first; echo second; sleep 300",
        environment={"HF_TOKEN": "hf_secretvalue123", "MODEL": "tiny"},
    )
    assert wait_until(lambda: b"second" in b"".join(source.logs(cid, follow=False)), timeout=10)
    data = source.inspect(cid)
    env = dict(e.split("=", 1) for e in data["Config"]["Env"])
    assert env["MODEL"] == "tiny" and "hf_secretvalue123" not in str(data) and env["HF_TOKEN"] != ""


def test_follow_brings_only_new_lines_and_close_ends_a_blocked_reader(source: DockerSource) -> None:
    """``logs(tail=0, follow=True)``: nothing written before it, each line written after as it comes; and
    ``close()`` from another thread ends a reader blocked waiting for the next line."""
    cid = run_busybox(source, "jc-follow", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done")

    def ticks(data: bytes) -> list[int]:
        return [int(n) for n in re.findall(rb"tick (\d+)", data)]

    assert wait_until(lambda: len(ticks(b"".join(source.logs(cid, follow=False)))) >= 2, timeout=15)
    before = max(ticks(b"".join(source.logs(cid, follow=False))))
    stream = source.logs(cid, tail=0, follow=True)
    got: list[bytes] = []
    two_new, ended = threading.Event(), threading.Event()

    def read() -> None:
        try:
            for chunk in stream:
                got.append(chunk)
                if len(ticks(b"".join(got))) >= 2:
                    two_new.set()
        except Exception:  # noqa: BLE001 - a closed stream may end by raising: ended either way
            pass
        finally:
            ended.set()

    threading.Thread(target=read, daemon=True).start()
    assert two_new.wait(15), got
    seen = ticks(b"".join(got))
    assert min(seen) > before and seen == sorted(seen)  # tail=0: nothing old; then in order, as written
    stream.close()  # the reader is blocked waiting for the next tick (one a second)
    assert ended.wait(5)


def test_stats_of_a_busy_container(source: DockerSource) -> None:
    cid = run_busybox(source, "jc-stats", "yes > /dev/null")
    first = source.stats(cid)
    assert first.cpu_pct is None  # one-shot readings: CPU % needs a previous one
    time.sleep(0.5)
    stats = source.stats(cid)
    assert stats.cpu_pct is not None and stats.cpu_pct > 20  # `yes` keeps a core busy
    assert stats.mem_used is not None and stats.mem_limit and stats.mem_limit > 0


def test_actions_and_removed_while_viewed(source: DockerSource) -> None:
    cid = run_busybox(source, "jc-act", "sleep 300")
    assert source.act("restart", cid, "jc-act", timeout=1).ok
    assert source.act("stop", cid, "jc-act", timeout=1).ok
    assert not {c.name: c for c in source.containers()}["jc-act"].running
    assert source.act("start", cid, "jc-act").ok
    dry = source.act("remove", cid, "jc-act", dry_run=True)
    assert dry.dry_run and dry.message == describe("remove", "jc-act") and "cannot be undone" in dry.message
    assert any(c.id == cid for c in source.containers())  # a dry run changes nothing
    assert source.act("remove", cid, "jc-act").ok
    gone = source.act("stop", cid, "jc-act")
    assert not gone.ok and "no longer exists" in gone.message
    with pytest.raises(ContainerGone):
        source.inspect(cid)
    with pytest.raises(ValueError, match="unknown action"):
        source.act("explode", cid)


def test_missing_socket_and_daemon_gone_mid_call(tmp_path) -> None:
    """No socket: said with the install hint.  The daemon killed while a call is in flight (a stop that waits for a
    container which traps SIGTERM): the call ends at once with a result that says so, it does not hang or raise."""
    with pytest.raises(DockerUnavailable) as err:
        DockerSource(f"unix://{tmp_path}/none.sock").open()
    assert "no Docker socket" in str(err.value) and "docker.io" in err.value.hint
    daemon = PrivateDockerd()  # its own daemon: this test kills it
    try:
        daemon.start()
        daemon.import_busybox()
        src = DockerSource(daemon.url, timeout=60)
        src.open()
        cid = run_busybox(src, "jc-stubborn", "trap 'echo got TERM' TERM; echo up; while true; do sleep 1; done")
        assert wait_until(lambda: b"up" in b"".join(src.logs(cid, follow=False)), timeout=15)
        results: list[object] = []
        call = threading.Thread(target=lambda: results.append(src.act("stop", cid, "jc-stubborn", timeout=50)))
        started = time.monotonic()
        call.start()
        # in flight: Docker sent SIGTERM (the container says so) and now waits up to 50 s before SIGKILL
        watcher = DockerSource(daemon.url)  # a second connection: the first is busy with the stop
        watcher.open()
        assert wait_until(lambda: b"got TERM" in b"".join(watcher.logs(cid, follow=False)), 15)
        assert daemon.proc is not None
        daemon.proc.kill()  # the daemon gone mid-call, not before it
        call.join(20)
        assert not call.is_alive() and time.monotonic() - started < 30
        result = results[0]
        assert not result.ok and (  # type: ignore[attr-defined]
            "not answering" in result.message  # type: ignore[attr-defined]
            or "unreachable" in result.message  # type: ignore[attr-defined]
            or "connection" in result.message.lower()  # type: ignore[attr-defined]
        ), result
    finally:
        daemon.cleanup()


def _as_nobody(work: Callable[[io.StringIO], int]) -> tuple[int, str]:
    """``work(out)`` in a forked child that dropped to nobody (no groups): its exit code and what it wrote.  A fork,
    not a new interpreter: this one may live where nobody cannot read (a pyenv under /root), so what the child runs
    is imported by the parent first."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        out = io.StringIO()
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            code = work(out)
        except BaseException as exc:  # noqa: BLE001 - whatever it is, the parent reads it
            out.write(f"child failed: {exc!r}")
        finally:
            os.write(write, out.getvalue().encode())
            os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode()


def test_a_socket_the_user_cannot_open_says_permission_denied_and_how_to_join(dockerd) -> None:
    """For real, not a hand-built exception: as ``nobody`` (outside the docker group) the private daemon's socket
    (root:docker 0660, as dockerd makes it) refuses the connection.  The source says permission denied and how to
    join the group; ``jetconsole containers`` exits 6 with the same words."""
    from console.config import Config
    from console.containers.command import containers

    sock = Path(dockerd.socket)
    assert stat.S_IMODE(sock.stat().st_mode) & 0o006 == 0  # no access for others: the case under test
    config = Config(docker_host=dockerd.url)
    assert containers(config, as_json=True, out=io.StringIO(), err=io.StringIO()) == 0  # as root: it lists

    def open_source(out: io.StringIO) -> int:
        try:
            DockerSource(dockerd.url).open()
            out.write("opened")
        except DockerUnavailable as exc:
            out.write(f"{exc}\n{exc.hint}")
        return 0

    def cli(out: io.StringIO) -> int:
        return containers(config, as_json=False, out=out, err=out)

    before = stat.S_IMODE(Path(dockerd.dir).stat().st_mode)
    try:
        Path(dockerd.dir).chmod(0o711)  # the way to the socket is open; the socket itself is not
        source = _as_nobody(open_source)
        listed = _as_nobody(cli)
    finally:
        Path(dockerd.dir).chmod(before)
    assert source[0] == 0 and "permission denied" in source[1] and "usermod -aG docker" in source[1], source
    assert listed[0] == 6 and "permission denied" in listed[1], listed
