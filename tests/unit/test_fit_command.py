"""``jetconsole fit``: config.json and flags in, the table or JSON out, exit 0 fits / 1 does not / 2 bad input.

Memory is a fake meminfo (``$JETCONSOLE_MEMINFO``), so nothing depends on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import replace
from io import StringIO
from pathlib import Path

import pytest

from console.cli import build_parser, main
from console.fit import device as fit_device
from console.fit.command import run
from console.fit.device import MEMINFO_ENV, DeviceMemory, engine_memory
from console.fit.model import FitError, estimate_params, parse_params
from console.fit.sizing import GIB
from console.telemetry.model import Memory, TelemetrySnapshot
from console.telemetry.nvml_source import snapshot_from_nvml

ROOT = Path(__file__).resolve().parents[2]
KIB = 1024
THOR_TOTAL = 128787600 * KIB  # ≈122.8 GiB, as Thor reports it
THOR_AVAILABLE = 120000000 * KIB
MEMINFO = "MemTotal:       128787600 kB\nMemFree:        100000000 kB\nMemAvailable:   120000000 kB\n"
OVERHEAD = 3 * GIB  # DEFAULT_ACTIVATIONS + DEFAULT_CUDA_GRAPHS

# Llama-3.1-8B's config.json as published (meta-llama/Llama-3.1-8B-Instruct), laid out as on disk.
LLAMA_31_8B = """{
  "architectures": [
    "LlamaForCausalLM"
  ],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 128000,
  "eos_token_id": [128001, 128008, 128009],
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 14336,
  "max_position_embeddings": 131072,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
    "rope_type": "llama3"
  },
  "rope_theta": 500000.0,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.42.3",
  "use_cache": true,
  "vocab_size": 128256
}
"""

# DeepSeek-V2-Lite's attention and size fields (MLA, mixture of experts).
DEEPSEEK_V2_LITE = {
    "architectures": ["DeepseekV2ForCausalLM"],
    "hidden_size": 2048,
    "kv_lora_rank": 512,
    "max_position_embeddings": 163840,
    "moe_intermediate_size": 1408,
    "n_routed_experts": 64,
    "num_attention_heads": 16,
    "num_hidden_layers": 27,
    "num_key_value_heads": 16,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "torch_dtype": "bfloat16",
    "v_head_dim": 128,
    "vocab_size": 102400,
}


@pytest.fixture(autouse=True)
def meminfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "meminfo"
    path.write_text(MEMINFO)
    monkeypatch.setenv(MEMINFO_ENV, str(path))
    return path


@pytest.fixture
def llama(tmp_path: Path) -> Path:
    model = tmp_path / "Llama-3.1-8B-Instruct"
    model.mkdir()
    (model / "config.json").write_text(LLAMA_31_8B)
    return model


def fit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["fit", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def fit_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code, out, err = fit(capsys, *argv, "--json")
    assert err == ""
    return code, json.loads(out)


def write_config(tmp_path: Path, config: dict, name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(config, indent=2))
    return path


# ---- parameters ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("8e9", 8_000_000_000),
        ("8B", 8_000_000_000),
        ("70b", 70_000_000_000),
        ("1.5B", 1_500_000_000),
        ("500M", 500_000_000),
        (" 0.6b ", 600_000_000),
        ("1T", 10**12),
        ("8_030_261_248", 8_030_261_248),
        ("120G", 120_000_000_000),
    ],
)
def test_params_accepts_counts_and_suffixes(text: str, count: int) -> None:
    assert parse_params(text) == count


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("abc", "cannot read 'abc'"),
        ("8X", "cannot read"),
        ("8", "write 8B for 8 billion"),
        ("-8B", "write 8B"),
        ("inf", "write 8B"),
        ("B", "cannot read"),
    ],
)
def test_params_refuses_garbage_naming_the_flag(text: str, words: str) -> None:
    with pytest.raises(FitError, match="--params") as exc:
        parse_params(text)
    assert words in str(exc.value)


def test_params_estimated_from_a_dense_config() -> None:
    # Llama-3.1-8B has 8,030,261,248 parameters; the estimate leaves out the 65 RMSNorm vectors of 4096.
    assert estimate_params(json.loads(LLAMA_31_8B)) + 65 * 4096 == 8_030_261_248


def test_params_not_estimated_for_mixture_of_experts() -> None:
    with pytest.raises(FitError, match=r"--params is needed: config.json has 'n_routed_experts'"):
        estimate_params(DEEPSEEK_V2_LITE)


# ---- the numbers -----------------------------------------------------------------------------------------------


def test_llama_fits_on_thor_with_the_known_kv_size(
    capsys: pytest.CaptureFixture[str], llama: Path, meminfo: Path
) -> None:
    code, r = fit_json(capsys, "--config", str(llama), "--params", "8B")
    assert code == 0
    assert r["config"] == str(llama / "config.json")
    assert (r["params"], r["params_source"], r["quant"], r["bytes_per_param"]) == (8 * 10**9, "--params", "bf16", 2.0)
    assert r["weights_bytes"] == 16 * 10**9
    assert r["kv_bytes_per_token"] == 131072  # 2 x 32 layers x 8 KV heads x 128 x 2 bytes
    assert (r["context"], r["concurrency"], r["kv_dtype"]) == (32768, 1, "auto")  # 131072 capped at 32768
    assert r["kv_cache_bytes"] == 32768 * 131072 == 4 * GIB
    assert r["overhead_bytes"] == OVERHEAD
    assert r["need_bytes"] == 16 * 10**9 + 4 * GIB + OVERHEAD
    assert (r["mem_total_bytes"], r["mem_available_bytes"]) == (THOR_TOTAL, THOR_AVAILABLE)
    assert str(meminfo) in r["memory_source"] and "system RAM" in r["memory_source"]
    assert r["budget_bytes"] == 118690652160  # ceil(0.9 x total)
    assert r["fits"] is True and r["reason"].startswith("needs 21.9 GiB of the 110.5 GiB budget")
    # 0.9 fits, but unified memory keeps OS headroom: the recommendation is 0.85 at the asked context.
    assert (r["gpu_memory_utilization"], r["max_model_len"]) == (0.85, 32768)
    assert r["min_gpu_memory_utilization"] == 0.18
    assert r["longest_context"] == 131072  # the room holds more, max_position_embeddings caps it
    assert any("0.85" in n for n in r["notes"])


def test_fp8_kv_cache_halves_the_kv(capsys: pytest.CaptureFixture[str], llama: Path) -> None:
    code, r = fit_json(
        capsys,
        "--config",
        str(llama / "config.json"),
        "--params",
        "8B",
        "--kv-dtype",
        "fp8",
        "--context",
        "131072",
        "--util",
        "0.8",
    )
    assert code == 0
    assert r["kv_bytes_per_token"] == 65536
    assert r["kv_cache_bytes"] == 131072 * 65536 == 8 * GIB
    assert (r["gpu_memory_utilization"], r["max_model_len"]) == (0.8, 131072)  # 0.8 fits and is below 0.85
    assert r["notes"] == []


def test_too_much_context_does_not_fit_and_says_what_would(capsys: pytest.CaptureFixture[str], llama: Path) -> None:
    code, r = fit_json(capsys, "--config", str(llama), "--params", "8B", "--context", "131072", "--concurrency", "8")
    assert code == 1
    assert r["kv_cache_bytes"] == 8 * 16 * GIB
    assert r["fits"] is False
    assert "8 sequences of 131072 tokens need 128.0 GiB of KV cache" in r["reason"]
    room = -(-85 * THOR_TOTAL // 100) - 16 * 10**9 - OVERHEAD  # the budget at 0.85, less weights and overhead
    assert r["gpu_memory_utilization"] == 0.85
    assert r["max_model_len"] == room // (131072 * 8) // 1024 * 1024 == 88064


def test_weights_alone_too_big_recommend_nothing(capsys: pytest.CaptureFixture[str], llama: Path) -> None:
    code, r = fit_json(capsys, "--config", str(llama), "--params", "70B")
    assert code == 1
    assert "already take the whole budget" in r["reason"]
    assert (r["gpu_memory_utilization"], r["max_model_len"]) == (None, None)


def test_memory_already_taken_lowers_the_recommended_util(
    capsys: pytest.CaptureFixture[str], llama: Path, meminfo: Path
) -> None:
    meminfo.write_text("MemTotal: 128787600 kB\nMemAvailable: 64393800 kB\n")  # half available
    code, r = fit_json(capsys, "--config", str(llama), "--params", "8B")
    assert code == 1
    assert "exceeds available memory" in r["reason"]
    assert r["gpu_memory_utilization"] == 0.48  # floor((0.5 - 0.02) x 100) / 100: vLLM's startup check passes


def test_mla_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = write_config(tmp_path, DEEPSEEK_V2_LITE)
    code, r = fit_json(capsys, "--config", str(config), "--params", "15.7B", "--context", "32768")
    assert code == 0
    assert r["kv_bytes_per_token"] == 27 * (512 + 64) * 2 == 31104  # one latent per layer, no factor 2
    assert r["kv_layout"]["mla_dim"] == 576
    assert r["kv_cache_bytes"] == 32768 * 31104
    assert r["weights_bytes"] == int(15.7e9 * 2)


def test_quant_from_quantization_config_and_flag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = json.loads(LLAMA_31_8B) | {"quantization_config": {"quant_method": "awq", "bits": 4}}
    path = write_config(tmp_path, config)
    _, r = fit_json(capsys, "--config", str(path))
    assert (r["quant"], r["bytes_per_param"], r["params_source"]) == ("awq", 0.52, "estimated from config.json")
    assert r["weights_bytes"] == int(r["params"] * 0.52)
    _, r = fit_json(capsys, "--config", str(path), "--quant", "NVFP4")
    assert (r["quant"], r["bytes_per_param"]) == ("nvfp4", 0.5625)


def test_unknown_quantization_config_is_noted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write_config(tmp_path, json.loads(LLAMA_31_8B) | {"quantization_config": {"quant_method": "bitnet"}})
    _, r = fit_json(capsys, "--config", str(path))
    assert r["quant"] == "bf16"
    assert any("quantization_config" in n and "--quant" in n for n in r["notes"])


def test_params_without_config_counts_weights_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, r = fit_json(capsys, "--params", "70b", "--quant", "awq")
    assert code == 0
    assert r["weights_bytes"] == int(70e9 * 0.52)
    assert (r["kv_bytes_per_token"], r["kv_cache_bytes"], r["max_model_len"]) == (None, None, None)
    assert r["need_bytes"] == r["weights_bytes"] + OVERHEAD
    assert any("KV cache is not counted" in n for n in r["notes"])


def test_json_has_every_documented_key(capsys: pytest.CaptureFixture[str], llama: Path) -> None:
    _, r = fit_json(capsys, "--config", str(llama))
    assert {
        "params",
        "quant",
        "bytes_per_param",
        "weights_bytes",
        "kv_bytes_per_token",
        "kv_cache_bytes",
        "overhead_bytes",
        "need_bytes",
        "mem_total_bytes",
        "mem_available_bytes",
        "memory_source",
        "fits",
        "reason",
        "gpu_memory_utilization",
        "max_model_len",
        "context",
        "concurrency",
        "kv_dtype",
    } <= set(r)


def test_human_table(capsys: pytest.CaptureFixture[str], llama: Path) -> None:
    code, out, err = fit(capsys, "--config", str(llama), "--params", "8B", "--util", "0.8")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"model config: {llama / 'config.json'}"
    assert "KV cache per token    128.0 KiB  2 × 32 layers × 8 KV heads × head_dim 128 × 2 B" in out
    assert "KV cache                4.0 GiB  32768 tokens × 1 sequence" in out
    assert "weights                14.9 GiB  8.00B params (--params) × 2 B (bf16)" in out
    assert "total need             21.9 GiB" in out
    assert "device memory         122.8 GiB  total, 114.4 GiB available" in out
    assert any(line.startswith("fits") and " yes  needs 21.9 GiB" in line for line in lines)
    assert "recommended: --gpu-memory-utilization 0.8 --max-model-len 32768" in lines


# ---- memory ----------------------------------------------------------------------------------------------------


def test_meminfo_argument_wins_and_nvml_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMINFO_ENV)
    monkeypatch.setattr(fit_device, "_nvml_snapshot", lambda: pytest.fail("NVML asked"))
    path = tmp_path / "other"
    path.write_text("MemTotal: 1048576 kB\nMemAvailable: 524288 kB\n")
    mem = fit_device.device_memory(path)
    assert (mem.total, mem.available, mem.unified, mem.source.startswith(str(path))) == (GIB, GIB // 2, True, True)
    out = StringIO()
    args = build_parser().parse_args(["fit", "--params", "1B", "--json"])
    assert run(args, out=out, meminfo=path) == 1  # 2 GB of weights and 3 GiB overhead on 1 GiB
    assert json.loads(out.getvalue())["mem_total_bytes"] == GIB


def _nvml(*devices: dict) -> TelemetrySnapshot:
    return snapshot_from_nvml({"devices": list(devices)}, now=1.0)


H100 = {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory": {"used": GIB, "total": 80 * GIB, "free": 78 * GIB}}


def test_discrete_gpu_memory_from_nvml(
    capsys: pytest.CaptureFixture[str], llama: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MEMINFO_ENV)
    monkeypatch.setattr(fit_device, "_nvml_snapshot", lambda: _nvml(H100))
    code, r = fit_json(capsys, "--config", str(llama), "--params", "8B")
    assert code == 0
    assert (r["mem_total_bytes"], r["mem_available_bytes"]) == (80 * GIB, 79 * GIB)  # the GPU's, not the RAM's
    assert r["memory_source"] == "GPU 0 (NVIDIA H100 80GB HBM3), from NVML"
    assert r["gpu_memory_utilization"] == 0.9  # no unified-memory ceiling on a discrete GPU


def test_without_nvml_reads_proc_meminfo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMINFO_ENV)
    monkeypatch.setattr(fit_device, "_nvml_snapshot", lambda: None)
    mem = fit_device.device_memory()
    assert mem.source.startswith("/proc/meminfo") and mem.unified and mem.total > 0


def test_nvml_memory_is_gpu_0_of_one_nvml_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    from console.telemetry import nvml_source
    from console.telemetry.source import SourceUnavailable

    monkeypatch.delenv(MEMINFO_ENV)
    monkeypatch.setattr(nvml_source, "read_once", lambda: {"devices": [H100, {**H100, "index": 1}]})
    assert fit_device.device_memory() == DeviceMemory(
        80 * GIB, 79 * GIB, "GPU 0 of 2 (NVIDIA H100 80GB HBM3), from NVML", unified=False
    )
    gb10 = {"index": 0, "name": "NVIDIA GB10", "memory": None, "unified": True}
    monkeypatch.setattr(nvml_source, "read_once", lambda: {"devices": [gb10]})
    mem = fit_device.device_memory()  # unified memory: /proc/meminfo instead
    assert mem.unified and mem.source.startswith("/proc/meminfo: system RAM")

    def no_driver() -> dict:
        raise SourceUnavailable("NVML unavailable")

    monkeypatch.setattr(nvml_source, "read_once", no_driver)
    assert fit_device._nvml_snapshot() is None


# ---- the one answer: engine_memory ----------------------------------------------------------------------------


def test_engine_memory_on_a_discrete_gpu_is_the_gpus_own() -> None:
    ram = Memory(total=256 * GIB, used=16 * GIB, available=240 * GIB)
    snap = replace(_nvml(H100), memory=ram, sources=("nvml", "procfs"))
    mem = engine_memory(snap)
    assert mem == DeviceMemory(80 * GIB, 79 * GIB, "GPU 0 (NVIDIA H100 80GB HBM3), from NVML", unified=False)


def test_engine_memory_on_unified_memory_is_the_system_ram(orin_snapshot: TelemetrySnapshot) -> None:
    assert orin_snapshot.gpus and all(g.unified for g in orin_snapshot.gpus)  # Jetson (jtop)
    mem = engine_memory(orin_snapshot)
    assert mem is not None and mem.unified
    assert orin_snapshot.memory is not None
    assert (mem.total, mem.available) == (orin_snapshot.memory.total, orin_snapshot.memory.available)
    gb10 = {"index": 0, "name": "NVIDIA GB10", "memory": None, "unified": True}  # DGX Spark: NVML + /proc
    ram = Memory(total=128 * GIB, used=8 * GIB, available=120 * GIB)
    spark = engine_memory(replace(_nvml(gb10), memory=ram))
    assert spark is not None and (spark.total, spark.available, spark.unified) == (128 * GIB, 120 * GIB, True)
    assert engine_memory(TelemetrySnapshot(time=1.0, memory=ram)) == spark  # no GPU at all: the RAM too
    assert engine_memory(None) is None and engine_memory(TelemetrySnapshot(time=1.0)) is None


def test_preflight_and_fit_give_one_answer_on_a_discrete_gpu(
    capsys: pytest.CaptureFixture[str], llama: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The launch preflight (the runtime's merged sample) and ``jetconsole fit`` (a one-shot reading) size an
    8B model against the same memory: the H100's 80 GiB, not the host's 256 GiB of RAM."""
    from console.containers.preflight import FAIL, memory_check
    from console.containers.presets import plan
    from console.containers.presets.builtin import BUILTIN_PRESETS

    monkeypatch.delenv(MEMINFO_ENV)
    monkeypatch.setattr(fit_device, "_nvml_snapshot", lambda: _nvml(H100))
    ram = Memory(total=256 * GIB, used=16 * GIB, available=240 * GIB)
    merged = replace(_nvml(H100), memory=ram, sources=("nvml", "procfs"))
    runtime_answer = engine_memory(merged)
    assert runtime_answer == fit_device.device_memory()
    _code, r = fit_json(capsys, "--config", str(llama), "--params", "8B", "--context", "131072", "--concurrency", "8")
    assert (r["mem_total_bytes"], r["mem_available_bytes"], r["fits"]) == (80 * GIB, 79 * GIB, False)
    snapshot = tmp_path / "snap"
    snapshot.mkdir()
    (snapshot / "config.json").write_text((llama / "config.json").read_text())
    (snapshot / "model.safetensors").write_bytes(b"")
    p = plan(BUILTIN_PRESETS["vllm-thor"], {})
    assert runtime_answer is not None
    check, result = memory_check(
        p, snapshot, runtime_answer.total, runtime_answer.available, 0.9, 131072 * 8, runtime_answer.source
    )
    assert check.level == FAIL and "of GPU 0 (NVIDIA H100 80GB HBM3)" in check.detail  # on RAM it would fit
    assert result is not None and result.budget == r["budget_bytes"]


def test_meminfo_without_memtotal(meminfo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meminfo.write_text("MemFree: 10 kB\n")
    code, out, err = fit(capsys, "--params", "8B")
    assert (code, out) == (2, "")
    assert err == f"jetconsole fit: {meminfo} has no MemTotal\n"


# ---- bad input: one line on stderr naming the flag or key, exit 2 ------------------------------------------------


def test_no_params_and_no_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert fit(capsys) == (
        2,
        "",
        "jetconsole fit: --params is needed (e.g. --params 8B), or --config with the model's config.json\n",
    )


def test_malformed_config_names_file_line_and_column(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{\n  "num_hidden_layers": 32,\n  "hidden_size" 4096\n}\n')
    code, out, err = fit(capsys, "--config", str(tmp_path), "--params", "8B")
    assert (code, out) == (2, "")
    assert err == f"jetconsole fit: --config: {path} is not valid JSON: line 3, column 17: Expecting ':' delimiter\n"


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"num_attention_heads": 32, "hidden_size": 4096}, "'num_hidden_layers'"),
        ({"num_hidden_layers": 32}, "'num_key_value_heads'"),
        ({"num_hidden_layers": 32, "num_attention_heads": 32}, "'hidden_size'"),
        ({"num_hidden_layers": 27, "kv_lora_rank": 512}, "'qk_rope_head_dim'"),
    ],
)
def test_config_lacking_a_key_names_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: dict, key: str
) -> None:
    path = write_config(tmp_path, config)
    code, out, err = fit(capsys, "--config", str(path), "--params", "8B")
    assert (code, out) == (2, "")
    assert err.startswith(f"jetconsole fit: --config: {path}: ") and key in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["--params", "8B", "--quant", "q4"],
            "--quant: unknown weight format 'q4'; accepted are fp32, bf16, fp16, fp8, "
            "int8, awq, gptq, int4, nvfp4, mxfp4",
        ),
        (["--params", "8B", "--util", "1.5"], "--util: gpu-memory-utilization is a fraction"),
        (["--params", "8B", "--util", "0"], "--util: must be positive"),
        (["--params", "8B", "--context", "long"], "--context: 'long' is not an integer"),
        (["--params", "8B", "--concurrency", "0"], "--concurrency: must be positive"),
        (["--params", "8"], "--params: '8' is 8 parameters"),
        (["--config", "/nonexistent/config.json"], "--config: cannot read /nonexistent/config.json"),
        (["--config", "{config}"], "--params is needed: config.json has no 'vocab_size'"),
    ],
)
def test_bad_flags(capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], words: str) -> None:
    path = write_config(tmp_path, {"num_hidden_layers": 2, "num_attention_heads": 2, "hidden_size": 8})
    code, out, err = fit(capsys, *[a.replace("{config}", str(path)) for a in argv])
    assert (code, out) == (2, "")
    assert err.startswith(f"jetconsole fit: {words}") and err.count("\n") == 1


def test_config_that_is_not_an_object(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write_config(tmp_path, [1, 2])
    assert fit(capsys, "--config", str(path), "--params", "8B")[2] == (
        f"jetconsole fit: --config: {path} holds a JSON list, not an object\n"
    )


def test_fit_config_flag_leaves_jetconsole_config_alone() -> None:
    args = build_parser().parse_args(["--config", "jet.toml", "fit", "--config", "model/config.json"])
    assert (args.config, args.model_config, args.command) == ("jet.toml", "model/config.json", "fit")
    assert isinstance(args, argparse.Namespace) and args.concurrency == "1" and args.util == "0.9"


# ---- the real command line -------------------------------------------------------------------------------------


def _cli(*argv: str, meminfo: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {MEMINFO_ENV: str(meminfo)}
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "fit", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_subprocess(llama: Path, meminfo: Path, tmp_path: Path) -> None:
    proc = _cli("--config", str(llama), "--params", "8B", "--kv-dtype", "fp8", "--json", meminfo=meminfo)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert (r["kv_bytes_per_token"], r["mem_total_bytes"], r["fits"]) == (65536, THOR_TOTAL, True)
    bad = tmp_path / "bad.json"
    bad.write_text('{"num_hidden_layers": 32,}')
    proc = _cli("--config", str(bad), "--params", "8B", meminfo=meminfo)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert (
        proc.stderr == f"jetconsole fit: --config: {bad} is not valid JSON: line 1, column 26: "
        "Expecting property name enclosed in double quotes\n"
    )
