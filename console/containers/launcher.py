"""Create and start a container from a launch plan, then follow its start to Ready or to a
diagnosis (blocking: run in a worker thread; shared by the UI and ``jetconsole launch``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.containers.docker_source import DockerSource
from console.servers.failures import Diagnosis, diagnose, match_line
from console.servers.startup import ORDER, StartupState, feed, health_ok

HEALTH_EVERY_S = 1.0  # while the model loads
HEALTH_SOON_S = 0.2  # once the log says the API server is starting: Ready shows within ~0.2 s
KEEP_LINES = 5000

if TYPE_CHECKING:
    from console.containers.presets.plan import LaunchPlan


@dataclass(frozen=True)
class LaunchEvent:
    kind: str  # phase | diagnosis | ready | exited | timeout | stopped
    state: StartupState
    diagnosis: Diagnosis | None = None
    message: str = ""


def create_and_start(source: DockerSource, plan: LaunchPlan) -> str:
    """docker create + start with the plan's settings; returns the container id."""
    import docker.types

    from console.containers.presets.docker_run import sdk_kwargs  # a launch's, not a start's: the startups follow

    kw = sdk_kwargs(plan)
    api = source.api
    host_config = api.create_host_config(
        binds=kw.get("volumes"),
        network_mode=kw.get("network_mode"),
        runtime=kw.get("runtime"),
        shm_size=kw.get("shm_size"),
        ulimits=[docker.types.Ulimit(**u) for u in kw.get("ulimits", [])] or None,
        ipc_mode=kw.get("ipc_mode"),
        restart_policy=kw.get("restart_policy"),
        port_bindings=kw.get("ports"),
    )
    created = api.create_container(
        kw["image"],
        command=kw.get("command"),
        environment=kw.get("environment"),
        name=kw.get("name"),
        labels=kw.get("labels"),
        host_config=host_config,
        ports=list(kw["ports"]) if kw.get("ports") else None,
    )
    api.start(created["Id"])
    return created["Id"]


def _healthy(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def track(
    source: DockerSource,
    container_id: str,
    health_url: str | None,
    on_event: Callable[[LaunchEvent], None],
    stop: threading.Event | None = None,
    timeout: float = 1800.0,
    clock: Callable[[], float] = time.monotonic,
) -> LaunchEvent:
    """Follow the log and ``/health`` until Ready, exit, timeout or ``stop``; returns the last event."""
    stop = stop or threading.Event()
    lines: queue.Queue[str | None] = queue.Queue()
    stream = source.logs(container_id, tail=KEEP_LINES, follow=True)

    def pump() -> None:
        pending = ""
        try:
            for chunk in stream:
                pending += chunk.decode(errors="replace")
                *complete, pending = pending.replace("\r", "\n").split("\n")
                for line in complete:
                    lines.put(line)
        except Exception:  # noqa: BLE001 - a cut stream ends like a finished one
            pass
        if pending:
            lines.put(pending)
        lines.put(None)

    threading.Thread(target=pump, name="jetconsole-launch-log", daemon=True).start()
    state = StartupState()
    recent: deque[str] = deque(maxlen=KEEP_LINES)
    started = clock()
    next_health = started
    reported: Diagnosis | None = None
    try:
        while True:
            if stop.is_set():
                return _final(on_event, LaunchEvent("stopped", state, reported, "stopped following"))
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                line = ""
            if line is None:  # the container's output ended: it exited
                code = _exit_code(source, container_id)
                found = diagnose(recent)
                return _final(
                    on_event,
                    LaunchEvent("exited", state, found, f"the container exited (code {code}) before it was ready"),
                )
            now = clock()
            if line:
                recent.append(line)
                before = state.phase
                state = feed(state, line, now)
                if state.phase != before:
                    on_event(LaunchEvent("phase", state))
                if match_line(line) is not None:
                    found = diagnose(recent)
                    if found is not None and found != reported:
                        reported = found
                        on_event(LaunchEvent("diagnosis", state, found))
            if health_url and now >= next_health:
                soon = ORDER[state.phase] >= ORDER["api"]
                next_health = now + (HEALTH_SOON_S if soon else HEALTH_EVERY_S)
                if _healthy(health_url):
                    state = health_ok(state, now)
                    return _final(on_event, LaunchEvent("ready", state, None, f"ready in {now - started:.1f} s"))
            if now - started > timeout:
                return _final(
                    on_event, LaunchEvent("timeout", state, diagnose(recent), f"not ready after {timeout:.0f} s")
                )
    finally:
        try:
            stream.close()
        except Exception:  # noqa: BLE001 - already closed
            pass


def _final(on_event: Callable[[LaunchEvent], None], event: LaunchEvent) -> LaunchEvent:
    on_event(event)
    return event


def _exit_code(source: DockerSource, container_id: str) -> int | None:
    try:
        return source.api.inspect_container(container_id)["State"].get("ExitCode")
    except Exception:  # noqa: BLE001 - removed meanwhile
        return None
