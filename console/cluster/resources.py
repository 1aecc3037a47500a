"""The resource half of the cluster's preflight (pure): what each node has against what the plan asks of it.

- memory: the model's share at TP=2 (half its weights, plus fit's activations and CUDA-graph pool, plus its
  KV cache) within ``--gpu-memory-utilization`` of the node's memory, and that much free now (vLLM refuses
  to start when free memory is below its budget);
- shm, ipc and memlock: the plan's ``--ipc host`` and ``--ulimit memlock=-1``, and the node's /dev/shm (the
  container mounts it) at least the preset's ``--shm-size``;
- the image's NCCL version, and the Jetson patch it needs (its build flag is misspelt in the docs).

On a Jetson the GPU's memory is the system's (unified): /proc/meminfo.  On a node with a discrete GPU:
``nvidia-smi``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from console.chat.capability import flag_map
from console.cluster.plan import ClusterPlan, Node
from console.cluster.presets import RAY
from console.doctor.check import Check
from console.fit.sizing import DEFAULT_ACTIVATIONS, DEFAULT_CUDA_GRAPHS, GIB
from console.runtime.sanitise import clean

KIB, MIB = 1024, 1024**2
NCCL_FILE = re.compile(r"libnccl\.so\.(\d+\.\d+\.\d+)")
NCCL_ENV = re.compile(r"^NCCL_VERSION=([\w.+-]{1,40})$")
JETSON_NCCL_FLAG = "ENABLE_DISTRIBUTED_JETSON_NCCL"  # what jetson-containers' build scripts read
DOCS_TYPO = "ENABLE_NCCL_DISTRIBUTED_JETSON"  # what its docs say
KV_DEFAULT = 1 * GIB  # the least KV cache a node is given room for when the plan does not size it
SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)i?B?$", re.IGNORECASE)


@dataclass(frozen=True)
class NodeResources:
    mem_total_kib: int | None = None  # /proc/meminfo
    mem_available_kib: int | None = None
    gpu_total_mib: int | None = None  # nvidia-smi's, on a node with a discrete GPU (None: none, or a Jetson)
    gpu_free_mib: int | None = None
    shm_kib: int | None = None  # the node's /dev/shm, which the container mounts
    nccl: str = ""  # the image's NCCL version ("" when none was found)
    jetson: bool = False

    def memory(self) -> tuple[int, int] | None:
        """(total, free) bytes of the memory the GPU uses: the discrete GPU's, else the system's (unified)."""
        if self.gpu_total_mib is not None and self.gpu_free_mib is not None:
            return self.gpu_total_mib * MIB, self.gpu_free_mib * MIB
        if self.mem_total_kib is not None and self.mem_available_kib is not None:
            return self.mem_total_kib * KIB, self.mem_available_kib * KIB
        return None


def parse_resources(sections: Mapping[str, Sequence[str]]) -> NodeResources:
    mem: dict[str, int | None] = {}
    for line in sections.get("mem", ()):  # "MemTotal:       23884412 kB"
        name, _, value = line.partition(":")
        mem[name] = _int((value.split() or [""])[0])
    gpu = [_int(x) for x in " ".join(sections.get("gpumem", ())).split(",")]  # "65536, 60000" (MiB)
    nccl_lines = [line.strip() for line in sections.get("nccl", ()) if line.strip()]
    found = next((m for line in nccl_lines if (m := NCCL_ENV.match(line) or NCCL_FILE.search(line))), None)
    return NodeResources(
        mem_total_kib=mem.get("MemTotal"),
        mem_available_kib=mem.get("MemAvailable"),
        gpu_total_mib=gpu[0] if len(gpu) == 2 else None,
        gpu_free_mib=gpu[1] if len(gpu) == 2 else None,
        shm_kib=_int(" ".join(sections.get("shm", ())).strip()),
        nccl=clean(found.group(1)) if found else "",
        jetson="tegra" in " ".join(sections.get("soc", ())),
    )


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def size_bytes(text: str) -> int | None:
    """``8g``, ``3000M``, ``16GiB`` in bytes (None: not a size)."""
    m = SIZE.match(text.strip())
    if not m:
        return None
    return int(float(m.group(1)) * {"": 1, "K": KIB, "M": MIB, "G": GIB, "T": 1024 * GIB}[m.group(2).upper()])


def share(plan: ClusterPlan) -> int | None:
    """Bytes one node needs at TP=2: half the weights, the activations and graph pool, and its KV cache (None:
    the model's size is not known here)."""
    p = plan.preset
    if not p.weights_gib:
        return None
    flags = flag_map(p.serve_flags)
    kv = size_bytes(flags.get("--kv-cache-memory-bytes") or "") or KV_DEFAULT
    graphs = 0 if "--enforce-eager" in flags else DEFAULT_CUDA_GRAPHS
    return int(p.weights_gib * GIB / 2) + DEFAULT_ACTIVATIONS + graphs + kv


def resource_checks(plan: ClusterPlan, head: NodeResources, worker: NodeResources) -> list[Check]:
    out = [_memory_check(role, node, res, plan) for role, node, res in _roles(plan, head, worker)]
    out += [_shm_check(role, node, res, plan) for role, node, res in _roles(plan, head, worker)]
    out.append(_nccl_check(plan, head, worker))
    return out


def _roles(plan: ClusterPlan, head: NodeResources, worker: NodeResources) -> list[tuple[str, Node, NodeResources]]:
    return [("head", plan.head, head), ("worker", plan.worker, worker)]


def _gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def _memory_check(role: str, node: Node, res: NodeResources, plan: ClusterPlan) -> Check:
    """With ``--kv-cache-memory-bytes`` vLLM sizes the KV cache by it and the share must fit the free memory;
    otherwise vLLM takes ``--gpu-memory-utilization`` of the whole, which must be free, and the share must fit
    in it."""
    check_id, title = f"{role}.memory", f"{role} {node.device}: memory for its half of the model"
    memory = res.memory()
    if memory is None:
        return Check(check_id, title, "skip", ("neither /proc/meminfo nor nvidia-smi answered",))
    total, free = memory
    flags = flag_map(plan.preset.serve_flags)
    sized = bool(flags.get("--kv-cache-memory-bytes"))
    util = float(flags.get("--gpu-memory-utilization") or 0.9)
    budget = free if sized else total * util
    said = [f"{_gib(total)} in all, {_gib(free)} free"]
    if sized:
        said.append("--kv-cache-memory-bytes sizes the KV cache: the share must fit the free memory")
    else:
        said.append(f"--gpu-memory-utilization {util:g} lets vLLM use {_gib(budget)}")
        if free < budget:
            fix = (
                "free memory first (stop other servers; on a Jetson: sync; echo 3 > /proc/sys/vm/drop_caches), "
                f"or a lower --gpu-memory-utilization (at most {free / total:.2f})"
            )
            return Check(check_id, title, "fail", (*said, "vLLM refuses to start with less free than that"), fix)
    need = share(plan)
    if need is None:
        said.append(f"the size of {plan.preset.model} is not known here")
        return Check(check_id, title, "skip", tuple(said), f"jetconsole fit {plan.preset.model} --tp 2")
    said.append(
        f"its share at TP=2: {_gib(need)} "
        f"(half of {plan.preset.weights_gib:g} GiB of weights, activations, graphs, KV cache)"
    )
    if need > budget:
        fix = "free memory on it, or a smaller model" if sized else "a higher --gpu-memory-utilization if free"
        return Check(check_id, title, "fail", tuple(said), fix)
    return Check(check_id, title, "ok", tuple(said))


def _shm_check(role: str, node: Node, res: NodeResources, plan: ClusterPlan) -> Check:
    title = f"{role} {node.device}: shm, ipc and memlock"
    wanted = size_bytes(plan.preset.shm_size) or 0
    said = ["--ipc host and -v /dev/shm:/dev/shm: the container uses the node's /dev/shm"]
    said.append(
        "--ulimit memlock=-1" if plan.memlock else "no --ulimit memlock=-1 (--no-memlock): NCCL may not pin memory"
    )
    if res.shm_kib is None:
        return Check(f"{role}.shm", title, "warn", (*said, "df /dev/shm did not answer"), "is /dev/shm mounted there?")
    said.append(f"/dev/shm is {_gib(res.shm_kib * KIB)}")
    if res.shm_kib * KIB < wanted:
        fix = f"mount -o remount,size={plan.preset.shm_size} /dev/shm on {node.device} (and in its fstab)"
        return Check(f"{role}.shm", title, "warn", (*said, f"smaller than --shm-size {plan.preset.shm_size}"), fix)
    return Check(
        f"{role}.shm",
        title,
        "ok" if plan.memlock else "warn",
        tuple(said),
        "" if plan.memlock else "drop --no-memlock where Docker allows it",
    )


def _nccl_check(plan: ClusterPlan, head: NodeResources, worker: NodeResources) -> Check:
    title = "the image's NCCL"
    image = plan.preset.image
    patch = (
        f"on Jetson, NCCL must be built with jetson-containers' patch ({JETSON_NCCL_FLAG}=on; "
        f"the docs misspell it {DOCS_TYPO})"
    )
    versions = {head.nccl, worker.nccl}
    if versions == {""}:
        status = "warn" if plan.preset.mode == RAY else "ok"
        return Check(
            "image.nccl",
            title,
            status,
            (f"no NCCL found in {image}",),
            "GPU tensor parallel needs NCCL in the image; a CPU build uses Gloo" if status == "warn" else "",
        )
    said = [f"NCCL {' / '.join(sorted(v or 'none' for v in versions))} in {image}"]
    if head.jetson or worker.jetson:
        said.append(patch)
    if len(versions) > 1:
        return Check("image.nccl", title, "fail", tuple(said), "the same image on both nodes (see image.same)")
    return Check("image.nccl", title, "ok", tuple(said))
