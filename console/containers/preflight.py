"""Checks before a launch, each with what to do when it fails (blocking: worker threads).

fail blocks the launch; warn is shown and the launch may go on; ok is evidence.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.containers.docker_source import DockerSource
from console.containers.presets.model import TIKTOKEN_ENV
from console.containers.presets.plan import LaunchPlan
from console.doctor.check import FAIL as DOCTOR_FAIL
from console.doctor.check import OK as DOCTOR_OK
from console.doctor.check import Probe
from console.doctor.checks import check_tiktoken
from console.fit.device import DeviceMemory
from console.fit.sizing import GIB, FitResult, fit, kv_layout_from_config

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # ok | warn | fail
    detail: str
    fix: str = ""


def port_free(port: int, host: str = "0.0.0.0") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def hf_snapshot(model: str, hf_home: Path) -> Path | None:
    """The local snapshot directory of a Hugging Face model id, or the model if it is a path."""
    direct = Path(model).expanduser()
    if direct.is_dir() and (direct / "config.json").exists():
        return direct
    repo = hf_home / "hub" / f"models--{model.replace('/', '--')}" / "snapshots"
    snapshots = sorted(repo.glob("*/config.json"), key=lambda p: p.stat().st_mtime) if repo.is_dir() else []
    return snapshots[-1].parent if snapshots else None


def weights_bytes(snapshot: Path) -> int:
    return sum(p.stat().st_size for p in snapshot.glob("*.safetensors"))


def memory_check(
    plan: LaunchPlan,
    snapshot: Path | None,
    mem_total: int | None,
    mem_available: int | None,
    util: float | None,
    max_model_len: int | None,
    where: str = "",
) -> tuple[Check, FitResult | None]:
    """The fit against ``mem_total``/``mem_available``: the engine's memory (``fit.device.engine_memory``),
    ``where`` says which (a discrete GPU's own, or the system RAM a Jetson's GPU shares)."""
    if snapshot is None:
        return Check(
            "memory fit",
            WARN,
            f"{plan.model} is not in the local Hugging Face cache: the container "
            "will download it; the fit cannot be estimated before that",
            "download it first (huggingface-cli download MODEL) to get an estimate",
        ), None
    if mem_total is None:
        return Check("memory fit", WARN, "the engine's memory is unknown (no telemetry sample yet)"), None
    try:
        config: dict[str, Any] = json.loads((snapshot / "config.json").read_text())
        layout = kv_layout_from_config(config)
        length = max_model_len or int(config.get("max_position_embeddings") or 4096)
        weights = weights_bytes(snapshot)
        result = fit(
            kv=layout,
            max_model_len=length,
            util=util or 0.9,
            mem_total=mem_total,
            mem_available=mem_available,
            weights_bytes=weights or None,
            params_b=None if weights else 1.0,
        )
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        return Check("memory fit", WARN, f"cannot estimate from {snapshot}/config.json: {exc}"), None
    detail = (
        f"needs about {result.need / GIB:.1f} GiB (weights {result.weights / GIB:.1f}, KV for {length} tokens "
        f"{result.kv / GIB:.1f}); budget {result.budget / GIB:.1f} GiB" + (f" of {where}" if where else "")
    )
    if result.fits:
        return Check("memory fit", OK, detail), result
    fix = "; ".join(result.reasons)
    if result.suggested_util:
        util = result.suggested_util
        fix += f"; try GPU memory utilization {util} (--set gpu_memory_utilization={util})"
    return Check("memory fit", FAIL, detail, fix), result


def is_gpt_oss(model: str) -> bool:
    """gpt-oss (openai/gpt-oss-20b, -120b, a local copy): its harmony tokenizer needs the tiktoken files."""
    return "gpt-oss" in model.lower()


def tiktoken_check(plan: LaunchPlan) -> Check | None:
    """gpt-oss's tiktoken files, checked by the doctor's own check on the host folder the plan mounts at
    ``TIKTOKEN_ENCODINGS_BASE``.  None when the model is not gpt-oss or the folder is not one we can see."""
    if not is_gpt_oss(plan.model):
        return None
    base = plan.env.get(TIKTOKEN_ENV)
    if not base:
        unset = check_tiktoken(Probe(env={}))  # the doctor's advice for a machine with no folder set
        return Check(
            "tiktoken",
            WARN,
            f"{plan.model} fetches its tiktoken files from the internet when it starts: offline it fails",
            f"{unset.fix}; in the form: gpt-oss tiktoken directory (--set tiktoken_dir=DIR)",
        )
    inside = base.rstrip("/") or "/"
    host = next((m.source for m in plan.mounts if m.target.rstrip("/") == inside and not m.is_volume), None)
    if host is None:
        return None  # in the image, or in a named volume: not readable from here
    found = check_tiktoken(Probe(env={TIKTOKEN_ENV: host}))
    level = FAIL if found.status == DOCTOR_FAIL else OK if found.status == DOCTOR_OK else WARN
    seen = "; ".join(e for e in found.evidence if not e.startswith(f"{TIKTOKEN_ENV}="))
    return Check("tiktoken", level, f"{host} (mounted at {base}): {seen}", found.fix)


def run_checks(
    plan: LaunchPlan,
    source: DockerSource,
    host_env: dict[str, str] | None = None,
    memory: DeviceMemory | None = None,
    util: float | None = None,
    max_model_len: int | None = None,
) -> list[Check]:
    """Every check; never raises for a failed check (the list says).  ``memory``: what the engine can
    budget (``engine_memory`` of the runtime's telemetry); None: unknown, the fit is a warning."""
    import docker.errors

    env = dict(os.environ if host_env is None else host_env)
    checks: list[Check] = []
    try:
        image = source.api.inspect_image(plan.image)
        size = image.get("Size", 0) / GIB
        checks.append(Check("image", OK, f"{plan.image} present locally ({size:.1f} GiB)"))
    except docker.errors.ImageNotFound:
        checks.append(
            Check(
                "image",
                FAIL,
                f"{plan.image} is not on this machine",
                f"docker pull {plan.image} (several GB: do it before the workshop)",
            )
        )
    names = {c.name: c for c in source.containers()}
    if plan.name and plan.name in names:
        other = names[plan.name]
        checks.append(
            Check(
                "name",
                FAIL,
                f"a container named {plan.name} exists ({other.state})",
                "remove it in Containers (d), or choose another container name (--set container_name=OTHER)",
            )
        )
    elif plan.name:
        checks.append(Check("name", OK, f"{plan.name} is free"))
    for port in plan.ports:
        if port_free(port):
            checks.append(Check("port", OK, f"port {port} is free"))
        else:
            checks.append(
                Check(
                    "port",
                    FAIL,
                    f"port {port} is already in use on this host",
                    f"stop what listens there (ss -ltnp 'sport = :{port}'), or choose another port (--set port=OTHER)",
                )
            )
    if plan.runtime:
        runtimes = source.info().get("Runtimes") or {}
        if plan.runtime in runtimes:
            checks.append(Check("runtime", OK, f"Docker has the {plan.runtime} runtime"))
        else:
            checks.append(
                Check(
                    "runtime",
                    FAIL,
                    f"Docker has no {plan.runtime!r} runtime (known: {', '.join(sorted(runtimes)) or 'none'})",
                    "sudo nvidia-ctk runtime configure --runtime=docker --set-as-default "
                    "&& sudo systemctl restart docker; or, for a container that needs no GPU, clear the runtime "
                    "(--set runtime=)",
                )
            )
    for mount in plan.mounts:
        if mount.is_volume:
            continue
        if Path(mount.source).exists():
            checks.append(Check("mount", OK, f"{mount.source} exists"))
        else:
            checks.append(
                Check(
                    "mount",
                    WARN,
                    f"{mount.source} does not exist: Docker would create it owned by root",
                    f"mkdir -p {mount.source}",
                )
            )
    for name in plan.unset:
        checks.append(
            Check(
                "env",
                WARN,
                f"${name} is not set in your environment",
                f"export {name}=... before launching (gated models need HF_TOKEN)",
            )
        )
    tiktoken = tiktoken_check(plan)
    if tiktoken is not None:
        checks.append(tiktoken)
    if plan.kind in ("vllm", "sglang") and plan.model:
        hf_home = Path(env.get("HF_HOME") or Path(env.get("HOME", "/root")) / ".cache" / "huggingface")
        check, _result = memory_check(
            plan,
            hf_snapshot(plan.model, hf_home),
            memory.total if memory else None,
            memory.available if memory else None,
            util,
            max_model_len,
            memory.source if memory else "",
        )
        checks.append(check)
    return checks


def blocking(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.level == FAIL]
