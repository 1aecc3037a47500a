"""Doctor checks: each looks at the machine and returns a status, the evidence it saw, and a fix.

Blocking reads of files, the Docker API and the disk; no Textual.  Every path is a parameter
(``Probe``) so the tests point the checks at files they wrote.  The torch/CUDA/libstdc++/ABI
checks of a Python environment or an image (``console.doctor.stack``) run only for the
targets given (``--python``, ``--image``): nothing is guessed.  Checks not built yet are not
listed rather than faked.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from console.containers.docker_source import DockerSource, DockerUnavailable
from console.doctor.check import FAIL, OK, SKIP, WARN, Check, Probe
from console.doctor.daemon_fix import plan_fix
from console.doctor.daemon_json import DaemonJsonError
from console.doctor.model_size import hub_cache
from console.runtime.sanitise import clean
from console.telemetry.model import Board

GIB = 1 << 30
DISK_WARN_GIB, DISK_FAIL_GIB = 50, 10  # an 8B BF16 model is 16 GiB; images are 10-20 GiB
DISK_IMAGE_GIB = 20  # with the model's size known: room left for an image pull (vLLM images are 10-20 GiB)
TIKTOKEN_FILES = ("o200k_base.tiktoken", "cl100k_base.tiktoken")


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
    return Check(
        "docker",
        "Docker reachable",
        OK,
        (
            f"Docker {version.get('Version', '?')} (API {version.get('ApiVersion', '?')}) at {src.url}",
            f"default runtime {info.get('DefaultRuntime', '?')}; runtimes "
            f"{', '.join(sorted(info.get('Runtimes') or {})) or 'none'}",
        ),
    )


def jetson_board(probe: Probe) -> Board | None:
    """The board jtop reports (through the runtime's telemetry) when it is a Jetson: L4T or JetPack known."""
    board = probe.board
    return board if board is not None and (board.l4t or board.jetpack) else None


def has_nvidia_gpu(probe: Probe) -> bool:
    return jetson_board(probe) is not None or any(p.exists() for p in probe.gpu_markers)


def check_daemon_json(probe: Probe) -> Check:
    title = "daemon.json: NVIDIA runtime is the default"
    if not has_nvidia_gpu(probe):
        return Check(
            "daemon-json",
            title,
            SKIP,
            (
                "no NVIDIA GPU here ("
                + ", ".join(str(p) for p in probe.gpu_markers)
                + " absent): containers need no NVIDIA runtime",
            ),
        )
    try:
        plan = plan_fix(probe.daemon_json)
    except DaemonJsonError as exc:
        return Check(
            "daemon-json",
            title,
            FAIL,
            (str(exc),),
            f"correct {probe.daemon_json} by hand, then run jetconsole doctor --fix daemon-json",
        )
    where = str(probe.daemon_json) + ("" if plan.old_text is not None else " (missing)")
    if plan.state.ok:
        return Check(
            "daemon-json",
            title,
            OK,
            (f'{where}: runtimes.nvidia.path = {plan.state.path!r}, default-runtime = "nvidia"',),
        )
    info = probe.docker_info or {}
    seen = tuple(f"{where}: {p}" for p in plan.state.problems())
    if info:
        seen += (f"docker info: default runtime {info.get('DefaultRuntime', '?')}",)
    seen += ("containers get no GPU: NVML errors, torch.cuda.is_available() False",)
    return Check(
        "daemon-json",
        title,
        FAIL,
        seen,
        "jetconsole doctor --fix daemon-json (shows the diff, asks, backs up, restarts Docker, verifies)",
    )


def parse_tegra_release(text: str) -> str | None:
    """``# R38 (release), REVISION: 2.0, …`` -> ``38.2.0``."""
    m = re.search(r"R(\d+).*REVISION:\s*([\d.]+)", text)
    return f"{m.group(1)}.{m.group(2)}" if m else None


JETPACK = {"36.3": "6.0", "36.4": "6.1/6.2", "36.5": "6.2.2/6.2.3", "38.2": "7.0", "38.4": "7.1", "39": "7.2"}


def jetpack_for(l4t: str) -> str | None:
    parts = l4t.split(".")
    return JETPACK.get(".".join(parts[:2])) or JETPACK.get(parts[0])


def read_l4t(probe: Probe) -> str | None:
    try:
        return parse_tegra_release(probe.tegra_release.read_text())
    except OSError:
        return None


def read_cuda(probe: Probe) -> str | None:
    """The CUDA toolkit's version from version.json (``13.0.48``), or None."""
    try:
        cuda = json.loads(probe.cuda_version.read_text()).get("cuda", {}).get("version")
    except (OSError, ValueError, AttributeError):
        return None
    return clean(str(cuda)) if cuda else None


def driver_cuda() -> str | None:
    """The CUDA version the NVIDIA driver supports (NVML), ``12.4``; None without a driver."""
    from console.telemetry.nvml_source import read_once
    from console.telemetry.source import SourceUnavailable

    try:
        return read_once()["cuda"]
    except SourceUnavailable:  # no pynvml, no driver, no GPU: unknown
        return None


FROM_JTOP = "jtop"  # how the evidence names the board facts the runtime's telemetry reports


def board_cuda(probe: Probe) -> tuple[str | None, str]:
    """The CUDA toolkit's version and where it was read: jtop's board facts first, then version.json."""
    board = jetson_board(probe)
    if board is not None and board.cuda:
        return board.cuda, FROM_JTOP
    return read_cuda(probe), str(probe.cuda_version)


def system_stack(probe: Probe) -> Any:
    """The machine's CUDA and L4T, for judging a Python environment or image (``stack.SystemStack``)."""
    from console.doctor.stack import SystemStack

    cuda, source = board_cuda(probe)
    if cuda is None and probe.use_nvml:
        cuda, source = driver_cuda(), "the NVIDIA driver (NVML)"
    board = jetson_board(probe)
    l4t = board.l4t if board is not None and board.l4t else read_l4t(probe)
    return SystemStack(cuda=cuda, cuda_source=source if cuda else "", l4t=l4t, has_gpu=has_nvidia_gpu(probe))


def _jetson_line(board: Board) -> str:
    """``NVIDIA Jetson AGX Orin (64GB ram): L4T 36.4.0, JetPack 6.1 (jtop)``."""
    name = board.model or board.module or "Jetson"  # the name the dashboard shows
    jetpack = board.jetpack or (jetpack_for(board.l4t) if board.l4t else None) or "unknown"
    return f"{name}: L4T {board.l4t or 'unknown'}, JetPack {jetpack} ({FROM_JTOP})"


def check_stack(probe: Probe) -> Check:
    seen: list[str] = []
    board = jetson_board(probe)
    if board is not None:
        seen.append(_jetson_line(board))
    elif probe.tegra_release.exists():
        l4t = read_l4t(probe)
        seen.append(
            f"L4T {l4t} (JetPack {jetpack_for(l4t) or 'unknown'})"
            if l4t
            else f"{probe.tegra_release}: no R<major> REVISION line"
        )
    else:
        seen.append(f"not a Jetson (no Jetson board from jtop, {probe.tegra_release} absent)")
    cuda, source = board_cuda(probe)
    if cuda:
        seen.append(f"CUDA {cuda} ({source})")
        major = cuda.split(".")[0]
        seen.append(f"wheels and images must be built for CUDA {major}; a CUDA-12 torch fails on a CUDA-13 Thor")
    else:
        seen.append(f"no CUDA toolkit ({probe.cuda_version} absent)")
    if not (probe.python or probe.image):
        seen.append("torch in an environment or image: pass --python PATH or --image IMAGE to check it")
    return Check("stack", "Software stack (L4T, JetPack, CUDA)", OK, tuple(seen))


def check_targets(probe: Probe) -> list[Check]:
    """The torch/CUDA/libstdc++/ABI checks of each target given (none: nothing is probed)."""
    from console.doctor.stack import Target, stack_checks

    targets = [Target("python", probe.python)] if probe.python else []
    targets += [Target("image", probe.image)] if probe.image else []
    if not targets:
        return []
    system = system_stack(probe)
    return [c for t in targets for c in stack_checks(t, system, probe.docker_host)]


def check_tiktoken(probe: Probe) -> Check:
    title = "gpt-oss: tiktoken encodings available offline"
    base = probe.env.get("TIKTOKEN_ENCODINGS_BASE", "")
    if not base:
        return Check(
            "tiktoken",
            title,
            SKIP,
            ("TIKTOKEN_ENCODINGS_BASE is not set; only gpt-oss needs it",),
            "to serve gpt-oss: put " + " and ".join(TIKTOKEN_FILES) + " in a directory and set "
            "TIKTOKEN_ENCODINGS_BASE to it (a launch preset's tiktoken_dir mounts it)",
        )
    missing = [f for f in TIKTOKEN_FILES if not (Path(base) / f).is_file()]
    if missing:
        return Check(
            "tiktoken",
            title,
            FAIL,
            (f"TIKTOKEN_ENCODINGS_BASE={base}", f"missing: {', '.join(missing)}"),
            f"download {', '.join(missing)} into {base} (from openaipublic.blob.core.windows.net/encodings)",
        )
    return Check("tiktoken", title, OK, (f"TIKTOKEN_ENCODINGS_BASE={base}", "both files present"))


def free_gib(path: Path) -> tuple[Path, float] | None:
    """Free space of the file system holding ``path`` (or its nearest existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return path, shutil.disk_usage(path).free / GIB
    except OSError:
        return None


def _device(path: Path) -> int | None:
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return path.stat().st_dev
    except OSError:
        return None


def check_disk(probe: Probe, model: Any = None) -> Check:
    """Free space where the HF cache and Docker's data root live.

    Without a model: fail < 10 GiB, warn < 50 GiB.  With ``model`` (a ``model_size.ModelSize``)
    whose size is known: the bytes still to download are taken from the file system they land
    on, and what would be left must be ≥ 10 GiB (else fail) and ≥ 20 GiB for an image (else warn).
    """
    hf = hub_cache(probe.env)
    docker_root = Path((probe.docker_info or {}).get("DockerRootDir") or "/var/lib/docker")
    remaining = None if model is None else model.remaining
    lands = model.where if model is not None and model.where is not None else hf
    places = [("Hugging Face cache", hf), ("Docker data root", docker_root)]
    if remaining and model.local:
        places.append(("Model directory", lands))
    land_dev = _device(lands)
    seen, worst, devices_seen = [], OK, set()
    if model is not None:
        seen.append(model.line())
    for label, path in places:
        got = free_gib(path)
        if got is None:
            seen.append(f"{label} {path}: cannot stat")
            continue
        where, free = got
        line = f"{label} {path}: {free:.1f} GiB free (on the file system of {where})"
        dev = _device(path)
        if remaining is None:
            status = FAIL if free < DISK_FAIL_GIB else WARN if free < DISK_WARN_GIB else OK
        elif dev is not None and dev in devices_seen:
            seen.append(f"{line}; same file system as above")
            continue
        else:
            left = free - (remaining / GIB if dev == land_dev else 0)
            if dev == land_dev and remaining:
                line += f"; after the {remaining / GIB:.1f} GiB download {left:.1f} GiB would be left"
            status = FAIL if left < DISK_FAIL_GIB else WARN if left < DISK_IMAGE_GIB else OK
        devices_seen.add(dev)
        seen.append(line)
        if status == FAIL or (status == WARN and worst == OK):
            worst = status
    fix = (
        ""
        if worst == OK
        else (
            "free space: docker image prune, docker builder prune, or remove models from the "
            "Hugging Face cache (huggingface-cli delete-cache)"
        )
    )
    if remaining is None:
        title = f"Disk space for models and images (warn < {DISK_WARN_GIB} GiB, fail < {DISK_FAIL_GIB} GiB)"
    else:
        title = (
            f"Disk space for {model.name} and images (left after the download: warn < {DISK_IMAGE_GIB} GiB, "
            f"fail < {DISK_FAIL_GIB} GiB)"
        )
    return Check("disk", title, worst, tuple(seen), fix)


def run_all(probe: Probe | None = None) -> list[Check]:
    """Every check, in order (Docker first: the later ones use what it saw)."""
    probe = probe or Probe()
    model = None
    if probe.model:
        from console.doctor.model_size import measure

        model = measure(probe.model, probe.env)
    from console.doctor.power import check_power

    return [
        check_docker(probe),
        check_daemon_json(probe),
        check_stack(probe),
        *check_targets(probe),
        check_tiktoken(probe),
        check_disk(probe, model),
        check_memory(probe),
        check_power(socket_path=probe.jtop_socket),
    ]


def check_memory(probe: Probe) -> Check:
    """Stuck memory: orphaned vLLM engines, GPU processes outside containers, or memory above the baseline
    while no container runs (what makes the next ``vllm serve`` fail its memory check)."""
    from console.doctor import memory
    from console.doctor.recovery import GPU_BASELINE_GIB, held

    title = "Memory: nothing stuck after servers stopped"
    gpu = memory.gpu_reading if probe.use_nvml else (lambda: None)
    try:
        now = memory.figures(probe.proc, gpu, lambda: memory.jtop_shared(probe.jtop_socket))
    except OSError as exc:
        return Check("memory", title, SKIP, (f"{probe.proc / 'meminfo'}: {exc.strerror}",))
    holders = memory.find_holders(probe.proc, gpu=now.gpu)
    seen = [now.line(), *(f"holder: {h.line()}" for h in holders)]
    fix = "jetconsole doctor --recover-memory (lists each step and asks; --dry-run shows the plan)"
    if holders:
        return Check("memory", title, FAIL, tuple(seen), fix)
    running = (probe.docker_info or {}).get("ContainersRunning")
    if running == 0:
        if held(now, probe.baseline_gib):
            seen.append(
                f"no container runs, yet memory is above the baseline ({probe.baseline_gib:g} GiB"
                + (f", GPU {GPU_BASELINE_GIB:g} GiB)" if now.gpu is not None and now.gpu.total else ")")
            )
            return Check("memory", title, WARN, tuple(seen), fix)
    elif running:
        seen.append(f"{running} container(s) running: their memory is expected")
    return Check("memory", title, OK, tuple(seen))
