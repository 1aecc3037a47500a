"""Why did the server die?  Log lines of vLLM, SGLang and Docker turned into a named cause and a fix.

Signatures follow domain.md §2.  Rule: report the root cause, never the wrapper
(``Engine core initialization failed``) that vLLM prints after it.  The table below is
data: one compiled regex per signature, pointing at a cause; a few causes compute their
fix from the numbers in the line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from console.fit.sizing import util_for_free
from console.runtime.sanitise import strip_ansi


@dataclass(frozen=True)
class FixAction:
    """A one-key fix the UI can offer."""

    kind: str  # "relaunch" (with changed launch settings) | "command" (a shell command to show/run) | "none"
    settings: dict[str, object] = field(default_factory=dict)  # e.g. {"gpu_memory_utilization": 0.11}
    command: str = ""
    description: str = ""


@dataclass(frozen=True)
class Diagnosis:
    key: str  # stable id, e.g. "free-memory-below-utilization"
    title: str  # short plain-words cause
    explanation: str  # one or two sentences, plain words
    evidence: str  # the matching log line, ANSI stripped and trimmed
    fix: str  # what to do, plain words
    action: FixAction | None


# "(EngineCore_DP0 pid=123) ERROR 11-23 04:00:00 [core.py:12] " and docker's "2025-11-23T04:00:00.1Z ".
_PREFIX = re.compile(
    r"^(?:\d{4}-\d\d-\d\dT[\d:.]+Z?\s+)?(?:\((?P<proc>[\w.-]+) pid=\d+\)\s+)?"
    r"(?:(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?\s+"
    r"\[[^\]]*\]\s?)?"
)
# Used with .match(line, pos): no "^", which would only match at the very start of the line.
_EXCEPTION = re.compile(r"(?:Traceback \(most recent call last\)|[\w.]*(?:Error|Exception)(?::|$))")


def strip_prefix(line: str) -> str:
    """The message of a log line without vLLM's ``(Proc pid=N) LEVEL date [file:line]`` prefix."""
    m = _PREFIX.match(line)
    return line[m.end() :] if m else line


NVIDIA_RUNTIME_FIX = (
    "sudo nvidia-ctk runtime configure --runtime=docker --set-as-default && sudo systemctl restart docker"
)
NVIDIA_RUNTIME_TEST = "docker run --rm --runtime=nvidia nvcr.io/nvidia/cuda:13.0.0-runtime-ubuntu24.04 nvidia-smi"
DROP_CACHES = "sync; echo 3 > /proc/sys/vm/drop_caches"
TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings"
TIKTOKEN_DOWNLOAD = (
    f"mkdir -p tiktoken_encodings && wget -O tiktoken_encodings/o200k_base.tiktoken "
    f"{TIKTOKEN_URL}/o200k_base.tiktoken && wget -O tiktoken_encodings/cl100k_base.tiktoken "
    f"{TIKTOKEN_URL}/cl100k_base.tiktoken"
)

_RUNTIME_ACTION = FixAction(
    "command",
    command=NVIDIA_RUNTIME_FIX,
    description="Make nvidia Docker's default runtime (writes /etc/docker/daemon.json) and "
    f"restart Docker; then test with: {NVIDIA_RUNTIME_TEST}",
)


@dataclass(frozen=True)
class _Cause:
    """Templates filled from the regex's named groups plus what ``derive`` computes."""

    title: str
    explanation: str
    fix: str
    action: FixAction | None = None
    derive: Callable[[dict[str, str]], dict[str, object]] | None = None  # may return "action"


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _free_memory(g: dict[str, str]) -> dict[str, object]:
    free, total, util = _number(g["free"]), _number(g["total"]), _number(g["util"])
    suggested = util_for_free(free, total)
    held = ""
    if suggested < 0.1:
        held = (
            f" Only {free / total:.0%} of the memory is free, so something else holds it: stop other GPU "
            "processes (look for leftover VLLM::EngineCore / VLLM::Worker), on unified memory drop caches "
            f"(`{DROP_CACHES}`), restart Docker, and reboot as the last resort. A launch at {suggested:g} "
            "starts but leaves little room for the model."
        )
    action = FixAction(
        "relaunch",
        {"gpu_memory_utilization": suggested},
        description=f"Relaunch with gpu-memory-utilization {suggested:g} (was {util:g})",
    )
    return {"suggested": f"{suggested:g}", "held": held, "action": action}


def _max_len(g: dict[str, str]) -> dict[str, object]:
    est = int(_number(g["est"])) if g.get("est") else 0
    seq = f"of {g['seq']} tokens" if g.get("seq") else "at the configured max-model-len"
    if est <= 0:
        return {"seq": seq, "estimate": "", "set_len": "Lower --max-model-len", "action": None}
    action = FixAction("relaunch", {"max_model_len": est}, description=f"Relaunch with max-model-len {est}")
    return {
        "seq": seq,
        "estimate": f"; vLLM estimates {est} tokens fit",
        "set_len": f"Set --max-model-len to {est} or less",
        "action": action,
    }


def _driver(g: dict[str, str]) -> dict[str, object]:
    found = int(g["found"])
    return {"cuda": f"{found // 1000}.{found % 1000 // 10}"}


def _worker_died(g: dict[str, str]) -> str:
    if g.get("code") in ("-9", "137"):
        return (
            f" Exit code {g['code']} means it was killed (SIGKILL), most often by the kernel's out-of-memory "
            "killer: check `dmesg`."
        )
    return ""


_ENGINE_FAILED = _Cause(
    "Engine failed (cause not recognised)",
    "The inference engine stopped, but the real cause was not recognised.{extra} Read the lines before this one "
    "for the first error.",
    "Scroll up from this line to the first error or traceback and fix that.",
    derive=lambda g: {"extra": _worker_died(g)},
)

_CAUSES: dict[str, _Cause] = {
    "free-memory-below-utilization": _Cause(
        "Not enough free GPU memory for gpu-memory-utilization",
        "vLLM wanted {util} of {total} GiB ({asked} GiB) at startup but only {free} GiB was free.",
        "Lower --gpu-memory-utilization to {suggested} (free/total minus a 2% margin), or free memory and "
        "relaunch.{held}",
        derive=_free_memory,
    ),
    "max-len-does-not-fit": _Cause(
        "Context too long for the KV cache",
        "The KV cache cannot hold one full-length sequence {seq}{estimate}.",
        "{set_len}, or raise --gpu-memory-utilization.",
        derive=_max_len,
    ),
    "no-kv-cache-memory": _Cause(
        "No memory left for the KV cache",
        "The weights and activations already use the whole gpu-memory-utilization budget.",
        "Raise --gpu-memory-utilization, use a quantized model, or use a smaller model.",
    ),
    "out-of-memory": _Cause(
        "Out of GPU memory",
        "The GPU ran out of memory, most often while loading the weights.",
        "Lower --gpu-memory-utilization so the weights have room, use a quantized model, or spread the model over "
        "GPUs with --tensor-parallel-size.",
    ),
    "memory-profiling-error": _Cause(
        "GPU memory changed during startup profiling",
        "Another process freed GPU memory while vLLM was measuring it; common on unified memory.",
        "Do not start or stop other GPU jobs while the server starts, then retry.",
        FixAction("relaunch", description="Retry the same launch"),
    ),
    "bad-alloc": _Cause(
        "Host memory allocation failed (std::bad_alloc)",
        "A C++ allocation failed. On Thor this was reported after upgrading vLLM inside the NVIDIA container "
        "(third-party report, not official).",
        "Use the stock NVIDIA container without `pip install -U vllm`, and gpu-memory-utilization 0.70-0.75.",
    ),
    "no-nvidia-runtime": _Cause(
        "Container started without the NVIDIA runtime",
        "The container cannot see the GPU driver (NVML), which happens when Docker does not use the NVIDIA "
        "runtime. On Jetson Orin a missing NVML alone is normal, so check the lines around it.",
        "Make nvidia Docker's default runtime in /etc/docker/daemon.json and restart Docker; test with "
        f"`{NVIDIA_RUNTIME_TEST}`; reboot if it persists.",
        _RUNTIME_ACTION,
    ),
    "architecture-not-supported": _Cause(
        "Model architecture not supported by this vLLM",
        "This vLLM does not know the model's architecture ({arch}); the image is too old for the model.",
        "Use a newer vLLM image.",
    ),
    "tiktoken-vocab": _Cause(
        "gpt-oss tokenizer files could not be loaded",
        "The gpt-oss (harmony) tokenizer could not fetch its tiktoken vocab file: offline, behind a TLS proxy, "
        "or a bad file.",
        "Download o200k_base.tiktoken and cl100k_base.tiktoken into one folder, mount it into the container and "
        "set TIKTOKEN_ENCODINGS_BASE to that folder; then no network is used.",
        FixAction(
            "command",
            command=TIKTOKEN_DOWNLOAD,
            description="Download the two tiktoken files; mount the folder and set TIKTOKEN_ENCODINGS_BASE to it",
        ),
    ),
    "cuda-library-missing": _Cause(
        "CUDA {major} runtime library missing",
        "Something in the image was built for CUDA {major} (libcudart.so.{major}), but that CUDA runtime is not there.",
        "Use an image whose CUDA major matches: CUDA 13 on Thor and DGX Spark, CUDA 12.6 on Orin (JetPack 6). "
        "Do not pip-upgrade vLLM or torch inside the image.",
    ),
    "driver-too-old": _Cause(
        "NVIDIA driver too old for this PyTorch",
        "PyTorch in the image was built for a newer CUDA than the driver supports (CUDA {cuda}).",
        "Use an image built for CUDA {cuda}, or update the driver.",
        derive=_driver,
    ),
    "image-needs-newer-cuda": _Cause(
        "Image needs CUDA {cuda} or newer",
        "The NVIDIA container runtime refused the image: it requires CUDA {cuda} or newer but the driver is older "
        "(e.g. a CUDA 13 image on Orin JetPack 6).",
        "Use an image built for the host's CUDA (a JetPack 6 / CUDA 12 image on Orin). NVIDIA_DISABLE_REQUIRES=true "
        "only skips the check.",
    ),
    "no-kernel-image": _Cause(
        "No GPU code for this GPU",
        "The image's CUDA kernels were not built for this GPU's architecture (e.g. Thor sm_110 is missing from "
        "the official cu130 image).",
        "Use a Jetson-built image, or a vLLM build that includes compute capability 11.0 for Thor.",
    ),
    "glibc-mismatch": _Cause(
        "Binary built for a newer Linux ({glibc} missing)",
        "A library was built on a newer distribution than the container or host provides ({glibc} not found).",
        "Use an image whose OS matches the build: JetPack 7 is Ubuntu 24.04, JetPack 6 is Ubuntu 22.04.",
    ),
    "no-cuda-platform": _Cause(
        "vLLM found no CUDA GPU",
        "PyTorch reports no CUDA: a CPU-only torch, or a container started without --runtime=nvidia (Jetson needs "
        "the runtime's driver mounts).",
        "Run the container with --runtime=nvidia (or make nvidia Docker's default runtime) and use a Jetson image; "
        "do not pip-install torch over the image's build.",
        _RUNTIME_ACTION,
    ),
    "hf-access": _Cause(
        "Hugging Face refused the model download",
        "The model repo is gated or private and no valid token was given, or the repo name is wrong (a missing "
        "repo also answers 401).",
        "Pass -e HF_TOKEN=... to the container, accept the licence on the model page, and check the model name.",
    ),
    "disk-full": _Cause(
        "Disk full",
        "No space left on the disk, usually the Hugging Face cache or Docker's /var/lib/docker.",
        "Free space: check `df -h` on the HF cache and Docker root, and remove unused images with "
        "`docker system prune`.",
        FixAction(
            "command",
            command="df -h /var/lib/docker ~/.cache/huggingface; docker system prune",
            description="Show free space, then offer to remove stopped containers and unused images",
        ),
    ),
    "sglang-not-enough-memory": _Cause(
        "SGLang: no memory left for the KV pool",
        "SGLang's static memory share (--mem-fraction-static) is used up by the weights; nothing is left for the "
        "KV cache.",
        "Raise --mem-fraction-static (it must hold weights and KV cache), or lower --context-length / "
        "--max-total-tokens, or use a quantized model.",
    ),
    "port-in-use": _Cause(
        "Port already in use",
        "Another process or container already listens on the server's port.",
        "Stop the other server (often an earlier container of the same model) or launch on another port.",
    ),
    "engine-failed": _ENGINE_FAILED,
}

_NVML = "no-nvidia-runtime"
_WRAPPER = "engine-failed"

# (cause key, regex, weak).  Weak signatures are normal on some machines (NVML on Jetson Orin) and only
# count when nothing specific matched and the log shows a failure.  Order matters within a line.
_SIGNATURES: tuple[tuple[str, str, bool], ...] = (
    (
        "free-memory-below-utilization",
        r"Free memory on device (?:\S+ )?\((?P<free>[\d.]+)/(?P<total>[\d.]+) GiB\) on startup is less than desired "
        r"GPU memory utilization \((?P<util>[\d.]+), (?P<asked>[\d.]+) GiB\)",
        False,
    ),
    (
        "max-len-does-not-fit",
        r"To serve at least one request with the models?'s max seq len \((?P<seq>[\d,]+)\), \(?(?P<need>[\d.]+) GiB "
        r"KV cache is needed.*?estimated maximum model length is (?P<est>[\d,]+)",
        False,
    ),
    (
        "max-len-does-not-fit",
        r"To serve at least one request with the models?'s max seq len \((?P<seq>[\d,]+)\), \(?(?P<need>[\d.]+) GiB "
        r"KV cache is needed",
        False,
    ),
    ("max-len-does-not-fit", r"estimated maximum model length is (?P<est>[\d,]+)", False),  # a wrapped message
    ("no-kv-cache-memory", r"No available memory for the cache blocks", False),
    ("out-of-memory", r"Failed to load model - not enough GPU memory", False),
    ("out-of-memory", r"CUDA out of memory", False),
    ("memory-profiling-error", r"Error in memory profiling\. Initial free memory", False),
    ("bad-alloc", r"terminate called after throwing an instance of 'std::bad_alloc'", False),
    (_NVML, r"Model architectures \[.*\] failed to be inspected", False),
    (_NVML, r"Can't initialize NVML", True),
    (_NVML, r"NVMLError_Unknown", True),
    (_NVML, r"NVML Shared Library Not Found", True),
    (_NVML, r"could not select device driver \"[^\"]*\" with capabilities: \[\[gpu\]\]", False),  # docker --gpus
    (_NVML, r"unknown or invalid runtime name: nvidia", False),  # docker --runtime=nvidia
    ("architecture-not-supported", r"Model architectures \[(?P<arch>.*)\] are not supported for now", False),
    ("tiktoken-vocab", r"HarmonyError: error downloading or loading vocab file", False),
    ("tiktoken-vocab", r"failed to download or load vocab file", False),
    ("tiktoken-vocab", r"the env var TIKTOKEN_ENCODINGS_BASE is not set, or invalid", False),
    ("tiktoken-vocab", r"invalid tiktoken vocab file", False),
    ("cuda-library-missing", r"libcudart\.so\.(?P<major>\d+): cannot open shared object file", False),
    ("driver-too-old", r"The NVIDIA driver on your system is too old \(found version (?P<found>\d+)\)", False),
    ("image-needs-newer-cuda", r"unsatisfied condition: cuda>=(?P<cuda>[\d.]+), please update your driver", False),
    ("no-kernel-image", r"no kernel image is available for execution on the device", False),
    ("glibc-mismatch", r"version `(?P<glibc>GLIBCX?X?_[\d.]+)' not found", False),
    ("no-cuda-platform", r"Failed to infer device type", False),
    ("no-cuda-platform", r"No platform detected, vLLM is running on UnspecifiedPlatform", False),
    ("hf-access", r"Cannot access gated repo for url", False),
    ("hf-access", r"You are trying to access a gated repo", False),
    ("hf-access", r"401 Client Error", False),
    ("hf-access", r"Repository Not Found for url", False),
    ("disk-full", r"\[Errno 28\] No space left on device", False),
    ("disk-full", r"(?i:no space left on device)", False),
    ("sglang-not-enough-memory", r"Not enough memory\. Please try to increase --mem-fraction-static", False),
    (
        "port-in-use",
        r"\[Errno 98\] (?:error while attempting to bind on address .*: )?[Aa]ddress already in use",
        False,
    ),
    ("port-in-use", r"Bind for \S+ failed: port is already allocated", False),
)

# Lines that only say the engine died; the cause is earlier.  Never a root cause.
_WRAPPERS: tuple[str, ...] = (
    r"Engine core initialization failed",
    r"EngineCore failed to start\.",
    r"WorkerProc failed to start\.",
    r"Worker proc (?P<proc>\S+) died unexpectedly(?:.*?\(exit code: (?P<code>-?\d+)\))?",
    r"EngineCore encountered a fatal error",
    r"EngineCore encountered an issue\. See stack trace",
    r"Worker failed with error '.*', please check the stack trace above for the root cause",
)

_TABLE: tuple[tuple[str, re.Pattern[str], bool], ...] = tuple(
    (key, re.compile(rx), weak) for key, rx, weak in _SIGNATURES
)
_WRAPPER_TABLE: tuple[re.Pattern[str], ...] = tuple(re.compile(rx) for rx in _WRAPPERS)


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def _render(key: str, m: re.Match[str], evidence: str) -> Diagnosis:
    cause = _CAUSES[key]
    values = _Values({k: v for k, v in m.groupdict().items() if v is not None})
    action = cause.action
    if cause.derive is not None:
        extra = cause.derive(values)
        if "action" in extra:
            derived = extra.pop("action")
            action = derived if isinstance(derived, FixAction) else None
        values.update({k: str(v) for k, v in extra.items()})
    return Diagnosis(
        key=key,
        title=cause.title.format_map(values),
        explanation=cause.explanation.format_map(values),
        evidence=evidence,
        fix=cause.fix.format_map(values),
        action=action,
    )


def _match(line: str) -> tuple[Diagnosis, bool] | None:
    """The diagnosis of one ANSI-stripped line and whether it is weak (weak for wrappers too)."""
    for key, rx, weak in _TABLE:
        if m := rx.search(line):
            return _render(key, m, line.strip()), weak
    for rx in _WRAPPER_TABLE:
        if m := rx.search(line):
            return _render(_WRAPPER, m, line.strip()), True
    return None


def match_line(line: str) -> Diagnosis | None:
    """The diagnosis a single log line points at, wrappers included (key "engine-failed")."""
    found = _match(strip_ansi(line))
    return found[0] if found else None


def _is_failure(line: str) -> bool:
    """An ERROR/CRITICAL log line, a traceback or an exception line: the log shows something failed."""
    m = _PREFIX.match(line)
    if m is None:
        return False
    return m["level"] in ("ERROR", "CRITICAL") or bool(_EXCEPTION.match(line, m.end()))


def _lines(lines: Iterable[str]) -> Iterable[str]:
    for chunk in lines:
        yield from strip_ansi(chunk).split("\n")


def diagnose(lines: Iterable[str]) -> Diagnosis | None:
    """The root cause of a failed start or crash: the first specific signature in the log.

    Wrappers (``Engine core initialization failed`` and friends) never win over a specific
    signature, wherever it is.  With only wrappers the answer is a generic "engine-failed"
    pointing at the first wrapper line.  Weak signatures (NVML messages, normal on Jetson
    Orin) count only when the log also shows a failure.  None for a healthy log.
    """
    weak: Diagnosis | None = None
    wrapper: Diagnosis | None = None
    failed = False
    for line in _lines(lines):
        found = _match(line)
        if found is None:
            failed = failed or _is_failure(line)
            continue
        diagnosis, is_weak = found
        if not is_weak:
            return diagnosis
        if diagnosis.key == _WRAPPER:
            wrapper = wrapper or diagnosis
        else:
            weak = weak or diagnosis
    if weak is not None and (failed or wrapper is not None):
        return weak
    return wrapper
