"""What ``jetconsole fit`` and the Fit screen compute and show: will a model fit this device's memory,
and with which vLLM flags?

The arithmetic is ``console.fit.sizing`` (domain.md §6); this module reads the inputs (flags, the
model's config.json, the device's memory) into one report (a JSON-ready dict) and its table.
The CLI (``console.fit.command``) prints it; the screen shows it.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from console.fit.device import DeviceMemory, device_memory
from console.fit.model import FitError, estimate_params, load_config, parse_params
from console.fit.sizing import (
    BYTES_PER_PARAM,
    DEFAULT_ACTIVATIONS,
    DEFAULT_CUDA_GRAPHS,
    GIB,
    KvLayout,
    fit,
    kv_layout_from_config,
    normalize_quant,
    util_for_free,
    weight_format,
)
from console.telemetry.view import size

CONTEXT_CAP = 32768  # default context: max_position_embeddings, at most this
UMA_CEILING = 0.85  # domain.md §6: keep headroom for the OS where the GPU shares system RAM


def _number(flag: str, text: str, kind: type[int] | type[float]) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise FitError(f"{flag}: {text!r} is not a{'n integer' if kind is int else ' number'}") from None
    if value <= 0:
        raise FitError(f"{flag}: must be positive, got {text}")
    return value


def _round_len(tokens: int) -> int:
    return tokens - tokens % 1024 if tokens >= 1024 else tokens - tokens % 16


def fit_args(
    *,
    config: str | None = None,
    params: str | None = None,
    quant: str | None = None,
    context: str | None = None,
    concurrency: str | None = None,
    kv_dtype: str = "auto",
    util: str | None = None,
) -> argparse.Namespace:
    """The arguments ``jetconsole fit`` parses, from text fields (the fit screen's form); blank means default."""

    def given(text: str | None) -> str | None:
        return text.strip() if text and text.strip() else None

    return argparse.Namespace(
        command="fit",
        model_config=given(config),
        params=given(params),
        quant=given(quant),
        context=given(context),
        concurrency=given(concurrency) or "1",
        kv_dtype=kv_dtype,
        util=given(util) or "0.9",
        json=False,
    )


def command_line(args: argparse.Namespace) -> str:
    """The ``jetconsole fit ...`` line that checks the same thing (defaults left out), quoted for a shell."""
    argv = ["jetconsole", "fit"]
    for flag, value, default in (
        ("--config", args.model_config, None),
        ("--params", args.params, None),
        ("--quant", args.quant, None),
        ("--context", args.context, None),
        ("--concurrency", args.concurrency, "1"),
        ("--kv-dtype", args.kv_dtype, "auto"),
        ("--util", args.util, "0.9"),
    ):
        text = str(value).strip() if value is not None else ""
        if text and text != default:
            argv += [flag, text]
    return shlex.join(argv)


def report(args: argparse.Namespace, meminfo: str | Path | None = None) -> dict[str, Any]:
    """Everything ``fit`` prints, as the JSON object.  Raises FitError on bad input."""
    config_path, config = load_config(args.model_config) if args.model_config else (None, None)
    return evaluate(args, config_path, config, partial(device_memory, meminfo))


def evaluate(
    args: argparse.Namespace,
    config_path: Path | None,
    config: dict[str, Any] | None,
    memory: Callable[[], DeviceMemory],
) -> dict[str, Any]:
    """``report`` once the config.json is read: pure but for ``memory()``, called after the flags are checked.

    The fit screen reads the config and the memory in a worker and calls this with what it read.
    """
    notes: list[str] = []
    if args.params:
        params, params_source = parse_params(args.params), "--params"
    elif config is not None:
        params, params_source = estimate_params(config), "estimated from config.json"
    else:
        raise FitError("--params is needed (e.g. --params 8B), or --config with the model's config.json")
    layout: KvLayout | None = None
    if config is not None:
        try:
            layout = kv_layout_from_config(config, args.kv_dtype)
        except (ValueError, TypeError) as exc:
            raise FitError(f"--config: {config_path}: {exc}") from None
    if args.quant:
        try:
            quant = normalize_quant(args.quant)
        except ValueError:
            accepted = ", ".join(BYTES_PER_PARAM)
            raise FitError(
                f"--quant: unknown weight format {args.quant!r}; accepted are {accepted} "
                "(and spellings such as bfloat16, awq_marlin, modelopt_fp4)"
            ) from None
    elif layout is not None:
        quant = weight_format(config or {})
        if layout.quant is None and isinstance((config or {}).get("quantization_config"), Mapping):
            notes.append(f"quantization_config of {config_path} not understood: weights sized as {quant}; give --quant")
    else:
        quant = "bf16"
    max_pos = layout.max_position_embeddings if layout else None
    context = _number("--context", args.context, int) if args.context else min(max_pos or CONTEXT_CAP, CONTEXT_CAP)
    if max_pos and context > max_pos:
        notes.append(
            f"--context {context} is beyond max_position_embeddings {max_pos}: vLLM refuses a longer "
            "--max-model-len unless rope scaling extends it"
        )
    concurrency = _number("--concurrency", args.concurrency, int)
    util = _number("--util", args.util, float)
    if util > 1:
        raise FitError(f"--util: gpu-memory-utilization is a fraction of total memory in (0, 1], got {args.util}")
    if layout is None:
        notes.append(
            "no --config: the KV cache is not counted (it needs num_hidden_layers, "
            "num_key_value_heads and head_dim from the model's config.json)"
        )

    mem = memory()

    def check(u: float) -> Any:
        return fit(
            kv=layout if layout is not None else 0,
            max_model_len=context,
            util=u,
            mem_total=mem.total,
            mem_available=mem.available,
            params_b=params / 1e9,
            quant=quant,
            concurrency=concurrency,
        )

    result = check(util)
    ceiling = util_for_free(mem.available, mem.total)
    if mem.unified:
        ceiling = min(ceiling, UMA_CEILING)
    if result.fits and util <= ceiling:
        rec_util, rec_len = util, context
    else:  # the most that passes vLLM's free-memory check (and leaves unified memory some headroom)
        at = check(ceiling)
        rec_len = context if at.fits else _round_len(min(at.max_len_at_concurrency, max_pos or context))
        rec_util = ceiling if rec_len >= 16 else None
        rec_len = rec_len if rec_len >= 16 else 0
    if result.fits:
        reason = (
            f"needs {size(result.need)} of the {size(result.budget)} budget (gpu-memory-utilization "
            f"{util:g} × {size(mem.total)}), and {size(mem.available)} is available"
        )
    else:
        reason = "; ".join(result.reasons)
    if result.fits and util > UMA_CEILING and mem.unified:
        notes.append(f"gpu-memory-utilization above {UMA_CEILING} leaves unified memory little room for the OS")
    kv_known = layout is not None
    longest = min(result.max_len_at_concurrency, max_pos or result.max_len_at_concurrency)  # vLLM's own limit
    return {
        "config": str(config_path) if config_path else None,
        "params": params,
        "params_source": params_source,
        "quant": quant,
        "bytes_per_param": BYTES_PER_PARAM[quant],
        "weights_bytes": result.weights,
        "kv_dtype": args.kv_dtype,
        "kv_layout": None
        if layout is None
        else {
            "layers": layout.num_layers,
            "kv_heads": layout.num_kv_heads,
            "head_dim": layout.head_dim,
            "mla_dim": layout.mla_dim,
            "dtype_bytes": layout.dtype_bytes,
            "sliding_window": layout.sliding_window,
            "sliding_layers": layout.sliding_layers,
            "max_position_embeddings": max_pos,
        },
        "kv_bytes_per_token": layout.bytes_per_token if layout is not None else None,
        "context": context,
        "concurrency": concurrency,
        "kv_cache_bytes": result.kv if kv_known else None,
        "overhead_bytes": result.overhead,
        "need_bytes": result.need,
        "util": util,
        "budget_bytes": result.budget,
        "mem_total_bytes": mem.total,
        "mem_available_bytes": mem.available,
        "memory_source": mem.source,
        "fits": result.fits,
        "reason": reason,
        "min_gpu_memory_utilization": result.suggested_util,
        "longest_context": longest if kv_known else None,
        "max_concurrency_at_context": result.max_concurrency_at_len if kv_known else None,
        "gpu_memory_utilization": rec_util,
        "max_model_len": rec_len if kv_known and rec_util is not None else None,
        "notes": notes,
    }


def _kv_detail(r: dict[str, Any]) -> str:
    k = r["kv_layout"]
    dtype = f"{k['dtype_bytes']} B (kv-dtype {r['kv_dtype']})"
    if k["mla_dim"] is not None:
        return f"{k['layers']} layers × latent {k['mla_dim']} × {dtype} = {r['kv_bytes_per_token']:,} B"
    text = (
        f"2 × {k['layers']} layers × {k['kv_heads']} KV heads × head_dim {k['head_dim']} × {dtype}"
        f" = {r['kv_bytes_per_token']:,} B"
    )
    if k["sliding_layers"]:
        text += f"; {k['sliding_layers']} layers keep {k['sliding_window']} tokens"
    return text


def table_rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, size, how it was reached) for each figure: the table ``fit`` prints and the fit screen shows."""
    seqs = "1 sequence" if r["concurrency"] == 1 else f"{r['concurrency']} sequences"
    rows = [
        (
            "weights",
            size(r["weights_bytes"]),
            f"{r['params'] / 1e9:.2f}B params ({r['params_source']}) × {r['bytes_per_param']:g} B ({r['quant']})",
        )
    ]
    if r["kv_layout"] is not None:
        rows += [
            ("KV cache per token", size(r["kv_bytes_per_token"]), _kv_detail(r)),
            ("KV cache", size(r["kv_cache_bytes"]), f"{r['context']} tokens × {seqs}"),
        ]
    else:
        rows.append(("KV cache", "?", "not counted: no --config"))
    rows += [
        (
            "overhead",
            size(r["overhead_bytes"]),
            f"activations {DEFAULT_ACTIVATIONS / GIB:g} GiB + CUDA graphs {DEFAULT_CUDA_GRAPHS / GIB:g} GiB",
        ),
        ("total need", size(r["need_bytes"]), ""),
        ("budget", size(r["budget_bytes"]), f"gpu-memory-utilization {r['util']:g} × {size(r['mem_total_bytes'])}"),
        (
            "device memory",
            size(r["mem_total_bytes"]),
            f"total, {size(r['mem_available_bytes'])} available: {r['memory_source']}",
        ),
        ("fits", "yes" if r["fits"] else "NO", r["reason"]),
    ]
    return rows


def vllm_flags(r: dict[str, Any]) -> str | None:
    """The recommended vLLM flags, or None where nothing fits."""
    if r["gpu_memory_utilization"] is None:
        return None
    flags = f"--gpu-memory-utilization {r['gpu_memory_utilization']:g}"
    if r["max_model_len"] is not None:
        flags += f" --max-model-len {r['max_model_len']}"
    if r["kv_dtype"] != "auto":
        flags += f" --kv-cache-dtype {r['kv_dtype']}"
    return flags


NOTHING_FITS = "nothing fits; quantize (--quant), use a smaller model or another machine"


def capacity(r: dict[str, Any]) -> str | None:
    """What else the budget holds, where it fits and the KV cache is known."""
    if r["longest_context"] is None or not r["fits"]:
        return None
    return (
        f"this budget holds {r['max_concurrency_at_context']} sequences of {r['context']} tokens, "
        f"or {r['concurrency']} of up to {r['longest_context']}"
    )


def as_text(r: dict[str, Any]) -> str:
    """The human table."""
    lines = [f"model config: {r['config']}"] if r["config"] else []
    lines += [f"{label:<20}{value:>11}  {detail}".rstrip() for label, value, detail in table_rows(r)]
    flags = vllm_flags(r)
    lines.append(f"recommended: {flags}" if flags else f"recommended: {NOTHING_FITS}")
    if (room := capacity(r)) is not None:
        lines.append(f"  ({room})")
    lines += [f"note: {n}" for n in r["notes"]]
    return "\n".join(lines)
