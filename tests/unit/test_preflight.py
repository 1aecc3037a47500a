"""The memory-fit preflight check on a model snapshot laid out like the HF cache."""

from __future__ import annotations

import json
from pathlib import Path

from console.containers.preflight import FAIL, OK, WARN, hf_snapshot, memory_check, port_free
from console.containers.presets import BUILTIN_PRESETS, apply_overrides, plan

GIB = 2**30
LLAMA_8B = {
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "hidden_size": 4096,
    "head_dim": 128,
    "torch_dtype": "bfloat16",
    "max_position_embeddings": 131072,
}


def snapshot(home: Path, model: str, weights: int) -> Path:
    snap = home / "hub" / f"models--{model.replace('/', '--')}" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(json.dumps(LLAMA_8B))
    with open(snap / "model.safetensors", "wb") as f:
        f.truncate(weights)  # sparse: the size is what counts
    return snap


def test_fits_and_does_not_fit(tmp_path: Path) -> None:
    model = "meta-llama/Llama-3.1-8B-Instruct"
    snap = snapshot(tmp_path, model, 16 * GIB)
    assert hf_snapshot(model, tmp_path) == snap and hf_snapshot("other/model", tmp_path) is None
    preset = apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"model": model, "max_model_len": "8192"})
    p = plan(preset, {"HOME": "/root"})
    ok, result = memory_check(p, snap, 122 * GIB, 110 * GIB, util=0.7, max_model_len=8192)
    assert ok.level == OK and result is not None and result.fits and "weights 16.0" in ok.detail
    bad, result = memory_check(p, snap, 24 * GIB, 20 * GIB, util=0.5, max_model_len=131072)
    assert bad.level == FAIL and result is not None and not result.fits and bad.fix


def test_unknown_model_or_memory_is_a_warning(tmp_path: Path) -> None:
    p = plan(apply_overrides(BUILTIN_PRESETS["vllm-thor"], {"model": "x/y"}), {"HOME": "/root"})
    assert memory_check(p, None, 122 * GIB, None, 0.7, None)[0].level == WARN
    snap = snapshot(tmp_path, "x/y", GIB)
    assert memory_check(p, snap, None, None, 0.7, None)[0].level == WARN


def test_port_free() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen()
        assert not port_free(s.getsockname()[1])
