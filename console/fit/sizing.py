"""Will a model fit?  Weights, KV cache and overhead against the gpu-memory-utilization budget.

Pure arithmetic after domain.md §6.  Sizes are bytes; ``GIB`` converts.  The numbers are
estimates: vLLM's own ``Model loading took X GiB`` and ``GPU KV cache size: N tokens`` lines
are the truth once a server has started.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

GIB = 1024**3

# Bytes per parameter of the stored weights.  Group-quantised formats carry their scales:
# INT4 AWQ/GPTQ (group 128) ≈ 0.5 + 2.5/128, NVFP4 = 0.5 + 1/16, MXFP4 = 0.5 + 1/32.
BYTES_PER_PARAM: dict[str, float] = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "awq": 0.52,
    "gptq": 0.52,
    "int4": 0.52,
    "nvfp4": 0.5625,
    "mxfp4": 0.53125,
}

# Other spellings seen in HF configs (torch_dtype, quant_method) and on vLLM's command line.
_QUANT_ALIASES: dict[str, str] = {
    "float32": "fp32",
    "float": "fp32",
    "bfloat16": "bf16",
    "float16": "fp16",
    "half": "fp16",
    "fp8_e4m3": "fp8",
    "fp8e4m3": "fp8",
    "float8_e4m3fn": "fp8",
    "modelopt": "fp8",
    "w8a8": "int8",
    "awq_marlin": "awq",
    "gptq_marlin": "gptq",
    "w4a16": "int4",
    "modelopt_fp4": "nvfp4",
    "fp4": "nvfp4",
}

# Bytes per KV-cache element for ``--kv-cache-dtype`` ("auto" follows the model dtype).
_KV_DTYPE_BYTES: dict[str, int] = {"fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1, "bf16": 2, "fp16": 2, "fp32": 4}

DEFAULT_ACTIVATIONS = 2 * GIB  # activations / workspace during the profile run
DEFAULT_CUDA_GRAPHS = 1 * GIB  # CUDA graph pool; pass 0 with --enforce-eager


def normalize_quant(quant: str) -> str:
    """The ``BYTES_PER_PARAM`` key for a format name ("BF16", "bfloat16", "awq_marlin" …)."""
    name = quant.strip().lower().replace("-", "_")
    name = _QUANT_ALIASES.get(name, name)
    if name not in BYTES_PER_PARAM:
        raise ValueError(f"unknown weight format {quant!r}: known are {', '.join(BYTES_PER_PARAM)}")
    return name


def bytes_per_param(quant: str) -> float:
    return BYTES_PER_PARAM[normalize_quant(quant)]


def weights_for(params_b: float, quant: str) -> int:
    """Weights of ``params_b`` billion parameters stored as ``quant``."""
    return int(params_b * 1e9 * bytes_per_param(quant))


def kv_bytes_per_token(num_layers: int, num_kv_heads: int, head_dim: int, kv_dtype_bytes: int = 2) -> int:
    """KV cache per token: a K and a V vector per KV head in every layer."""
    return 2 * num_layers * num_kv_heads * head_dim * kv_dtype_bytes


def mla_kv_bytes_per_token(num_layers: int, kv_lora_rank: int, qk_rope_head_dim: int, kv_dtype_bytes: int = 2) -> int:
    """KV cache per token of a multi-head latent attention model (DeepSeek): one latent, no factor 2."""
    return num_layers * (kv_lora_rank + qk_rope_head_dim) * kv_dtype_bytes


@dataclass(frozen=True)
class KvLayout:
    """What a model's KV cache costs, read from its config.json.

    ``sliding_layers`` of the ``num_layers`` keep at most ``sliding_window`` tokens.
    ``mla_dim`` (kv_lora_rank + qk_rope_head_dim) is set for MLA models, where
    ``num_kv_heads``/``head_dim`` do not apply.
    """

    num_layers: int
    num_kv_heads: int
    head_dim: int
    dtype_bytes: int = 2
    sliding_window: int | None = None
    sliding_layers: int = 0
    mla_dim: int | None = None
    dtype: str = "bf16"  # the weights' dtype from the config
    quant: str | None = None  # BYTES_PER_PARAM key from quantization_config, when known
    max_position_embeddings: int | None = None

    @property
    def layer_bytes_per_token(self) -> int:
        if self.mla_dim is not None:
            return self.mla_dim * self.dtype_bytes
        return 2 * self.num_kv_heads * self.head_dim * self.dtype_bytes

    @property
    def bytes_per_token(self) -> int:
        """Per token with every layer holding the full sequence (no sliding-window cap)."""
        return self.num_layers * self.layer_bytes_per_token

    def bytes_for(self, tokens: int) -> int:
        """KV cache of one sequence of ``tokens`` tokens, sliding-window layers capped at the window."""
        sliding = self.sliding_layers if self.sliding_window else 0
        capped = min(tokens, self.sliding_window) if self.sliding_window else tokens
        return self.layer_bytes_per_token * ((self.num_layers - sliding) * tokens + sliding * capped)


_NESTED = ("text_config", "llm_config", "language_config")


def _require(config: Mapping[str, Any], name: str) -> Any:
    value = config.get(name)
    if value is None:
        raise ValueError(f"config.json has no {name!r}")
    return value


def _quant_from(config: Mapping[str, Any]) -> str | None:
    qc = config.get("quantization_config")
    if not isinstance(qc, Mapping):
        return None
    for name in (qc.get("quant_algo"), qc.get("quant_method"), qc.get("format")):
        if isinstance(name, str):
            try:
                return normalize_quant(name)
            except ValueError:
                continue
    bits = qc.get("bits") or qc.get("w_bit")
    return {4: "int4", 8: "int8"}.get(bits) if isinstance(bits, int) else None


def _sliding(config: Mapping[str, Any], num_layers: int) -> tuple[int | None, int]:
    window = config.get("sliding_window")
    if not isinstance(window, int) or window <= 0 or config.get("use_sliding_window") is False:
        return None, 0
    layer_types = config.get("layer_types")
    if isinstance(layer_types, list | tuple):
        return window, sum(1 for t in layer_types if t == "sliding_attention")
    pattern = config.get("sliding_window_pattern")
    if isinstance(pattern, int) and pattern > 0:  # every pattern-th layer is full attention (Gemma 3)
        return window, num_layers - num_layers // pattern
    return window, num_layers


def _merged(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with a nested text_config (or the like) laid over it."""
    merged: dict[str, Any] = dict(config)
    for key in _NESTED:
        nested = config.get(key)
        if isinstance(nested, Mapping):
            merged.update({k: v for k, v in nested.items() if v is not None})
            break
    return merged


def _dtype_from(merged: Mapping[str, Any]) -> str:
    dtype_name = merged.get("torch_dtype") or merged.get("dtype") or "bfloat16"
    try:
        return normalize_quant(str(dtype_name))
    except ValueError:
        return "bf16"


def weight_format(config: Mapping[str, Any], *, stored: bool = False) -> str:
    """The ``BYTES_PER_PARAM`` key of a HF config.json's weights: quantization_config's format, else
    the dtype (bf16 when unknown).  vLLM loads an fp32 checkpoint in 16 bit, so in memory it counts
    as bf16; ``stored``: as the files hold it (fp32 stays fp32), for the download size."""
    merged = _merged(config)
    fmt = _quant_from(config) or _quant_from(merged) or _dtype_from(merged)
    return fmt if stored or fmt != "fp32" else "bf16"


def kv_layout_from_config(config: Mapping[str, Any], kv_cache_dtype: str = "auto") -> KvLayout:
    """Read the KV-relevant fields of a HF config.json dict (a nested text_config wins).

    Raises ValueError naming the first missing field.
    """
    merged = _merged(config)
    num_layers = int(_require(merged, "num_hidden_layers"))
    dtype = _dtype_from(merged)
    if kv_cache_dtype == "auto":
        kv_bytes = 2  # the model's 16-bit dtype; vLLM runs fp32 checkpoints in 16 bit too
    else:
        if kv_cache_dtype not in _KV_DTYPE_BYTES:
            raise ValueError(f"unknown kv cache dtype {kv_cache_dtype!r}: known are auto, {', '.join(_KV_DTYPE_BYTES)}")
        kv_bytes = _KV_DTYPE_BYTES[kv_cache_dtype]
    window, sliding_layers = _sliding(merged, num_layers)
    common: dict[str, Any] = dict(
        dtype_bytes=kv_bytes,
        sliding_window=window,
        sliding_layers=sliding_layers,
        dtype=dtype,
        quant=_quant_from(config) or _quant_from(merged),
        max_position_embeddings=merged.get("max_position_embeddings"),
    )
    if merged.get("kv_lora_rank"):
        mla_dim = int(merged["kv_lora_rank"]) + int(_require(merged, "qk_rope_head_dim"))
        return KvLayout(num_layers, 1, mla_dim, mla_dim=mla_dim, **common)
    heads = merged.get("num_attention_heads")
    kv_heads = merged.get("num_key_value_heads") or heads
    if kv_heads is None:
        raise ValueError("config.json has no 'num_key_value_heads' (nor 'num_attention_heads')")
    head_dim = merged.get("head_dim")
    if not head_dim:
        if not heads:
            raise ValueError("config.json has no 'head_dim' (nor 'num_attention_heads' to derive it)")
        head_dim = int(_require(merged, "hidden_size")) // int(heads)
    return KvLayout(num_layers, int(kv_heads), int(head_dim), **common)


@dataclass(frozen=True)
class FitResult:
    """The sizing of one launch.  Bytes throughout; ``reasons`` say in plain words why it does not fit."""

    weights: int
    kv: int  # max_model_len * concurrency worth of KV cache
    overhead: int  # activations + CUDA graphs
    need: int
    budget: int  # util * total
    fits: bool
    reasons: tuple[str, ...]
    max_concurrency_at_len: int  # full-length sequences the budget holds after weights and overhead
    max_len_at_concurrency: int  # longest max_model_len that fits ``concurrency`` sequences
    suggested_util: float | None  # smallest util that fits; None when no util ≤ 0.99 does


def _gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def _max_len(kv: int | KvLayout, room: int, concurrency: int) -> int:
    if room <= 0:
        return 0
    if isinstance(kv, int):
        return room // (kv * concurrency) if kv > 0 else 0
    lo, hi = 0, 1 << 24
    while lo < hi:  # largest tokens with bytes_for(tokens) * concurrency ≤ room
        mid = (lo + hi + 1) // 2
        if kv.bytes_for(mid) * concurrency <= room:
            lo = mid
        else:
            hi = mid - 1
    return lo


def fit(
    *,
    kv: int | KvLayout,
    max_model_len: int,
    util: float,
    mem_total: int,
    mem_available: int | None = None,
    params_b: float | None = None,
    weights_bytes: int | None = None,
    quant: str = "bf16",
    concurrency: int = 1,
    activations: int = DEFAULT_ACTIVATIONS,
    cuda_graphs: int = DEFAULT_CUDA_GRAPHS,
) -> FitResult:
    """Check a launch: ``need = weights + overhead + KV(max_model_len) * concurrency ≤ util * total ≤ available``.

    ``kv`` is bytes per token, or a KvLayout (sliding windows then count).  Give either
    ``weights_bytes`` (e.g. the safetensors size) or ``params_b`` with ``quant``.
    """
    if (weights_bytes is None) == (params_b is None):
        raise ValueError("give exactly one of weights_bytes or params_b")
    if not 0 < util <= 1:
        raise ValueError(f"gpu-memory-utilization must be in (0, 1], got {util}")
    if mem_total <= 0 or max_model_len <= 0 or concurrency <= 0:
        raise ValueError("mem_total, max_model_len and concurrency must be positive")
    w = weights_bytes if weights_bytes is not None else weights_for(params_b or 0.0, quant)
    per_seq = kv * max_model_len if isinstance(kv, int) else kv.bytes_for(max_model_len)
    kv_total = per_seq * concurrency
    overhead = activations + cuda_graphs
    need = w + overhead + kv_total
    budget = math.ceil(util * mem_total)
    room = budget - w - overhead
    reasons: list[str] = []
    if room <= 0:
        reasons.append(
            f"the weights ({_gib(w)}) and overhead ({_gib(overhead)}) already take the whole budget of "
            f"{_gib(budget)} (gpu-memory-utilization {util:g} of {_gib(mem_total)}): nothing is left for "
            "the KV cache; quantize, use a smaller model or raise gpu-memory-utilization"
        )
    elif need > budget:
        seqs = "one sequence" if concurrency == 1 else f"{concurrency} sequences"
        verb = "needs" if concurrency == 1 else "need"
        reasons.append(
            f"needs {_gib(need)} but gpu-memory-utilization {util:g} of {_gib(mem_total)} gives "
            f"{_gib(budget)}: {seqs} of {max_model_len} tokens {verb} {_gib(kv_total)} of KV cache"
        )
    if mem_available is not None and budget > mem_available:
        reasons.append(
            f"util × total ({_gib(budget)}) exceeds available memory ({_gib(mem_available)}): "
            "drop caches or stop other GPU work"
        )
    max_conc = room // per_seq if room > 0 and per_seq > 0 else 0
    suggested = math.ceil(need / mem_total * 100 - 1e-9) / 100
    return FitResult(
        weights=w,
        kv=kv_total,
        overhead=overhead,
        need=need,
        budget=budget,
        fits=not reasons,
        reasons=tuple(reasons),
        max_concurrency_at_len=int(max_conc),
        max_len_at_concurrency=_max_len(kv, room, concurrency),
        suggested_util=round(max(suggested, 0.01), 2) if suggested <= 0.99 else None,
    )


def util_for_free(free: float, total: float, margin: float = 0.02, minimum: float = 0.05) -> float:
    """The gpu-memory-utilization that passes vLLM's startup check with ``free`` of ``total`` free.

    ``floor((free/total - margin) * 100) / 100``, at least ``minimum``.  Any unit, as long as both agree.
    """
    if total <= 0:
        raise ValueError("total must be positive")
    return round(max(minimum, math.floor((free / total - margin) * 100 + 1e-9) / 100), 2)
