"""Docker access through the docker SDK (blocking: call from worker threads only).

Errors a user can fix become DockerUnavailable with a plain reason and what to do:
no socket (not installed / not running), permission denied (docker group), daemon
down or restarting.  A container removed while viewed is a NotFound the caller shows.

Everything the daemon says (names, images, status, labels, env, command, ports, inspect and
info documents, its error messages) is cleaned here, before a model object or a caller keeps
it: a container's creator chooses its name, labels and env.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any, Protocol

from console.containers.model import ActionResult, ContainerInfo, ContainerStats
from console.runtime.sanitise import clean, clean_mapping, clean_opt, clean_tree
from console.runtime.secrets import mask_command, mask_inspect

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
ACTIONS = ("start", "stop", "restart", "remove")


class ByteStream(Protocol):
    """A container's log as raw byte chunks; ``close()`` (from any thread) ends it."""

    def __iter__(self) -> Iterator[bytes]: ...
    def close(self) -> None: ...


class DockerUnavailable(Exception):
    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(clean(reason))
        self.hint = clean(hint)


class ContainerGone(Exception):
    """The container was removed (or never existed)."""


def docker_url(configured: str = "") -> str:
    return configured or os.environ.get("DOCKER_HOST", "") or DEFAULT_SOCKET


def explain(exc: BaseException, url: str) -> DockerUnavailable:
    """Turn a connection failure into a reason and a fix."""
    text = f"{type(exc).__name__}: {exc}"
    path = url.removeprefix("unix://")
    if isinstance(exc, PermissionError) or "Permission denied" in text or "PermissionError" in text:
        return DockerUnavailable(
            f"permission denied on {path}",
            "add your user to the docker group: sudo usermod -aG docker $USER, then log in again",
        )
    if url.startswith("unix://") and not os.path.exists(path):
        return DockerUnavailable(
            f"no Docker socket at {path}",
            "install Docker (apt-get install docker.io) or start it: sudo systemctl start docker",
        )
    if "Connection refused" in text or "ConnectionRefused" in text:
        return DockerUnavailable(f"Docker daemon not answering at {url}", "sudo systemctl restart docker")
    return DockerUnavailable(f"Docker unreachable at {url}: {text}", "check sudo systemctl status docker")


def _ports(raw: list[dict[str, Any]]) -> tuple[str, ...]:
    out = []
    for p in raw or []:
        if p.get("PublicPort"):
            out.append(f"{p.get('IP', '')}:{p['PublicPort']}->{p['PrivatePort']}/{p.get('Type', 'tcp')}".lstrip(":"))
        else:
            out.append(f"{p['PrivatePort']}/{p.get('Type', 'tcp')}")
    return tuple(sorted({clean(port) for port in out}))


def _text(value: Any) -> str:
    return clean(str(value)) if value is not None else ""


def _opt(value: Any) -> str | None:
    return clean_opt(str(value)) if value is not None else None


def _document(doc: dict[str, Any]) -> dict[str, Any]:
    """A JSON document of the daemon's (inspect, info, version) with every string in it cleaned."""
    cleaned: dict[str, Any] = clean_tree(doc)
    return cleaned


def _created(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _health(status: str) -> str | None:
    for word in ("unhealthy", "healthy", "health: starting"):
        if f"({word})" in status:
            return word.removeprefix("health: ")
    return None


def container_from_list(row: dict[str, Any], details: dict[str, Any] | None = None) -> ContainerInfo:
    """One row of GET /containers/json (plus cached inspect details) as a ContainerInfo, every string cleaned."""
    host = (details or {}).get("HostConfig") or {}
    policy = (host.get("RestartPolicy") or {}).get("Name") or None
    status = _text(row.get("Status", ""))
    return ContainerInfo(
        id=_text(row["Id"]),
        name=_text((row.get("Names") or ["/?"])[0]).lstrip("/"),
        image=_text(row.get("Image", "")),
        state=_text(row.get("State", "unknown")),
        status=status,
        health=_health(status),
        created=_created(row.get("Created", 0)),
        started_at=_opt(((details or {}).get("State") or {}).get("StartedAt")),
        ports=_ports(row.get("Ports") or []),
        runtime=_opt(host.get("Runtime")),
        restart_policy=_opt(policy),
        network=_opt((row.get("HostConfig") or {}).get("NetworkMode")),
        labels=clean_mapping(row.get("Labels")),
        command=mask_command(_text(row.get("Command", ""))),  # ``--api-key X`` in it is shown nowhere
    )


def cpu_percent(stats: dict[str, Any]) -> float | None:
    """CPU % the way `docker stats` computes it (100% = one core)."""
    try:
        cpu, pre = stats["cpu_stats"], stats["precpu_stats"]
        delta = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
        system = cpu["system_cpu_usage"] - pre.get("system_cpu_usage", 0)
        cpus = cpu.get("online_cpus") or len(cpu["cpu_usage"].get("percpu_usage") or [1])
    except (KeyError, TypeError):
        return None
    return 100.0 * delta / system * cpus if system > 0 and delta >= 0 else 0.0


def memory_used(stats: dict[str, Any]) -> tuple[int | None, int | None]:
    mem = stats.get("memory_stats") or {}
    usage = mem.get("usage")
    if usage is None:
        return None, None
    cache = (mem.get("stats") or {}).get("inactive_file", (mem.get("stats") or {}).get("cache", 0))
    return max(0, usage - cache), mem.get("limit")


def stats_from(container_id: str, raw: dict[str, Any], previous: dict[str, dict[str, Any]]) -> ContainerStats:
    """A one-shot stats reading as ContainerStats; ``previous`` keeps each container's last
    cpu_stats (updated here) so CPU % is the difference between two readings."""
    before = previous.get(container_id)
    previous[container_id] = raw.get("cpu_stats") or {}
    if before is not None:
        raw = {**raw, "precpu_stats": before}
    used, limit = memory_used(raw)
    return ContainerStats(container_id, cpu_percent(raw) if before is not None else None, used, limit)


class DockerSource:
    """One connection to one daemon.  Every method blocks; run them in worker threads."""

    def __init__(self, url: str = "", timeout: int = 10) -> None:
        self.url = docker_url(url)
        self.timeout = timeout
        self._api: Any = None
        self._details: dict[str, dict[str, Any]] = {}
        self._cpu: dict[str, dict[str, Any]] = {}  # previous cpu_stats per container

    def open(self) -> None:
        path = self.url.removeprefix("unix://")
        if self.url.startswith("unix://") and not os.path.exists(path):
            raise explain(FileNotFoundError(path), self.url)
        import docker  # deferred: costs ~0.1 s, only when Docker is used

        try:
            api = docker.APIClient(base_url=self.url, version="auto", timeout=self.timeout)
            api.ping()
        except Exception as exc:
            raise explain(exc, self.url) from exc
        self._api = api

    @property
    def api(self) -> Any:
        if self._api is None:
            raise DockerUnavailable("Docker not connected")
        return self._api

    def close(self) -> None:
        api, self._api = self._api, None
        if api is not None:
            api.close()

    def version(self) -> dict[str, Any]:
        return _document(self.api.version())

    def info(self) -> dict[str, Any]:
        return _document(self.api.info())

    # ---- listing --------------------------------------------------------------------
    def containers(self) -> tuple[ContainerInfo, ...]:
        """Every container, one list call; runtime and restart policy from a cached inspect."""
        rows = self.api.containers(all=True)
        live = {row["Id"] for row in rows}
        self._details = {k: v for k, v in self._details.items() if k in live}
        out = []
        for row in rows:
            if row["Id"] not in self._details:
                try:
                    self._details[row["Id"]] = self.api.inspect_container(row["Id"])
                except Exception:  # noqa: BLE001 - removed between list and inspect: list it plainly
                    pass
            out.append(container_from_list(row, self._details.get(row["Id"])))
        return tuple(sorted(out, key=lambda c: c.name))

    def pids(self, container_id: str) -> tuple[int, ...]:
        """Host PIDs of a running container's processes (``docker top``)."""
        top = self.api.top(container_id, ps_args="-eo pid")
        titles = [title.upper() for title in top.get("Titles") or []]
        column = titles.index("PID") if "PID" in titles else 0
        return tuple(int(row[column]) for row in top.get("Processes") or [] if row[column].isdigit())

    def stats(self, container_id: str) -> ContainerStats:
        """One reading (``one_shot``: the daemon does not sample twice); CPU % comes from the
        difference with this container's previous reading, so the first one has none."""
        return stats_from(container_id, self.api.stats(container_id, stream=False, one_shot=True), self._cpu)

    def events(self, since: float | None = None) -> Iterator[dict[str, Any]]:
        """Container events as they happen (blocks between events)."""
        return self.api.events(decode=True, since=since, filters={"type": "container"})

    # ---- one container ------------------------------------------------------------------
    def inspect(self, container_id: str, masked: bool = True) -> dict[str, Any]:
        import docker.errors

        try:
            data = self.api.inspect_container(container_id)
        except docker.errors.NotFound as exc:
            raise ContainerGone(container_id) from exc
        if masked:  # env, command, entrypoint and args
            data = mask_inspect(data)
        return _document(data)

    def logs(self, container_id: str, tail: int = 2000, follow: bool = True, timestamps: bool = False) -> ByteStream:
        """The log as raw byte chunks (stdout and stderr; ``tail`` -1: all; ``timestamps``: Docker's before
        each line); the result has ``close()``."""
        import docker.errors

        try:
            tty = bool((self.api.inspect_container(container_id).get("Config") or {}).get("Tty"))
        except docker.errors.NotFound as exc:
            raise ContainerGone(container_id) from exc
        if self.url.startswith("unix://"):
            from console.containers.logstream import LogStream

            try:
                return LogStream(self.url.removeprefix("unix://"), container_id, tail, follow, tty, timestamps)
            except LookupError as exc:
                raise ContainerGone(container_id) from exc
        try:
            return self.api.logs(
                container_id, stream=True, follow=follow, tail=tail if tail >= 0 else "all", timestamps=timestamps
            )
        except docker.errors.NotFound as exc:
            raise ContainerGone(container_id) from exc

    def act(
        self, action: str, container_id: str, name: str = "", dry_run: bool = False, timeout: int = 10
    ) -> ActionResult:
        """start / stop / restart / remove; never raises for Docker errors: the result says."""
        import docker.errors

        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
        target = name or container_id[:12]
        if dry_run:
            return ActionResult(True, action, target, describe(action, target, timeout), dry_run=True)
        try:
            if action == "start":
                self.api.start(container_id)
            elif action == "stop":
                self.api.stop(container_id, timeout=timeout)
            elif action == "restart":
                self.api.restart(container_id, timeout=timeout)
            else:
                self.api.remove_container(container_id, force=True)
        except docker.errors.NotFound:
            return ActionResult(False, action, target, f"{target} no longer exists (removed elsewhere)")
        except docker.errors.APIError as exc:
            return ActionResult(False, action, target, clean(f"Docker refused to {action} {target}: {exc.explanation}"))
        except Exception as exc:  # noqa: BLE001 - daemon gone mid-call: say so
            return ActionResult(False, action, target, str(explain(exc, self.url)))
        return ActionResult(True, action, target, f"{past(action)} {target}")


def describe(action: str, target: str, timeout: int = 10) -> str:
    """The confirmation text: exactly what will happen."""
    return {
        "start": f"Start {target}.",
        "stop": f"Stop {target}: SIGTERM, then SIGKILL after {timeout} s. The container and its data stay.",
        "restart": f"Restart {target}: stop (SIGTERM, SIGKILL after {timeout} s), then start again.",
        "remove": f"Remove {target}: kill it if running and delete the container and its writable layer. "
        "Named volumes and the image stay. This cannot be undone.",
    }[action]


def past(action: str) -> str:
    return {"start": "started", "stop": "stopped", "restart": "restarted", "remove": "removed"}[action]


def wait_until(predicate: Any, timeout: float = 10.0, step: float = 0.1) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (for scripts and tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
