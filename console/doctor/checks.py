"""Doctor checks: each looks at the machine and returns a status, the evidence it saw, and a fix.

Blocking reads of files, the Docker API and the disk; no Textual.  Every path is a parameter
(``Probe``) so the tests point the checks at files they wrote.  Checks not built yet (stuck
memory, power, torch/CUDA wheels) are not listed rather than faked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from console.containers.docker_source import DockerSource, DockerUnavailable
from console.doctor.daemon_fix import DEFAULT_PATH, plan_fix
from console.doctor.daemon_json import DaemonJsonError

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
GIB = 1 << 30
DISK_WARN_GIB, DISK_FAIL_GIB = 50, 10  # an 8B BF16 model is 16 GiB; images are 10-20 GiB
TIKTOKEN_FILES = ("o200k_base.tiktoken", "cl100k_base.tiktoken")


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


def exit_code(checks: list[Check]) -> int:
    """0 all good, 1 warnings, 2 failures."""
    statuses = {c.status for c in checks}
    return 2 if FAIL in statuses else 1 if WARN in statuses else 0


def check_docker(probe: Probe) -> Check:
    src = DockerSource(probe.docker_host, timeout=5)
    try:
        src.open()
        version, probe.docker_info = src.version(), src.info()
    except DockerUnavailable as exc:
        return Check("docker", "Docker reachable", FAIL, (str(exc),), exc.hint)
    finally:
        src.close()
    info = probe.docker_info or {}
    return Check("docker", "Docker reachable", OK,
                 (f"Docker {version.get('Version', '?')} (API {version.get('ApiVersion', '?')}) at {src.url}",
                  f"default runtime {info.get('DefaultRuntime', '?')}; runtimes "
                  f"{', '.join(sorted(info.get('Runtimes') or {})) or 'none'}"))


def has_nvidia_gpu(probe: Probe) -> bool:
    return any(p.exists() for p in probe.gpu_markers)


def check_daemon_json(probe: Probe) -> Check:
    title = "daemon.json: NVIDIA runtime is the default"
    if not has_nvidia_gpu(probe):
        return Check("daemon-json", title, SKIP, ("no NVIDIA GPU here (" +
                     ", ".join(str(p) for p in probe.gpu_markers) + " absent): containers need no NVIDIA runtime",))
    try:
        plan = plan_fix(probe.daemon_json)
    except DaemonJsonError as exc:
        return Check("daemon-json", title, FAIL, (str(exc),), f"correct {probe.daemon_json} by hand, then run "
                     "jetconsole doctor --fix daemon-json")
    where = str(probe.daemon_json) + ("" if plan.old_text is not None else " (missing)")
    if plan.state.ok:
        return Check("daemon-json", title, OK, (f"{where}: runtimes.nvidia.path = {plan.state.path!r}, "
                                                 'default-runtime = "nvidia"',))
    info = probe.docker_info or {}
    seen = tuple(f"{where}: {p}" for p in plan.state.problems())
    if info:
        seen += (f"docker info: default runtime {info.get('DefaultRuntime', '?')}",)
    seen += ("containers get no GPU: NVML errors, torch.cuda.is_available() False",)
    return Check("daemon-json", title, FAIL, seen,
                 "jetconsole doctor --fix daemon-json (shows the diff, asks, backs up, restarts Docker, verifies)")


def parse_tegra_release(text: str) -> str | None:
    """``# R38 (release), REVISION: 2.0, …`` -> ``38.2.0``."""
    m = re.search(r"R(\d+).*REVISION:\s*([\d.]+)", text)
    return f"{m.group(1)}.{m.group(2)}" if m else None


JETPACK = {"36.3": "6.0", "36.4": "6.1/6.2", "36.5": "6.2.2/6.2.3", "38.2": "7.0", "38.4": "7.1", "39": "7.2"}


def jetpack_for(l4t: str) -> str | None:
    parts = l4t.split(".")
    return JETPACK.get(".".join(parts[:2])) or JETPACK.get(parts[0])


def check_stack(probe: Probe) -> Check:
    seen: list[str] = []
    try:
        l4t = parse_tegra_release(probe.tegra_release.read_text())
        seen.append(f"L4T {l4t} (JetPack {jetpack_for(l4t) or 'unknown'})" if l4t else
                    f"{probe.tegra_release}: no R<major> REVISION line")
    except OSError:
        seen.append(f"not a Jetson ({probe.tegra_release} absent)")
    try:
        cuda = json.loads(probe.cuda_version.read_text()).get("cuda", {}).get("version")
        seen.append(f"CUDA {cuda} ({probe.cuda_version})")
        major = str(cuda).split(".")[0]
        seen.append(f"wheels and images must be built for CUDA {major}; a CUDA-12 torch fails on a CUDA-13 Thor")
    except (OSError, ValueError, AttributeError):
        seen.append(f"no CUDA toolkit ({probe.cuda_version} absent)")
    return Check("stack", "Software stack (L4T, JetPack, CUDA)", OK, tuple(seen))


def check_tiktoken(probe: Probe) -> Check:
    title = "gpt-oss: tiktoken encodings available offline"
    base = probe.env.get("TIKTOKEN_ENCODINGS_BASE", "")
    if not base:
        return Check("tiktoken", title, SKIP, ("TIKTOKEN_ENCODINGS_BASE is not set; only gpt-oss needs it",),
                     "to serve gpt-oss: put " + " and ".join(TIKTOKEN_FILES) + " in a directory and set "
                     "TIKTOKEN_ENCODINGS_BASE to it (a launch preset's tiktoken_dir mounts it)")
    missing = [f for f in TIKTOKEN_FILES if not (Path(base) / f).is_file()]
    if missing:
        return Check("tiktoken", title, FAIL, (f"TIKTOKEN_ENCODINGS_BASE={base}", f"missing: {', '.join(missing)}"),
                     f"download {', '.join(missing)} into {base} (from openaipublic.blob.core.windows.net/encodings)")
    return Check("tiktoken", title, OK, (f"TIKTOKEN_ENCODINGS_BASE={base}", "both files present"))


def free_gib(path: Path) -> tuple[Path, float] | None:
    """Free space of the file system holding ``path`` (or its nearest existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return path, shutil.disk_usage(path).free / GIB
    except OSError:
        return None


def check_disk(probe: Probe) -> Check:
    hf = Path(probe.env.get("HF_HOME") or Path(probe.env.get("HOME", "/root")) / ".cache" / "huggingface")
    docker_root = Path((probe.docker_info or {}).get("DockerRootDir") or "/var/lib/docker")
    seen, worst = [], OK
    for label, path in (("Hugging Face cache", hf), ("Docker data root", docker_root)):
        got = free_gib(path)
        if got is None:
            seen.append(f"{label} {path}: cannot stat")
            continue
        where, free = got
        seen.append(f"{label} {path}: {free:.1f} GiB free (on the file system of {where})")
        if free < DISK_FAIL_GIB:
            worst = FAIL
        elif free < DISK_WARN_GIB and worst == OK:
            worst = WARN
    fix = "" if worst == OK else ("free space: docker image prune, docker builder prune, or remove models from the "
                                  "Hugging Face cache (huggingface-cli delete-cache)")
    return Check("disk", f"Disk space for models and images (warn < {DISK_WARN_GIB} GiB, fail < {DISK_FAIL_GIB} GiB)",
                 worst, tuple(seen), fix)


def run_all(probe: Probe | None = None) -> list[Check]:
    """Every check, in order (Docker first: the later ones use what it saw)."""
    probe = probe or Probe()
    return [check_docker(probe), check_daemon_json(probe), check_stack(probe), check_tiktoken(probe),
            check_disk(probe)]
