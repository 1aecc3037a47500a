"""Memory sizing (domain.md §6): bytes per parameter, KV cache per token, config.json, the fit check."""

from __future__ import annotations

import dataclasses
import math

import pytest

from console.fit.sizing import (
    BYTES_PER_PARAM,
    DEFAULT_ACTIVATIONS,
    DEFAULT_CUDA_GRAPHS,
    GIB,
    FitResult,
    KvLayout,
    bytes_per_param,
    fit,
    kv_bytes_per_token,
    kv_layout_from_config,
    mla_kv_bytes_per_token,
    normalize_quant,
    util_for_free,
    weight_format,
    weights_for,
)

THOR_TOTAL = int(122.82 * GIB)
LLAMA_KV = 131072  # Llama-3.1-8B: 2 * 32 layers * 8 KV heads * 128 * 2 bytes

LLAMA_31_8B = {
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 4096,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "max_position_embeddings": 131072,
    "torch_dtype": "bfloat16",
    "vocab_size": 128256,
}

GPT_OSS_120B = {
    "architectures": ["GptOssForCausalLM"],
    "head_dim": 64,
    "hidden_size": 2880,
    "layer_types": ["sliding_attention", "full_attention"] * 18,
    "num_attention_heads": 64,
    "num_hidden_layers": 36,
    "num_key_value_heads": 8,
    "sliding_window": 128,
    "max_position_embeddings": 131072,
    "quantization_config": {"modules_to_not_convert": ["model.layers.*.self_attn"], "quant_method": "mxfp4"},
    "torch_dtype": "bfloat16",
}

DEEPSEEK_V3 = {
    "architectures": ["DeepseekV3ForCausalLM"],
    "hidden_size": 7168,
    "kv_lora_rank": 512,
    "num_attention_heads": 128,
    "num_hidden_layers": 61,
    "num_key_value_heads": 128,
    "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64,
    "v_head_dim": 128,
    "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8"},
    "torch_dtype": "bfloat16",
}

GEMMA3_27B = {
    "architectures": ["Gemma3ForConditionalGeneration"],
    "text_config": {
        "head_dim": 128,
        "hidden_size": 5376,
        "num_attention_heads": 32,
        "num_hidden_layers": 62,
        "num_key_value_heads": 16,
        "sliding_window": 1024,
        "sliding_window_pattern": 6,
        "max_position_embeddings": 131072,
    },
    "vision_config": {"num_hidden_layers": 27, "hidden_size": 1152},
    "torch_dtype": "bfloat16",
}

QWEN3_8B = {
    "head_dim": 128,
    "hidden_size": 4096,
    "num_attention_heads": 32,
    "num_hidden_layers": 36,
    "num_key_value_heads": 8,
    "sliding_window": None,
    "use_sliding_window": False,
    "max_window_layers": 36,
    "torch_dtype": "bfloat16",
}

QWEN2_7B = {  # sliding_window set but switched off
    "hidden_size": 3584,
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "sliding_window": 131072,
    "use_sliding_window": False,
    "torch_dtype": "bfloat16",
}


# ----- bytes per parameter -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quant", "expected"),
    [
        ("fp32", 4.0),
        ("bf16", 2.0),
        ("fp16", 2.0),
        ("fp8", 1.0),
        ("int8", 1.0),
        ("awq", 0.52),
        ("gptq", 0.52),
        ("int4", 0.52),
        ("nvfp4", 0.5625),
        ("mxfp4", 0.531),
    ],
)
def test_bytes_per_param_table(quant: str, expected: float) -> None:
    assert BYTES_PER_PARAM[quant] == pytest.approx(expected, abs=5e-4)


def test_group_quant_formats_include_their_scales() -> None:
    assert BYTES_PER_PARAM["nvfp4"] == 0.5 + 1 / 16  # E4M3 scale per 16
    assert BYTES_PER_PARAM["mxfp4"] == 0.5 + 1 / 32  # E8M0 scale per 32
    assert BYTES_PER_PARAM["awq"] == pytest.approx(0.5 + 2.5 / 128, abs=1e-3)  # group 128: 2 B scale + 0.5 B zero


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("BF16", "bf16"),
        ("bfloat16", "bf16"),
        ("float16", "fp16"),
        ("half", "fp16"),
        ("float32", "fp32"),
        ("FP8", "fp8"),
        ("fp8_e4m3", "fp8"),
        ("awq_marlin", "awq"),
        ("gptq-marlin", "gptq"),
        ("NVFP4", "nvfp4"),
        ("modelopt_fp4", "nvfp4"),
        ("MXFP4", "mxfp4"),
        ("w4a16", "int4"),
        (" int8 ", "int8"),
    ],
)
def test_normalize_quant_aliases(name: str, key: str) -> None:
    assert normalize_quant(name) == key


def test_unknown_format_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown weight format 'q3_k_m'.*bf16"):
        bytes_per_param("q3_k_m")


@pytest.mark.parametrize(
    ("params_b", "quant", "gib"),
    [(8.03, "bf16", 14.96), (70.6, "bf16", 131.5), (70.6, "fp8", 65.75), (8.03, "awq", 3.89), (116.8, "mxfp4", 57.8)],
)
def test_weights_for(params_b: float, quant: str, gib: float) -> None:
    assert weights_for(params_b, quant) / GIB == pytest.approx(gib, abs=0.05)


# ----- KV cache per token ------------------------------------------------------------------------------------------


def test_llama_worked_example() -> None:
    per_token = kv_bytes_per_token(32, 8, 128, 2)
    assert per_token == 131072 == 128 * 1024
    assert per_token * 131072 == 16 * GIB


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((32, 8, 128, 1), 65536),  # fp8 KV cache halves it
        ((32, 32, 128, 2), 524288),  # Llama-2-7B: no GQA
        ((80, 8, 128, 2), 327680),  # Llama-3-70B
        ((36, 8, 128, 2), 147456),  # Qwen3-8B
        ((1, 1, 1, 1), 2),
    ],
)
def test_kv_bytes_per_token(args: tuple[int, int, int, int], expected: int) -> None:
    assert kv_bytes_per_token(*args) == expected


def test_kv_default_dtype_is_16_bit() -> None:
    assert kv_bytes_per_token(32, 8, 128) == LLAMA_KV


def test_mla_has_no_factor_two() -> None:
    assert mla_kv_bytes_per_token(61, 512, 64, 2) == 61 * 576 * 2 == 70272
    assert mla_kv_bytes_per_token(27, 512, 64) == 27 * 576 * 2  # DeepSeek-V2-Lite
    assert mla_kv_bytes_per_token(61, 512, 64, 1) == 61 * 576


# ----- config.json -------------------------------------------------------------------------------------------------


def test_llama_config() -> None:
    kv = kv_layout_from_config(LLAMA_31_8B)
    assert (kv.num_layers, kv.num_kv_heads, kv.head_dim, kv.dtype_bytes) == (32, 8, 128, 2)
    assert kv.bytes_per_token == LLAMA_KV and kv.bytes_for(131072) == 16 * GIB
    assert kv.sliding_window is None and kv.sliding_layers == 0 and kv.mla_dim is None
    assert kv.dtype == "bf16" and kv.quant is None and kv.max_position_embeddings == 131072


def test_fp8_kv_cache_dtype() -> None:
    assert kv_layout_from_config(LLAMA_31_8B, kv_cache_dtype="fp8").bytes_per_token == LLAMA_KV // 2
    assert kv_layout_from_config(LLAMA_31_8B, kv_cache_dtype="fp8_e5m2").dtype_bytes == 1
    with pytest.raises(ValueError, match="unknown kv cache dtype 'int3'"):
        kv_layout_from_config(LLAMA_31_8B, kv_cache_dtype="int3")


def test_kv_heads_fall_back_to_attention_heads() -> None:
    llama2 = {"hidden_size": 4096, "num_attention_heads": 32, "num_hidden_layers": 32, "torch_dtype": "float16"}
    kv = kv_layout_from_config(llama2)
    assert kv.num_kv_heads == 32 and kv.head_dim == 128 and kv.bytes_per_token == 524288
    assert kv.dtype == "fp16"


def test_head_dim_falls_back_to_hidden_over_heads() -> None:
    kv = kv_layout_from_config(QWEN2_7B)
    assert kv.head_dim == 3584 // 28 == 128
    assert kv.bytes_per_token == 2 * 28 * 4 * 128 * 2
    assert kv.sliding_window is None  # use_sliding_window: false


def test_explicit_head_dim_wins_and_null_falls_back() -> None:
    assert kv_layout_from_config(QWEN3_8B).head_dim == 128
    gemma_like = {
        "head_dim": 256,
        "hidden_size": 3072,
        "num_attention_heads": 16,
        "num_hidden_layers": 28,
        "num_key_value_heads": 16,
    }
    assert kv_layout_from_config(gemma_like).head_dim == 256  # not 3072 / 16
    null = {**LLAMA_31_8B, "head_dim": None}
    assert kv_layout_from_config(null).head_dim == 128


def test_dtype_key_of_newer_transformers_and_fp32_checkpoints() -> None:
    cfg = {k: v for k, v in LLAMA_31_8B.items() if k != "torch_dtype"}
    assert kv_layout_from_config({**cfg, "dtype": "float16"}).dtype == "fp16"
    assert kv_layout_from_config(cfg).dtype == "bf16"  # missing: assume bf16
    fp32 = kv_layout_from_config({**cfg, "torch_dtype": "float32"})
    assert fp32.dtype == "fp32" and fp32.dtype_bytes == 2  # vLLM runs it in 16 bit


def test_weight_format_in_memory_and_on_disk() -> None:
    cfg = {k: v for k, v in LLAMA_31_8B.items() if k != "torch_dtype"}
    assert weight_format(cfg) == "bf16"  # no dtype: assume bf16
    assert weight_format({**cfg, "torch_dtype": "float16"}) == "fp16"
    fp32 = {**cfg, "torch_dtype": "float32"}
    assert (weight_format(fp32), weight_format(fp32, stored=True)) == ("bf16", "fp32")  # vLLM loads it in 16 bit
    awq = {**fp32, "quantization_config": {"quant_method": "awq", "bits": 4}}
    assert weight_format(awq) == weight_format(awq, stored=True) == "awq"  # the quantisation wins over the dtype
    assert weight_format({**cfg, "quantization_config": {"quant_method": "odd", "bits": 8}}) == "int8"
    assert weight_format({"text_config": {"torch_dtype": "float16"}}) == "fp16"  # a nested text_config


def test_gpt_oss_sliding_layers_and_mxfp4() -> None:
    kv = kv_layout_from_config(GPT_OSS_120B)
    assert (kv.num_layers, kv.num_kv_heads, kv.head_dim) == (36, 8, 64)
    assert kv.sliding_window == 128 and kv.sliding_layers == 18
    assert kv.quant == "mxfp4"
    layer = 2 * 8 * 64 * 2
    assert kv.layer_bytes_per_token == layer
    assert kv.bytes_for(131072) == layer * (18 * 131072 + 18 * 128)
    assert kv.bytes_for(100) == layer * 36 * 100  # under the window every layer holds every token
    assert kv.bytes_for(131072) < kv.bytes_per_token * 131072


def test_nested_text_config_gemma3() -> None:
    kv = kv_layout_from_config(GEMMA3_27B)
    assert kv.num_layers == 62 and kv.num_kv_heads == 16 and kv.head_dim == 128
    assert kv.sliding_window == 1024 and kv.sliding_layers == 62 - 62 // 6 == 52
    assert kv.dtype == "bf16" and kv.max_position_embeddings == 131072
    layer = 2 * 16 * 128 * 2
    assert kv.bytes_for(32768) == layer * (10 * 32768 + 52 * 1024)


def test_sliding_window_without_hints_covers_every_layer() -> None:
    mistral = {
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "num_hidden_layers": 32,
        "num_key_value_heads": 8,
        "sliding_window": 4096,
        "torch_dtype": "bfloat16",
    }
    kv = kv_layout_from_config(mistral)
    assert kv.sliding_layers == 32 and kv.bytes_for(32768) == kv.bytes_for(4096)


def test_mla_config() -> None:
    kv = kv_layout_from_config(DEEPSEEK_V3)
    assert kv.mla_dim == 576 and kv.bytes_per_token == 70272
    assert kv.quant == "fp8"
    assert kv_layout_from_config(DEEPSEEK_V3, kv_cache_dtype="fp8").bytes_per_token == 35136


@pytest.mark.parametrize(
    ("qc", "quant"),
    [
        ({"quant_method": "awq", "bits": 4, "group_size": 128}, "awq"),
        ({"quant_method": "gptq", "bits": 4}, "gptq"),
        ({"quant_method": "modelopt", "quant_algo": "NVFP4"}, "nvfp4"),
        ({"quant_method": "modelopt", "quant_algo": "FP8"}, "fp8"),
        ({"quant_method": "compressed-tensors", "format": "pack-quantized"}, None),
        ({"quant_method": "bitsandbytes", "bits": 4}, "int4"),
        ("not a dict", None),
    ],
)
def test_quantization_config(qc: object, quant: str | None) -> None:
    assert kv_layout_from_config({**LLAMA_31_8B, "quantization_config": qc}).quant == quant


@pytest.mark.parametrize(
    ("drop", "field"),
    [
        (("num_hidden_layers",), "num_hidden_layers"),
        (("num_key_value_heads", "num_attention_heads"), "num_key_value_heads"),
        (("hidden_size",), "hidden_size"),
    ],
)
def test_missing_fields_are_named(drop: tuple[str, ...], field: str) -> None:
    cfg = {k: v for k, v in LLAMA_31_8B.items() if k not in drop}
    with pytest.raises(ValueError, match=field):
        kv_layout_from_config(cfg)


def test_missing_head_dim_and_heads_is_named() -> None:
    cfg = {"num_hidden_layers": 2, "num_key_value_heads": 2, "hidden_size": 64}
    with pytest.raises(ValueError, match="head_dim"):
        kv_layout_from_config(cfg)


def test_mla_without_rope_dim_is_named() -> None:
    cfg = {k: v for k, v in DEEPSEEK_V3.items() if k != "qk_rope_head_dim"}
    with pytest.raises(ValueError, match="qk_rope_head_dim"):
        kv_layout_from_config(cfg)


def test_empty_config_names_the_layers_field() -> None:
    with pytest.raises(ValueError, match=r"config\.json has no 'num_hidden_layers'"):
        kv_layout_from_config({})


# ----- the fit check -----------------------------------------------------------------------------------------------


def test_llama_8b_full_context_on_24_gib() -> None:
    r = fit(params_b=8.03, quant="bf16", kv=LLAMA_KV, max_model_len=131072, util=0.9, mem_total=24 * GIB)
    assert r.weights == weights_for(8.03, "bf16")
    assert r.kv == 16 * GIB
    assert r.overhead == DEFAULT_ACTIVATIONS + DEFAULT_CUDA_GRAPHS == 3 * GIB
    assert r.need == r.weights + r.kv + r.overhead
    assert r.budget == math.ceil(0.9 * 24 * GIB)
    assert not r.fits
    assert r.reasons == (
        f"needs {r.need / GIB:.1f} GiB but gpu-memory-utilization 0.9 of 24.0 GiB gives 21.6 GiB: "
        "one sequence of 131072 tokens needs 16.0 GiB of KV cache",
    )
    room = r.budget - r.weights - r.overhead
    assert r.max_concurrency_at_len == 0
    assert r.max_len_at_concurrency == room // LLAMA_KV
    assert r.suggested_util is None  # 34 GiB on a 24 GiB card: no utilization fits


def test_llama_8b_short_context_fits_on_thor() -> None:
    r = fit(
        params_b=8.03, kv=LLAMA_KV, max_model_len=8192, util=0.7, mem_total=THOR_TOTAL, mem_available=int(110 * GIB)
    )
    assert r.fits and r.reasons == ()
    assert r.kv == GIB
    room = r.budget - r.weights - r.overhead
    assert r.max_concurrency_at_len == room // GIB == 68  # 86.0 - 15.0 - 3 GiB at 1 GiB per sequence
    assert r.max_len_at_concurrency == room // LLAMA_KV
    assert r.suggested_util == math.ceil(r.need / THOR_TOTAL * 100) / 100 == 0.16
    assert r.suggested_util * THOR_TOTAL >= r.need


def test_thor_budget_above_available_memory() -> None:
    r = fit(
        params_b=8.03, kv=LLAMA_KV, max_model_len=8192, util=0.7, mem_total=THOR_TOTAL, mem_available=int(14.45 * GIB)
    )
    assert not r.fits
    assert r.reasons == (
        "util × total (86.0 GiB) exceeds available memory (14.4 GiB): drop caches or stop other GPU work",
    )


def test_both_reasons_can_apply() -> None:
    r = fit(
        weights_bytes=80 * GIB,
        kv=LLAMA_KV,
        max_model_len=131072,
        util=0.7,
        mem_total=THOR_TOTAL,
        mem_available=50 * GIB,
        concurrency=2,
    )
    assert not r.fits and len(r.reasons) == 2
    assert r.reasons[0].startswith("needs 115.0 GiB but gpu-memory-utilization 0.7 of 122.8 GiB gives 86.0 GiB")
    assert "2 sequences of 131072 tokens need 32.0 GiB" in r.reasons[0]
    assert r.reasons[1].startswith("util × total (86.0 GiB) exceeds available memory (50.0 GiB)")
    assert r.max_concurrency_at_len == 0
    assert r.suggested_util == 0.94


def test_weights_alone_exceed_the_budget() -> None:
    r = fit(params_b=70.6, quant="bf16", kv=327680, max_model_len=8192, util=0.7, mem_total=THOR_TOTAL)
    assert not r.fits and "nothing is left for the KV cache" in r.reasons[0]
    assert r.max_concurrency_at_len == 0 and r.max_len_at_concurrency == 0
    assert r.suggested_util is None  # 131.5 GiB of weights on a 122.8 GiB box


def test_quantized_70b_fits_on_thor() -> None:
    r = fit(params_b=70.6, quant="fp8", kv=327680, max_model_len=32768, util=0.8, mem_total=THOR_TOTAL)
    assert r.fits
    assert r.kv == 10 * GIB
    assert r.max_concurrency_at_len == (r.budget - r.weights - r.overhead) // (10 * GIB)


def test_concurrency_multiplies_the_kv_cache() -> None:
    one = fit(params_b=8.03, kv=LLAMA_KV, max_model_len=32768, util=0.5, mem_total=THOR_TOTAL)
    four = fit(params_b=8.03, kv=LLAMA_KV, max_model_len=32768, util=0.5, mem_total=THOR_TOTAL, concurrency=4)
    assert four.kv == 4 * one.kv == 16 * GIB
    assert four.need - one.need == 12 * GIB
    assert four.max_len_at_concurrency == one.max_len_at_concurrency // 4


def test_overhead_is_configurable() -> None:
    r = fit(
        weights_bytes=10 * GIB,
        kv=LLAMA_KV,
        max_model_len=8192,
        util=0.5,
        mem_total=32 * GIB,
        activations=GIB,
        cuda_graphs=0,
    )
    assert r.overhead == GIB and r.need == 12 * GIB
    assert r.budget == 16 * GIB
    assert r.max_concurrency_at_len == 5  # 16 - 10 - 1 = 5 GiB of room, 1 GiB per 8192-token sequence


def test_sliding_window_layout_in_the_fit() -> None:
    kv = kv_layout_from_config(GPT_OSS_120B)
    r = fit(params_b=116.8, quant="mxfp4", kv=kv, max_model_len=131072, util=0.8, mem_total=THOR_TOTAL)
    assert r.kv == kv.bytes_for(131072)
    assert r.fits
    room = r.budget - r.weights - r.overhead
    assert r.max_concurrency_at_len == room // kv.bytes_for(131072)
    longest = r.max_len_at_concurrency
    assert kv.bytes_for(longest) <= room < kv.bytes_for(longest + 1)


def test_layout_and_int_agree_without_sliding() -> None:
    kv = kv_layout_from_config(LLAMA_31_8B)
    a = fit(params_b=8.03, kv=kv, max_model_len=65536, util=0.6, mem_total=THOR_TOTAL)
    b = fit(params_b=8.03, kv=kv.bytes_per_token, max_model_len=65536, util=0.6, mem_total=THOR_TOTAL)
    assert a == b


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # neither weights nor params
        {"params_b": 8.0, "weights_bytes": GIB},  # both
        {"params_b": 8.0, "util": 0.0},
        {"params_b": 8.0, "util": 1.5},
        {"params_b": 8.0, "max_model_len": 0},
        {"params_b": 8.0, "concurrency": 0},
        {"params_b": 8.0, "mem_total": 0},
        {"params_b": 8.0, "quant": "q2"},
    ],
)
def test_bad_arguments(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"kv": LLAMA_KV, "max_model_len": 4096, "util": 0.5, "mem_total": 16 * GIB}
    with pytest.raises(ValueError):
        fit(**{**base, **kwargs})  # type: ignore[arg-type]


def test_results_are_frozen() -> None:
    r = fit(params_b=1.0, kv=LLAMA_KV, max_model_len=1024, util=0.5, mem_total=16 * GIB)
    assert isinstance(r, FitResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.fits = False  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        KvLayout(1, 1, 1).num_layers = 2  # type: ignore[misc]


# ----- utilization for the free memory -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("free", "total", "expected"),
    [
        (14.45, 122.82, 0.09),  # Thor workshop: 0.1177 - 0.02
        (61.05, 119.7, 0.49),
        (52.0, 100.0, 0.5),  # exact: no float drift
        (100.0, 100.0, 0.98),
        (2.02, 63.59, 0.05),  # clamped
        (0.0, 24.0, 0.05),
    ],
)
def test_util_for_free(free: float, total: float, expected: float) -> None:
    assert util_for_free(free, total) == expected


def test_util_for_free_options() -> None:
    assert util_for_free(50, 100, margin=0.05) == 0.45
    assert util_for_free(1, 100, minimum=0.1) == 0.1
    with pytest.raises(ValueError):
        util_for_free(1, 0)
