"""The startup tracker on real vLLM 0.32 CPU output and on the GPU lines of domain.md §1."""

from __future__ import annotations

import pytest

from console.servers.startup import ORDER, StartupState, feed, health_ok, strip_ansi, track

LIVE_032 = """\
(APIServer pid=20016) INFO 11-23 04:00:00 [api_utils.py:347]  ▄▄ ▄█ █     █     █ ▀▄▀ █  version 0.32.0
(APIServer pid=20016) INFO 11-23 04:00:00 [api_utils.py:286] non-default args: {'host': '127.0.0.1', 'port': 8011}
(APIServer pid=20016) INFO 11-23 04:00:01 [model.py:733] Resolved architecture: Qwen3ForCausalLM
(APIServer pid=20016) INFO 11-23 04:00:01 [model.py:2152] Using max model len 1024
(EngineCore pid=20112) INFO 11-23 04:00:03 [core.py:133] Initializing a V1 LLM engine (v0.32.0) with config: model=x
(Worker pid=20164) INFO 11-23 04:00:05 [parallel_state.py:1906] world_size=1 rank=0 local_rank=0 backend=gloo
(Worker pid=20164) INFO 11-23 04:00:05 [cpu_model_runner.py:68] Starting to load model /models/tiny...
Loading safetensors checkpoint shards: 100% Completed | 1/1 [00:00<00:00, 250.71it/s]
(Worker pid=20164) INFO 11-23 04:00:06 [default_loader.py:501] Loading weights took 0.01 seconds
(Worker pid=20164) INFO 11-23 04:00:06 [monitor.py:91] [backbone] Initial profiling/warmup run took 0.08 s
(EngineCore pid=20112) INFO 11-23 04:00:30 [kv_cache_utils.py:2327] CPU KV cache size: 4,194,304 tokens, \
Maximum concurrency for 1,024 tokens per request: 4096.00x
(EngineCore pid=20112) INFO 11-23 04:00:36 [core.py:402] init engine (profile, create kv cache, warmup model) \
took 30.89 s
(APIServer pid=20016) INFO 11-23 04:00:37 [entry.py:136] Supported tasks: ['generate']
(APIServer pid=20016) INFO 11-23 04:00:37 [entry.py:140] Starting vLLM server on http://127.0.0.1:8011
(APIServer pid=20016) INFO 11-23 04:00:37 [launcher.py:186] Available routes are:
INFO:     Started server process [20538]
INFO:     Waiting for application startup.
INFO:     Application startup complete.
""".splitlines()

GPU_THOR = [
    "(APIServer pid=92) INFO 10-01 10:00:00 [api_server.py:1839] vLLM API server version 0.10.1.1",
    "(APIServer pid=92) INFO 10-01 10:00:02 [config.py:733] Resolved architecture: GptOssForCausalLM",
    "(EngineCore_0 pid=180) INFO 10-01 10:00:05 [core.py:134] Initializing a V1 LLM engine (v0.10.1.1) with config:",
    "(VllmWorker pid=220) INFO 10-01 10:00:06 [gpu_model_runner.py:5040] Starting to load model openai/gpt-oss-120b...",
    "(VllmWorker pid=220) INFO 10-01 10:00:07 [cuda.py:507] Using FLASH_ATTN backend on V1 engine.",
    "Loading safetensors checkpoint shards:  40% Completed | 6/15 [00:10<00:14,  1.6s/it]",
    "Loading safetensors checkpoint shards: 100% Completed | 15/15 [00:24<00:00,  1.6s/it]",
    "(VllmWorker pid=220) INFO 10-01 10:00:32 [default_loader.py:502] Loading weights took 24.72 seconds",
    "(VllmWorker pid=220) INFO 10-01 10:00:33 [gpu_model_runner.py:5150] Model loading took 60.8 GiB and 26.1 seconds",
    "(VllmWorker pid=220) INFO 10-01 10:00:34 [backends.py:295] Using cache directory: /root/.cache/vllm/torch_compile"
    "_cache/abc for vLLM's torch.compile",
    "(VllmWorker pid=220) INFO 10-01 10:00:50 [backends.py:399] Dynamo bytecode transform time: 16.2 s",
    "(VllmWorker pid=220) INFO 10-01 10:01:10 [backends.py:1104] Compiling a graph for dynamic shape takes 18.3 s",
    "(VllmWorker pid=220) INFO 10-01 10:01:19 [monitor.py:20] torch.compile takes 44.9 s in total",
    "(VllmWorker pid=220) INFO 10-01 10:01:21 [gpu_worker.py:760] Available KV cache memory: 21.50 GiB",
    "(EngineCore_0 pid=180) INFO 10-01 10:01:21 [kv_cache_utils.py:2328] GPU KV cache size: 313,296 tokens",
    "(EngineCore_0 pid=180) INFO 10-01 10:01:21 [kv_cache_utils.py:2330] Maximum concurrency for 131,072 tokens "
    "per request: 4.52x",
    "Capturing CUDA graphs (mixed prefill-decode, PIECEWISE):  45%|████▌     | 30/67 [00:09<00:11]",
    "(VllmWorker pid=220) INFO 10-01 10:01:42 [gpu_model_runner.py:6582] Graph capturing finished in 21 secs, took "
    "0.72 GiB",
    "(EngineCore_0 pid=180) INFO 10-01 10:01:43 [core.py:386] init engine (profile, create kv cache, warmup model) "
    "took 98.12 seconds",
    "(APIServer pid=92) INFO 10-01 10:01:45 [api_server.py:1900] Starting vLLM API server 0 on http://0.0.0.0:8000",
    "(APIServer pid=92) INFO:     Application startup complete.",
]


def phases_seen(lines: list[str]) -> list[str]:
    state = StartupState()
    seen = []
    for t, line in enumerate(lines):
        state = feed(state, line, float(t))
        if not seen or seen[-1] != state.phase:
            seen.append(state.phase)
    return seen


def test_live_cpu_log_reaches_health_wait_not_ready() -> None:
    state = track(list(enumerate(LIVE_032)))
    assert state.phase == "health" and not state.ready  # Ready needs /health
    d = state.details
    assert d["version"] == "0.32.0" and d["architecture"] == "Qwen3ForCausalLM" and d["max_model_len"] == "1024"
    assert d["kv_tokens"] == "4,194,304" and d["url"] == "http://127.0.0.1:8011" and d["shards"] == "1/1"
    assert phases_seen(LIVE_032) == ["start", "resolve", "engine", "load", "compile", "kv", "api", "health"]
    assert state.progress < 1.0
    ready = health_ok(state, 99.0)
    assert ready.ready and ready.progress == 1.0 and ready.title == "Ready"


def test_gpu_log_walks_every_phase_in_order_with_progress() -> None:
    seen = phases_seen(GPU_THOR)
    assert seen == ["start", "resolve", "engine", "load", "compile", "kv", "graphs", "api", "health"]
    assert [ORDER[p] for p in seen] == sorted(ORDER[p] for p in seen)
    state = track([(float(i), line) for i, line in enumerate(GPU_THOR)])
    assert state.details["model_gib"] == "60.8 26.1" and state.details["compile_s"] == "44.9"
    assert state.details["concurrency"] == "131,072 4.52"
    assert state.details["engine_version"] == "0.10.1.1" and state.details["graphs_s"] == "21 0.72"


def test_shard_progress_moves_the_bar_within_loading() -> None:
    lines = [(float(i), line) for i, line in enumerate(GPU_THOR[:6])]
    at_40 = track(lines)
    assert at_40.phase == "load" and at_40.shard_fraction == pytest.approx(6 / 15)
    at_100 = feed(at_40, GPU_THOR[6], 7.0)
    assert at_100.progress > at_40.progress and at_100.details["shards"] == "15/15"


def test_never_moves_backwards_and_times_each_phase() -> None:
    state = track([(0.0, GPU_THOR[0]), (2.0, GPU_THOR[1]), (10.0, GPU_THOR[3])])
    back = feed(state, GPU_THOR[1], 12.0)  # a resolve line again, late
    assert back.phase == "load"
    times = back.elapsed(now=15.0)
    assert times == {"start": 2.0, "resolve": 8.0, "load": 5.0}


def test_ansi_and_carriage_returns_are_stripped() -> None:
    coloured = "\x1b[32mINFO\x1b[0m 11-23 [model.py:733] Resolved architecture: \x1b[1mLlamaForCausalLM\x1b[0m\r"
    assert strip_ansi(coloured).endswith("Resolved architecture: LlamaForCausalLM")
    assert feed(StartupState(), coloured, 1.0).details["architecture"] == "LlamaForCausalLM"


def test_sglang_lines() -> None:
    lines = [
        "[2026-11-23 04:00:00] Load weight end. elapsed=12.5 s, type=Qwen3ForCausalLM, avail mem=40.1 GB, "
        "mem usage=15.2 GB.",
        "[2026-11-23 04:00:10] Memory pool end. avail mem=20.3 GB",
        "[2026-11-23 04:00:30] Capture cuda graph end. Time elapsed: 20 s. elapsed=20.1 s",
        "[2026-11-23 04:00:35] The server is fired up and ready to roll!",
    ]
    state = track(list(enumerate(lines)))
    assert state.phase == "health" and state.details["weights_s"] == "12.5" and state.details["kv_gib"] == "20.3"


def test_health_without_any_log_is_still_ready() -> None:
    assert health_ok(StartupState(), 5.0).ready
