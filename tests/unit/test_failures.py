"""Failure diagnosis: every signature of domain.md §2, root cause over wrapper, healthy logs stay quiet."""

from __future__ import annotations

import dataclasses

import pytest

from console.servers.failures import (
    DROP_CACHES,
    NVIDIA_RUNTIME_FIX,
    Diagnosis,
    FixAction,
    diagnose,
    match_line,
    strip_ansi,
    strip_prefix,
)

ENGINE = "(EngineCore_DP0 pid=253) ERROR 11-23 04:00:00 [core.py:708] "
ENGINE_32 = "(EngineCore pid=20112) ERROR 11-23 04:00:00 [core.py:1510] "
API = "(APIServer pid=1) ERROR 11-23 04:00:01 [api_server.py:88] "
WORKER = "(Worker pid=20164) ERROR 11-23 04:00:00 [multiproc_executor.py:953] "
INFO = "(APIServer pid=20016) INFO 11-23 04:00:00 [__init__.py:295] "
RED, RESET = "\x1b[1;31m", "\x1b[0m"

THOR_FREE = (
    "ValueError: Free memory on device cuda:0 (14.45/122.82 GiB) on startup is less than desired GPU memory "
    "utilization (0.7, 85.98 GiB). Decrease GPU memory utilization or reduce GPU memory used by other "
    "processes."
)

# (expected key, a realistic line) — every alternative of every row in domain.md §2, plus the extras.
SIGNATURES = [
    # Free memory below utilization: 0.32 (device token), 0.11 (none), coloured, with \r
    ("free-memory-below-utilization", ENGINE + THOR_FREE),
    (
        "free-memory-below-utilization",
        "ValueError: Free memory on device (61.05/119.7 GiB) on startup is less than desired GPU memory utilization "
        "(0.52, 62.24 GiB). Decrease GPU memory utilization or reduce GPU memory used by other processes.",
    ),
    ("free-memory-below-utilization", RED + ENGINE_32 + THOR_FREE + RESET + "\r"),
    # No memory for the cache blocks
    (
        "no-kv-cache-memory",
        ENGINE + "ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when "
        "initializing the engine.",
    ),
    # Max seq len does not fit: 0.11 "models's", later "model's", commas, no opening parenthesis
    (
        "max-len-does-not-fit",
        ENGINE + "ValueError: To serve at least one request with the models's max seq len (40960), (5.62 GiB KV cache "
        "is needed, which is larger than the available KV cache memory (4.50 GiB). Based on the available memory, the "
        "estimated maximum model length is 32768. Try increasing `gpu_memory_utilization` or decreasing "
        "`max_model_len` when initializing the engine.",
    ),
    (
        "max-len-does-not-fit",
        "ValueError: To serve at least one request with the model's max seq len (131072), "
        "(2.15 GiB KV cache is needed, "
        "which is larger than the available KV cache memory (1.5 GiB). Based on the available memory, the estimated "
        "maximum model length is 87808.",
    ),
    (
        "max-len-does-not-fit",
        "To serve at least one request with the model's max seq len (262144), 9.29 GiB KV cache is needed, which is "
        "larger than the available KV cache memory (9.28 GiB). Based on the available memory, the estimated maximum "
        "model length is 260800.",
    ),
    # OOM while loading
    (
        "out-of-memory",
        "(EngineCore pid=36704) ERROR 04-07 15:58:28 [gpu_model_runner.py:4818] Failed to load model - not enough GPU "
        "memory. Try lowering --gpu-memory-utilization to free memory for weights, increasing --tensor-parallel-size, "
        "or using --quantization.",
    ),
    (
        "out-of-memory",
        ENGINE + "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 768.00 MiB. GPU 0 has a total capacity "
        "of 95.01 GiB of which 438.31 MiB is free.",
    ),
    # Memory profiling
    (
        "memory-profiling-error",
        ENGINE + "AssertionError: Error in memory profiling. Initial free memory 58.23 GiB, current free memory 59.34 "
        "GiB. This happens when other processes sharing the same container release GPU memory while vLLM is profiling "
        "during init.",
    ),
    # std::bad_alloc (third-party Thor report)
    ("bad-alloc", "terminate called after throwing an instance of 'std::bad_alloc'"),
    # NVIDIA runtime missing: all four alternatives, and the docker-side messages
    (
        "no-nvidia-runtime",
        "/usr/local/lib/python3.12/dist-packages/torch/cuda/__init__.py:63: UserWarning: Can't initialize NVML",
    ),
    ("no-nvidia-runtime", INFO + "Exception happens when checking CUDA platform: NVMLError_Unknown: Unknown Error"),
    ("no-nvidia-runtime", INFO + "Exception happens when checking CUDA platform: NVML Shared Library Not Found"),
    (
        "no-nvidia-runtime",
        API + "ValueError: Model architectures ['GptOssForCausalLM'] failed to be inspected. Please check the logs for "
        "more details.",
    ),
    (
        "no-nvidia-runtime",
        'docker: Error response from daemon: could not select device driver "" with capabilities: [[gpu]].',
    ),
    ("no-nvidia-runtime", "docker: Error response from daemon: unknown or invalid runtime name: nvidia."),
    # Architecture not supported
    (
        "architecture-not-supported",
        API + "ValueError: Model architectures ['Qwen3NextForCausalLM'] are not supported for now. Supported "
        "architectures: dict_keys(['AquilaModel', 'LlamaForCausalLM'])",
    ),
    # gpt-oss tiktoken: the four alternatives
    ("tiktoken-vocab", API + "openai_harmony.HarmonyError: error downloading or loading vocab file: request failed"),
    ("tiktoken-vocab", "Error: failed to download or load vocab file"),
    ("tiktoken-vocab", API + "RuntimeError: the env var TIKTOKEN_ENCODINGS_BASE is not set, or invalid"),
    ("tiktoken-vocab", "openai_harmony.HarmonyError: invalid tiktoken vocab file"),
    # CUDA library / driver / image mismatches
    ("cuda-library-missing", "ImportError: libcudart.so.13: cannot open shared object file: No such file or directory"),
    (
        "driver-too-old",
        "UserWarning: CUDA initialization: The NVIDIA driver on your system is too old (found version 12060). Please "
        "update your GPU driver by downloading and installing a new version from the URL: http://www.nvidia.com/",
    ),
    (
        "image-needs-newer-cuda",
        "docker: Error response from daemon: failed to create task for container: failed to create shim task: OCI "
        "runtime create failed: nvidia-container-cli: requirement error: unsatisfied condition: cuda>=13.0, please "
        "update your driver to a newer version, or use an earlier cuda container: unknown.",
    ),
    (
        "no-kernel-image",
        WORKER + "torch.AcceleratorError: CUDA error: no kernel image is available for execution on the device",
    ),
    (
        "glibc-mismatch",
        "ImportError: /lib/aarch64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by "
        "/usr/local/lib/python3.12/dist-packages/vllm/_C.abi3.so)",
    ),
    ("glibc-mismatch", "/lib/aarch64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by ./vllm)"),
    # No CUDA platform
    ("no-cuda-platform", API + "RuntimeError: Failed to infer device type"),
    ("no-cuda-platform", INFO + "No platform detected, vLLM is running on UnspecifiedPlatform"),
    # Hugging Face access: the four alternatives
    (
        "hf-access",
        "huggingface_hub.errors.GatedRepoError: 403 Client Error. Cannot access gated repo for url "
        "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/resolve/main/config.json.",
    ),
    (
        "hf-access",
        API + "OSError: You are trying to access a gated repo. Make sure to have access to it at "
        "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct.",
    ),
    (
        "hf-access",
        "requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: "
        "https://huggingface.co/api/models/org/private-model",
    ),
    (
        "hf-access",
        "huggingface_hub.errors.RepositoryNotFoundError: 404 Client Error. (Request ID: Root=1-abc) "
        "Repository Not Found "
        "for url: https://huggingface.co/api/models/no/such-model/revision/main.",
    ),
    # Disk full: both alternatives
    ("disk-full", WORKER + "OSError: [Errno 28] No space left on device"),
    (
        "disk-full",
        "docker: failed to register layer: write /var/lib/docker/overlay2/abc/diff/usr/lib/libx.so: "
        "no space left on device.",
    ),
    # Extras: SGLang memory, port in use
    (
        "sglang-not-enough-memory",
        "[2025-11-23 04:00:00] RuntimeError: Not enough memory. Please try to increase --mem-fraction-static. Current "
        "value: mem_fraction_static=0.6",
    ),
    (
        "port-in-use",
        "ERROR:    [Errno 98] error while attempting to bind on address ('0.0.0.0', 8000): address already in use",
    ),
    ("port-in-use", "OSError: [Errno 98] Address already in use"),
    (
        "port-in-use",
        "docker: Error response from daemon: driver failed programming external connectivity on endpoint vllm: "
        "Bind for 0.0.0.0:8000 failed: port is already allocated.",
    ),
]


def line_for(key: str, nth: int = 0) -> str:
    """The ``nth`` sample line of a cause in SIGNATURES."""
    return [line for k, line in SIGNATURES if k == key][nth]


WRAPPERS = [
    API + "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): "
    "{'EngineCore_0': 1}",
    ENGINE_32 + "EngineCore failed to start.",
    WORKER + "WorkerProc failed to start.",
    "(EngineCore_DP0 pid=253) ERROR 11-23 04:00:00 [multiproc_executor.py:316] Worker proc VllmWorker-0 died "
    "unexpectedly, shutting down executor.",
    ENGINE_32 + "EngineCore encountered a fatal error.",
    API + "vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for "
    "the root cause.",
    ENGINE_32 + "RuntimeError: Worker failed with error 'unhandled cudaError_t', please check the stack trace above "
    "for the root cause",
]

# The live vLLM 0.32 startup of domain.md §1, with the phases in between.
HEALTHY_032 = [
    "(APIServer pid=20016) INFO 11-23 04:00:00 [api_utils.py:347]  ▄▄ ▄█ █     █     █ ▀▄▀ █  version 0.32.0",
    "(APIServer pid=20016) INFO 11-23 04:00:00 [api_utils.py:286] non-default args: {'host': '127.0.0.1', "
    "'port': 8011}",
    "(APIServer pid=20016) INFO 11-23 04:00:01 [model.py:733] Resolved architecture: Qwen3ForCausalLM",
    "(APIServer pid=20016) INFO 11-23 04:00:01 [model.py:2152] Using max model len 1024",
    "(EngineCore pid=20112) INFO 11-23 04:00:03 [core.py:133] Initializing a V1 LLM engine (v0.32.0) with config: "
    "model='tiny'",
    "(Worker pid=20164) INFO 11-23 04:00:05 [parallel_state.py:1906] world_size=1 rank=0 local_rank=0 "
    "distributed_init_method=tcp://127.0.0.1:41393 backend=gloo",
    "(Worker pid=20164) INFO 11-23 04:00:05 [cpu_model_runner.py:68] Starting to load model /models/tiny...",
    "Loading safetensors checkpoint shards: 100% Completed | 1/1 [00:00<00:00, 250.71it/s]",
    "(Worker pid=20164) INFO 11-23 04:00:05 [default_loader.py:501] Loading weights took 0.01 seconds",
    "(Worker pid=20164) INFO 11-23 04:00:06 [monitor.py:91] [backbone] Initial profiling/warmup run took 0.08 s",
    "(EngineCore pid=20112) INFO 11-23 04:00:30 [kv_cache_utils.py:2327] CPU KV cache size: 4,194,304 tokens, "
    "Maximum concurrency for 1,024 tokens per request: 4096.00x",
    "(EngineCore pid=20112) INFO 11-23 04:00:34 [core.py:402] init engine (profile, create kv cache, warmup model) "
    "took 30.89 s",
    "(APIServer pid=20016) INFO 11-23 04:00:35 [entry.py:136] Supported tasks: ['generate']",
    "(APIServer pid=20016) INFO 11-23 04:00:35 [entry.py:140] Starting vLLM server on http://127.0.0.1:8011",
    "(APIServer pid=20016) INFO 11-23 04:00:35 [launcher.py:186] Available routes are:",
    "(APIServer pid=20016) INFO 11-23 04:00:35 [launcher.py:195] Route: /health, Methods: GET",
    "INFO:     Started server process [20538]",
    "INFO:     Waiting for application startup.",
    "INFO:     Application startup complete.",
    "(APIServer pid=20016) INFO 11-23 04:01:00 [loggers.py:283] Engine 000: Avg prompt throughput: 3.7 tokens/s, Avg "
    "generation throughput: 0.6 tokens/s, Running: 0 reqs, Waiting: 0 reqs, CPU KV cache usage: 0.0%, Prefix cache "
    "hit rate: 0.0%",
    'INFO:     127.0.0.1:49826 - "POST /v1/chat/completions HTTP/1.1" 200 OK',
    "Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%|██████████| 67/67 [00:03<00:00, 20.1it/s]\r",
]


def vllm_failure(root: str) -> list[str]:
    """A vLLM ≥0.10 startup failure: marker, traceback ending in ``root``, then the APIServer's wrapper."""
    return [
        "(APIServer pid=1) INFO 11-23 04:00:00 [model.py:733] Resolved architecture: GptOssForCausalLM",
        ENGINE + "EngineCore failed to start.",
        ENGINE + "Traceback (most recent call last):",
        ENGINE + '  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py", line 699, in '
        "run_engine_core",
        ENGINE + "    engine_core = EngineCoreProc(*args, **kwargs)",
        ENGINE + root,
        "(APIServer pid=1) Traceback (most recent call last):",
        '(APIServer pid=1)   File "/usr/local/bin/vllm", line 10, in <module>',
        API + "RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): "
        "{'EngineCore_0': 1}",
    ]


@pytest.mark.parametrize(("key", "line"), SIGNATURES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(SIGNATURES)])
def test_every_signature_matches(key: str, line: str) -> None:
    d = match_line(line)
    assert d is not None and d.key == key
    assert d.title and d.explanation and d.fix
    assert d.evidence == strip_ansi(line).strip()
    assert "\x1b" not in d.evidence and "{" not in d.title + d.explanation + d.fix
    assert "?" not in d.title + d.explanation + d.fix  # every template value was filled


@pytest.mark.parametrize(("key", "line"), SIGNATURES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(SIGNATURES)])
def test_every_signature_wins_over_the_wrapper_after_it(key: str, line: str) -> None:
    d = diagnose(vllm_failure(line))
    assert d is not None and d.key == key


@pytest.mark.parametrize("line", WRAPPERS)
def test_wrappers_alone_give_a_generic_engine_failure(line: str) -> None:
    assert (m := match_line(line)) is not None and m.key == "engine-failed"
    d = diagnose(["(APIServer pid=1) INFO 11-23 04:00:00 [model.py:733] Resolved architecture: X", line])
    assert d is not None and d.key == "engine-failed"
    assert d.evidence == line.strip()
    assert "not recognised" in d.explanation and "lines before" in d.explanation
    assert d.action is None


def test_generic_failure_points_at_the_first_wrapper() -> None:
    d = diagnose(vllm_failure("ZeroDivisionError: something vLLM does not explain"))
    assert d is not None and d.key == "engine-failed"
    assert d.evidence.endswith("EngineCore failed to start.")


def test_worker_killed_by_sigkill_mentions_the_oom_killer() -> None:
    line = (
        "(EngineCore pid=9) ERROR 11-23 04:00:00 [multiproc_executor.py:316] Worker proc VllmWorker-0 died "
        "unexpectedly, shutting down executor. (exit code: -9)"
    )
    d = diagnose([line])
    assert d is not None and d.key == "engine-failed" and "dmesg" in d.explanation
    plain = match_line(WRAPPERS[3])
    assert plain is not None and "dmesg" not in plain.explanation


def test_thor_free_memory_example_computes_a_clamped_utilization() -> None:
    d = diagnose(vllm_failure(THOR_FREE))
    assert d is not None and d.key == "free-memory-below-utilization"
    # 14.45 / 122.82 = 0.1177; minus 2 % = 0.0977; floored to 0.09
    assert d.action == FixAction(
        "relaunch", {"gpu_memory_utilization": 0.09}, description="Relaunch with gpu-memory-utilization 0.09 (was 0.7)"
    )
    assert "14.45" in d.explanation and "122.82" in d.explanation and "85.98" in d.explanation
    assert "0.09" in d.fix
    assert DROP_CACHES in d.fix and "restart Docker" in d.fix and "reboot" in d.fix
    assert "something else" in d.fix


@pytest.mark.parametrize(
    ("free", "total", "util", "expected", "held"),
    [
        (61.05, 119.7, 0.52, 0.49, False),  # 0.510 - 0.02 → 0.49
        (12.18, 23.56, 0.92, 0.49, False),  # 0.517 - 0.02 → 0.49
        (52.0, 100.0, 0.9, 0.5, False),  # exactly 0.50 stays 0.50 (no float drift to 0.49)
        (5.31, 23.56, 0.8, 0.2, False),
        (14.45, 122.82, 0.7, 0.09, True),
        (2.02, 63.59, 0.92, 0.05, True),  # 0.0118 → clamped to the 0.05 minimum
        (0.5, 122.82, 0.9, 0.05, True),
    ],
)
def test_free_memory_fix_is_computed(free: float, total: float, util: float, expected: float, held: bool) -> None:
    line = (
        f"(EngineCore pid=1) ERROR 11-23 04:00:00 [core.py:1] ValueError: Free memory on device cuda:0 "
        f"({free}/{total} GiB) on startup is less than desired GPU memory utilization ({util}, "
        f"{util * total:.2f} GiB). Decrease GPU memory utilization or reduce GPU memory used by other processes."
    )
    d = match_line(line)
    assert d is not None and d.action is not None
    assert d.action.kind == "relaunch" and d.action.settings == {"gpu_memory_utilization": expected}
    assert expected < util
    assert ("something else" in d.fix) is held
    assert (DROP_CACHES in d.fix) is held


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (line_for("max-len-does-not-fit"), 32768),
        (line_for("max-len-does-not-fit", 1), 87808),
        (line_for("max-len-does-not-fit", 2), 260800),
        (
            "ValueError: To serve at least one request with the models's max seq len (16,384), (4.00 GiB KV cache is "
            "needed, which is larger than the available KV cache memory (2.50 GiB). Based on the available memory, the "
            "estimated maximum model length is 10,240. Try increasing `gpu_memory_utilization`",
            10240,
        ),
        ("(EngineCore pid=1) ERROR 11-23 04:00:00 [core.py:1] the estimated maximum model length is 432.", 432),
    ],
)
def test_max_len_fix_uses_the_estimate(line: str, expected: int) -> None:
    d = match_line(line)
    assert d is not None and d.key == "max-len-does-not-fit"
    assert d.action == FixAction(
        "relaunch", {"max_model_len": expected}, description=f"Relaunch with max-model-len {expected}"
    )
    assert str(expected) in d.fix and str(expected) in d.explanation


def test_max_len_without_an_estimate_offers_no_relaunch() -> None:
    d = match_line(
        "ValueError: To serve at least one request with the model's max seq len (8192), (2.0 GiB KV cache "
        "is needed, which is larger than the available KV cache memory (0.45 GiB). Try increasing "
        "`gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine."
    )
    assert d is not None and d.key == "max-len-does-not-fit" and d.action is None
    assert "8192" in d.explanation and "--max-model-len" in d.fix

    zero = match_line("the estimated maximum model length is 0.")
    assert zero is not None and zero.action is None


@pytest.mark.parametrize("key", ["no-nvidia-runtime", "no-cuda-platform"])
def test_runtime_fixes_offer_the_daemon_json_command(key: str) -> None:
    d = next(match_line(line) for k, line in SIGNATURES if k == key)
    assert d is not None and d.action is not None
    assert d.action.kind == "command" and d.action.command == NVIDIA_RUNTIME_FIX
    assert "nvidia-ctk runtime configure --runtime=docker --set-as-default" in d.action.command
    assert "systemctl restart docker" in d.action.command
    assert "nvidia-smi" in d.action.description


def test_tiktoken_fix_names_the_env_var_and_both_files() -> None:
    d = match_line(line_for("tiktoken-vocab", 1))
    assert d is not None and d.action is not None and d.action.kind == "command"
    assert "TIKTOKEN_ENCODINGS_BASE" in d.fix
    for name in ("o200k_base.tiktoken", "cl100k_base.tiktoken"):
        assert name in d.fix and name in d.action.command


def test_libcudart_names_the_cuda_major() -> None:
    d = match_line("OSError: libcudart.so.12: cannot open shared object file: No such file or directory")
    assert d is not None and "CUDA 12" in d.title and "libcudart.so.12" in d.explanation
    assert "CUDA 13 on Thor" in d.fix


def test_driver_version_is_read_as_cuda() -> None:
    d = match_line(line_for("driver-too-old"))
    assert d is not None and "CUDA 12.6" in d.explanation
    d = match_line("The NVIDIA driver on your system is too old (found version 11040).")
    assert d is not None and "CUDA 11.4" in d.explanation


def test_values_from_the_line_reach_the_text() -> None:
    image = match_line(line_for("image-needs-newer-cuda"))
    assert image is not None and "13.0" in image.title
    glibc = match_line(line_for("glibc-mismatch"))
    assert glibc is not None and "GLIBCXX_3.4.32" in glibc.title
    arch = match_line(line_for("architecture-not-supported"))
    assert arch is not None and "Qwen3NextForCausalLM" in arch.explanation


def test_disk_full_offers_df_and_prune() -> None:
    d = match_line(line_for("disk-full"))
    assert d is not None and d.action is not None and d.action.kind == "command"
    assert "df -h /var/lib/docker ~/.cache/huggingface" in d.action.command
    assert "docker system prune" in d.action.command


def test_healthy_startup_gives_none() -> None:
    assert diagnose(HEALTHY_032) is None
    assert diagnose([RED + line + RESET + "\r" for line in HEALTHY_032]) is None
    assert all(match_line(line) is None for line in HEALTHY_032)
    assert diagnose([]) is None


def test_nvml_warning_on_a_healthy_orin_log_is_ignored() -> None:
    orin = [line_for("no-nvidia-runtime"), line_for("no-nvidia-runtime", 2), *HEALTHY_032]
    assert diagnose(orin) is None


def test_nvml_counts_once_the_log_shows_a_failure() -> None:
    nvml = line_for("no-nvidia-runtime", 2)
    d = diagnose([nvml, "Traceback (most recent call last):", "KeyError: 'cuda'"])
    assert d is not None and d.key == "no-nvidia-runtime" and d.evidence == nvml
    d = diagnose([nvml, WRAPPERS[0]])  # a specific hint beats the bare wrapper
    assert d is not None and d.key == "no-nvidia-runtime"
    d = diagnose([nvml, API + "something went wrong"])
    assert d is not None and d.key == "no-nvidia-runtime"
    d = diagnose([nvml, "(EngineCore pid=7) Traceback (most recent call last):"])
    assert d is not None and d.key == "no-nvidia-runtime"
    d = diagnose([nvml, "(EngineCore pid=7) INFO 11-23 04:00:00 [core.py:1] ImportError: no module"])
    assert d is not None and d.key == "no-nvidia-runtime"
    assert diagnose([nvml, "(EngineCore pid=7) INFO 11-23 04:00:00 [core.py:1] Error handling is fine"]) is None


def test_a_strong_signature_beats_an_earlier_weak_one() -> None:
    d = diagnose([line_for("no-nvidia-runtime", 2), line_for("no-cuda-platform"), WRAPPERS[0]])
    assert d is not None and d.key == "no-cuda-platform"


def test_the_first_specific_signature_is_the_root_cause() -> None:
    free = line_for("free-memory-below-utilization")
    oom = line_for("out-of-memory", 1)
    d = diagnose([*HEALTHY_032[:5], WRAPPERS[1], free, oom, WRAPPERS[0]])
    assert d is not None and d.key == "free-memory-below-utilization"
    d = diagnose([oom, free])
    assert d is not None and d.key == "out-of-memory"


def test_runtime_crash_reports_the_error_inside_the_wrapper() -> None:
    log = [
        *HEALTHY_032,
        ENGINE_32 + "EngineCore encountered a fatal error.",
        ENGINE_32 + "Traceback (most recent call last):",
        ENGINE_32 + "RuntimeError: Worker failed with error 'CUDA out of memory. Tried to allocate 2.00 GiB', please "
        "check the stack trace above for the root cause",
        "(APIServer pid=20016) ERROR 11-23 04:05:00 [serving.py:1] EngineCore encountered an issue. See stack trace "
        "(above) for the root cause.",
        "INFO:     Shutting down",
        "INFO:     Finished server process [20538]",
    ]
    d = diagnose(log)
    assert d is not None and d.key == "out-of-memory"
    unknown = [*log[:-5], ENGINE_32 + "EngineCore encountered a fatal error.", "INFO:     Shutting down"]
    d = diagnose(unknown)
    assert d is not None and d.key == "engine-failed" and d.evidence.endswith("EngineCore encountered a fatal error.")


def test_chunks_with_several_lines_and_generators_work() -> None:
    chunk = "\n".join(vllm_failure(line_for("max-len-does-not-fit")))
    d = diagnose([chunk])
    assert d is not None and d.key == "max-len-does-not-fit"
    d = diagnose(line for line in vllm_failure(THOR_FREE))
    assert d is not None and d.key == "free-memory-below-utilization"


def test_evidence_keeps_the_prefix_but_not_colour_or_padding() -> None:
    line = "  " + RED + ENGINE + "OSError: [Errno 28] No space left on device" + RESET + "\r\n"
    d = match_line(line)
    assert d is not None
    assert d.evidence == ENGINE + "OSError: [Errno 28] No space left on device"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[32mINFO\x1b[0m hello", "INFO hello"),
        ("\x1b[1;31;40mbold red\x1b[m", "bold red"),
        ("\x1b[?25lhidden cursor\x1b[?25h", "hidden cursor"),
        ("\x1b[2K\x1b[1Gprogress 50%", "progress 50%"),
        ("\x1b]0;title\x07text", "text"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x9b31mC1 CSI\x9b0m", "C1 CSI"),
        ("\x1b(Bcharset", "charset"),
        ("line\r", "line"),
        ("10%\r50%\r100%", "10%50%100%"),
        ("no escapes here", "no escapes here"),
    ],
)
def test_strip_ansi(raw: str, clean: str) -> None:
    assert strip_ansi(raw) == clean


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (ENGINE + "ValueError: x", "ValueError: x"),
        (
            "(VllmWorker-0 pid=7) INFO 01-02 03:04:05 [gpu_worker.py:760] Available KV cache memory: 5 GiB",
            "Available KV cache memory: 5 GiB",
        ),
        ("(Worker_TP1 pid=7) WARNING 01-02 03:04:05 [a.py:1] careful", "careful"),
        ("(EngineCore_DP0 pid=7) Traceback (most recent call last):", "Traceback (most recent call last):"),
        ("INFO 01-02 03:04:05 [api_server.py:1] old format", "old format"),
        ("2025-11-23T04:00:00.123456789Z (APIServer pid=1) INFO 11-23 04:00:00 [x.py:1] docker -t", "docker -t"),
        ("INFO:     Application startup complete.", "INFO:     Application startup complete."),
        ("plain", "plain"),
    ],
)
def test_strip_prefix(line: str, message: str) -> None:
    assert strip_prefix(line) == message


def test_results_are_frozen() -> None:
    d = match_line(line_for("free-memory-below-utilization"))
    assert isinstance(d, Diagnosis)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.key = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        FixAction("none").kind = "command"  # type: ignore[misc]
    assert FixAction("none").settings == {} and FixAction("none").settings is not FixAction("none").settings


def test_long_logs_are_scanned_quickly() -> None:
    import time

    log = HEALTHY_032 * 2500  # 55k lines
    start = time.perf_counter()
    assert diagnose(log) is None
    assert time.perf_counter() - start < 5.0
