"""What a bench ran against: the server's version, model and command line, and the device (blocking I/O).

Run in a worker thread.  Each lookup degrades to an empty field, never an exception, except
``server_context``'s /v1/models, which says plainly when the server cannot be asked.
"""

from __future__ import annotations

import os
import shlex
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from console.bench.report import DeviceContext, ServerContext
from console.chat.client import EndpointError, list_models
from console.chat.endpoints import Endpoint, canonical
from console.runtime.sanitise import clean
from console.runtime.secrets import mask_argv, mask_command, mask_url
from console.telemetry.model import TelemetrySnapshot

TIMEOUT = 5.0


def server_version(endpoint: Endpoint) -> str:
    """ "sglang X" from /get_server_info, else "vllm X" from /version, else ""."""
    for path, name in (("/get_server_info", "sglang"), ("/version", "vllm")):
        try:
            resp = httpx.get(endpoint.root + path, headers=endpoint.headers(), timeout=TIMEOUT)
            if resp.status_code == 200:
                version = resp.json().get("version")
                if version:
                    return clean(f"{name} {version}")  # the server's words: no terminal control
        except (httpx.HTTPError, ValueError, AttributeError):
            continue
    return ""


def pick_model(endpoint: Endpoint, wanted: str = "") -> tuple[str, str, int | None]:
    """(model id, its root, max_model_len) from /v1/models; raises EndpointError."""
    models = list_models(endpoint, TIMEOUT)
    if not models:
        raise EndpointError(f"{endpoint.url}/models lists no model: is the server still loading?")
    if wanted:
        match = next((m for m in models if m.id == wanted), None)
        if match is None:
            raise EndpointError(f"{endpoint.url} serves {', '.join(m.id for m in models)}, not {wanted!r}")
    else:
        match = models[0]
    return match.id, match.root, match.max_model_len


def launch_from_docker(url: str, docker_host: str = "") -> tuple[str, str]:
    """(command, "container NAME (IMAGE)") of the running container that answers on ``url``; credentials
    in the command (``--api-key X``, ``HF_TOKEN=X``) masked."""
    from console.containers.docker_source import DockerSource
    from console.servers.registry import container_url

    source = DockerSource(docker_host, timeout=5)
    try:
        source.open()
        for c in source.containers():
            if c.running and container_url(c) == canonical(url):
                return mask_command(c.command), f"container {c.name} ({c.image})"
    except Exception:  # noqa: BLE001 - no Docker, or it went away: the process lookup may still answer
        pass
    finally:
        source.close()
    return "", ""


def _listening_inodes(port: int, proc: Path) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    return inodes


def launch_from_process(url: str, proc: Path = Path("/proc")) -> tuple[str, str]:
    """(command line, "process PID") of the local process listening on ``url``'s port; credentials in it
    (``--api-key X``, ``HF_TOKEN=X``) masked and controls made visible as the line is read."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1", "0.0.0.0", socket.gethostname()):
        return "", ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    inodes = {f"socket:[{i}]" for i in _listening_inodes(port, proc)}
    if not inodes:
        return "", ""
    holders: dict[int, list[str]] = {}  # pid -> argv of every process with the listening socket open
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            fds = os.listdir(pid_dir / "fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(pid_dir / "fd" / fd) in inodes:
                    argv = (pid_dir / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")
                    holders[int(pid_dir.name)] = [a.decode("utf-8", "replace") for a in argv]
                    break
            except OSError:
                continue
    # a forked child (an engine process) can hold its server's socket too: the server is the one whose
    # parent does not hold it
    for pid, args in sorted(holders.items()):
        if _ppid(proc, pid) not in holders:
            return clean(shlex.join(mask_argv(args))), f"process {pid}"
    return "", ""


def _ppid(proc: Path, pid: int) -> int | None:
    try:
        return int((proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def server_context(endpoint: Endpoint, model: str = "", docker_host: str = "") -> ServerContext:
    """Everything known about the server at ``endpoint``; raises EndpointError when it cannot be asked."""
    model_id, root, max_len = pick_model(endpoint, model)
    launch, by = launch_from_docker(endpoint.url, docker_host)
    if not launch:
        launch, by = launch_from_process(endpoint.url)
    return ServerContext(
        url=mask_url(endpoint.url),
        model=model_id,
        server=server_version(endpoint),
        model_root=root,
        max_model_len=max_len,
        launch=launch,
        launched_by=by,
    )


def device_context(snap: TelemetrySnapshot | None, power_source: str = "") -> DeviceContext:
    """The device as the newest telemetry sample shows it."""
    hostname = socket.gethostname()
    if snap is None:
        return DeviceContext(hostname=hostname, device=os.uname().machine, power_source=power_source)
    board = snap.board
    device = (
        (board.model if board and board.model else "")
        or ", ".join(g.name for g in snap.gpus)
        or f"{os.uname().machine} (no GPU telemetry)"
    )
    return DeviceContext(
        hostname=(board.hostname if board and board.hostname else hostname),
        device=device,
        power_mode=snap.power_mode.name if snap.power_mode else "",
        jetson_clocks=snap.jetson_clocks,
        power_source=power_source,
    )
