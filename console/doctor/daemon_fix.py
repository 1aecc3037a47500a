"""Apply the daemon.json fix: back up, write atomically, restart Docker, verify, roll back on failure.

Blocking; the CLI runs it directly and the UI in a worker thread.  Restarting and verifying
are passed in (:func:`restart_command` / :func:`docker_verifier` build the real ones), so the
same steps run against a private dockerd in the tests.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.doctor.daemon_json import (
    RUNTIME,
    RUNTIME_PATH,
    DaemonJsonError,
    RuntimeState,
    diff,
    fixed,
    parse,
    render,
    runtime_state,
)

DEFAULT_PATH = Path("/etc/docker/daemon.json")
Audit = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class FixPlan:
    """What the fix would do to ``path``; ``old_text`` None: the file does not exist yet."""

    path: Path
    old_text: str | None
    new_text: str
    state: RuntimeState

    @property
    def needed(self) -> bool:
        return not self.state.ok

    @property
    def diff(self) -> str:
        return diff(self.old_text, self.new_text, str(self.path)) if self.needed else ""


@dataclass
class FixResult:
    ok: bool
    steps: list[str] = field(default_factory=list)
    backup: Path | None = None
    rolled_back: bool = False
    error: str | None = None


def plan_fix(path: Path = DEFAULT_PATH, runtime_path: str = RUNTIME_PATH) -> FixPlan:
    """Read and check ``path``; DaemonJsonError when it is malformed or unreadable (nothing is written)."""
    try:
        old = path.read_text()
    except FileNotFoundError:
        old = None
    except OSError as exc:
        raise DaemonJsonError(str(path), f"cannot read it ({exc.strerror}); run as root") from exc
    config = parse(old or "", str(path))
    state = runtime_state(config)
    new = render(fixed(config, runtime_path), old) if not state.ok else (old or "")
    return FixPlan(path, old, new, state)


def write_atomic(path: Path, text: str, like: os.stat_result | None) -> None:
    """Temp file beside ``path``, fsync, same owner and mode as ``like`` (0644 when new), rename, fsync dir."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, (like.st_mode & 0o7777) if like else 0o644)
        if like is not None and (like.st_uid, like.st_gid) != (os.getuid(), os.getgid()):
            os.chown(tmp, like.st_uid, like.st_gid)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def apply_fix(
    plan: FixPlan, restart: Callable[[], None], verify: Callable[[], str | None], audit: Audit | None = None
) -> FixResult:
    """Back up, write, restart, verify; roll back (old file, restart again) when restart or verify fails."""
    log = audit or (lambda _event, _data: None)
    if not plan.needed:
        return FixResult(
            True, [f"{plan.path}: the nvidia runtime is defined and the default; nothing written, Docker not restarted"]
        )
    result = FixResult(False)
    if not os.access(plan.path.parent, os.W_OK):
        result.error = f"cannot write to {plan.path.parent}: run as root (sudo jetconsole doctor --fix daemon-json)"
        log("daemon-json.refused", {"path": str(plan.path), "error": result.error})
        return result
    like = plan.path.stat() if plan.old_text is not None else None
    if plan.old_text is not None:
        result.backup = plan.path.with_name(f"{plan.path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copy2(plan.path, result.backup)
        result.steps.append(f"backed up to {result.backup}")
    write_atomic(plan.path, plan.new_text, like)
    result.steps.append(f"wrote {plan.path}")
    log("daemon-json.written", {"path": str(plan.path), "backup": str(result.backup or ""), "diff": plan.diff})
    try:
        restart()
        result.steps.append("restarted Docker")
        problem = verify()
    except Exception as exc:  # noqa: BLE001 - any failure of the restart is rolled back
        problem = f"restarting Docker failed: {exc}"
    if problem is None:
        result.ok = True
        result.steps.append(f'verified: docker info reports the default runtime "{RUNTIME}"')
        log("daemon-json.verified", {"path": str(plan.path)})
        return result
    result.error = problem
    result.steps.append(f"FAILED: {problem}")
    _roll_back(plan, like, restart, result, log)
    return result


def _roll_back(
    plan: FixPlan, like: os.stat_result | None, restart: Callable[[], None], result: FixResult, log: Audit
) -> None:
    if plan.old_text is None:
        plan.path.unlink(missing_ok=True)
    else:
        write_atomic(plan.path, plan.old_text, like)
    result.rolled_back = True
    result.steps.append(f"rolled back {plan.path} to what it was")
    try:
        restart()
        result.steps.append("restarted Docker with the old file")
    except Exception as exc:  # noqa: BLE001
        result.steps.append(f"restarting Docker with the old file failed too: {exc}; start it by hand")
    log("daemon-json.rolled-back", {"path": str(plan.path), "error": result.error or ""})


# ---- the real restart and verification -----------------------------------------------------------------------


def restart_command(configured: str = "") -> list[str] | None:
    """``[doctor] docker_restart`` when set, else systemctl where systemd runs; None: no way known."""
    if configured.strip():
        return shlex.split(configured)
    if shutil.which("systemctl") and Path("/run/systemd/system").is_dir():
        return ["systemctl", "restart", "docker"]
    return None


def run_command(argv: list[str], timeout: float = 120.0) -> Callable[[], None]:
    def run() -> None:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RuntimeError(f"{shlex.join(argv)} exited {done.returncode}: {' / '.join(tail)}")

    return run


def docker_verifier(base_url: str | None, image: str | None = None, wait_s: float = 60.0) -> Callable[[], str | None]:
    """Wait for the daemon, check ``docker info``'s default runtime, start a container (``image``, or the
    smallest local image; none: the container step is skipped)."""

    def verify() -> str | None:
        import docker

        deadline = time.monotonic() + wait_s
        while True:
            client = None
            try:
                client = docker.DockerClient(base_url=base_url, timeout=30) if base_url else docker.from_env(timeout=30)
                client.ping()
                break
            except Exception as exc:  # noqa: BLE001 - not up yet
                if client is not None:
                    client.close()
                if time.monotonic() > deadline:
                    return f"Docker did not come back within {wait_s:.0f} s ({exc})"
                time.sleep(0.5)
        try:
            default = client.info().get("DefaultRuntime")
            if default != RUNTIME:
                return f'docker info reports the default runtime "{default}", not "{RUNTIME}"'
            ref = image or _smallest_image(client)
            if ref is None:
                return None
            try:
                client.containers.run(ref, ["true"], remove=True, network_mode="none")
            except Exception as exc:  # noqa: BLE001
                return f"a container ({ref}) did not run under the nvidia runtime: {exc}"
            return None
        finally:
            client.close()

    return verify


def _smallest_image(client: Any) -> str | None:
    images = [i for i in client.images.list() if i.tags]
    return min(images, key=lambda i: i.attrs.get("Size", 0)).tags[0] if images else None
