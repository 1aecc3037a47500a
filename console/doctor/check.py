"""The doctor's vocabulary: a check's result, its four statuses, and where the checks look.

A leaf module: every check module (``checks``, ``power``, ``stack``), the in-app session and the
CLI import these names from here, so none of them has to import the orchestrator.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from console.doctor.daemon_fix import DEFAULT_PATH
from console.telemetry.model import Board

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    status: str  # ok | warn | fail | skip
    evidence: tuple[str, ...] = ()
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "evidence": list(self.evidence)}


@dataclass
class Probe:
    """Where the checks look; the defaults are the real machine."""

    docker_host: str = ""
    daemon_json: Path = DEFAULT_PATH
    tegra_release: Path = Path("/etc/nv_tegra_release")
    cuda_version: Path = Path("/usr/local/cuda/version.json")
    gpu_markers: tuple[Path, ...] = (Path("/dev/nvidia0"), Path("/dev/nvgpu"), Path("/etc/nv_tegra_release"))
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    docker_info: dict[str, Any] | None = None  # filled by the Docker check, used by the disk check
    use_nvml: bool = True  # ask the driver for its CUDA version when no toolkit version file is found
    python: str = ""  # a Python environment whose torch stack to check (--python)
    image: str = ""  # an image whose torch stack to check (--image)
    model: str = ""  # an HF repo id or a local directory whose size the disk check counts (--model)
    jtop_socket: str = "/run/jtop.sock"  # the power check asks the jtop service here
    proc: Path = Path("/proc")  # the memory check reads meminfo and the processes here
    baseline_gib: float = 6.0  # memory in use expected with nothing served (recovery.DEFAULT_BASELINE_GIB)
    board: Board | None = None  # what the runtime's telemetry reports (jtop: module, L4T, JetPack, CUDA): read first


def exit_code(checks: list[Check]) -> int:
    """0 all good, 1 warnings, 2 failures."""
    statuses = {c.status for c in checks}
    return 2 if FAIL in statuses else 1 if WARN in statuses else 0
