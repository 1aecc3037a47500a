"""Choose telemetry sources and explain every one that is missing (blocking; no Textual).

auto: the jtop service where it runs (Jetson), else NVML for GPUs plus /proc for the
host, else /proc alone.  The report lists each source with what it found or why not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from console.telemetry.jtop_source import JtopSource
from console.telemetry.model import SourceReport, SourceStatus
from console.telemetry.nvml_source import NvmlSource
from console.telemetry.procfs import ProcfsSource
from console.telemetry.source import SourceUnavailable, TelemetrySource

CHOICES = ("auto", "jtop", "nvml", "procfs")
DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"


def jetson_model(root: Path = Path("/")) -> str | None:
    """The device-tree model string when it names a Jetson, else None."""
    try:
        model = (root / "proc/device-tree/model").read_bytes().decode(errors="replace").strip("\x00 \n")
    except OSError:
        return None
    return model if "jetson" in model.lower() or "thor" in model.lower() else None


def docker_status(docker_host: str = "") -> SourceStatus:
    """Where Docker would be reached; containers arrive in a later release of the panel."""
    host = docker_host or os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        return SourceStatus("docker", True, f"configured at {host}")
    path = host.removeprefix("unix://") or DEFAULT_DOCKER_SOCKET
    if os.path.exists(path):
        return SourceStatus("docker", True, f"socket {path}")
    return SourceStatus(
        "docker",
        False,
        f"no Docker socket at {path}",
        "install Docker (apt-get install docker.io) or set endpoints.docker_host",
    )


@dataclass
class Discovery:
    sources: list[TelemetrySource]
    report: SourceReport


def _try(source: TelemetrySource) -> SourceStatus:
    try:
        source.open()
    except SourceUnavailable as exc:
        return SourceStatus(source.name, False, str(exc), exc.hint)
    except Exception as exc:  # noqa: BLE001 - a broken driver must not stop the console
        return SourceStatus(source.name, False, f"{type(exc).__name__}: {exc}")
    return SourceStatus(source.name, True, "in use")


def discover(choice: str = "auto", interval: float = 1.0, docker_host: str = "", proc_root: str = "/") -> Discovery:
    """Open the sources for ``choice``; returns the open ones in priority order."""
    if choice not in CHOICES:
        raise ValueError(f"telemetry source must be one of {', '.join(CHOICES)}")
    statuses: list[SourceStatus] = []
    opened: list[TelemetrySource] = []
    want_jtop = choice in ("auto", "jtop")
    want_nvml = choice in ("auto", "nvml")
    if want_jtop:
        jtop = JtopSource(interval=interval)
        status = _try(jtop)
        if not status.active and jetson_model() and not status.hint:
            status = SourceStatus(status.name, False, status.detail, "sudo systemctl restart jtop.service")
        statuses.append(status)
        if status.active:
            opened.append(jtop)
            want_nvml = False  # jtop already reads the GPU (through NVML on Thor)
            statuses.append(SourceStatus("nvml", False, "not needed: jtop reads the GPU"))
    if want_nvml:
        nvml = NvmlSource()
        status = _try(nvml)
        statuses.append(status)
        if status.active:
            opened.append(nvml)
    elif choice == "procfs":
        statuses.append(SourceStatus("jtop", False, 'off: telemetry.source = "procfs"'))
        statuses.append(SourceStatus("nvml", False, 'off: telemetry.source = "procfs"'))
    if not any(s.name == "jtop" for s in opened):
        procfs = ProcfsSource(proc_root)
        status = _try(procfs)
        statuses.append(status)
        if status.active:
            opened.append(procfs)
    else:
        statuses.append(SourceStatus("procfs", False, "not needed: jtop reads CPU and memory"))
    statuses.append(docker_status(docker_host))
    return Discovery(sources=opened, report=SourceReport(tuple(statuses)))
