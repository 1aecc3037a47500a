"""A model's inputs to the fit: its parameter count (given as text, or estimated from config.json) and its
config.json; ``FitError`` names the flag or key at fault.  Pure but for reading the file; no Textual."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_MOE_OR_UNUSUAL = (
    "num_local_experts",
    "n_routed_experts",
    "num_experts",
    "kv_lora_rank",
    "text_config",
    "vision_config",
)


class FitError(ValueError):
    """Bad input; the message names the flag or the config key."""


def parse_params(text: str) -> int:
    """``8e9``, ``8B``, ``70b``, ``1.5B``, ``500M`` -> a parameter count."""
    s = text.strip().lower().replace("_", "").replace(",", "")
    scale = _SUFFIXES.get(s[-1:], 1.0)
    try:
        value = float(s[:-1] if s[-1:] in _SUFFIXES else s) * scale
    except ValueError:
        raise FitError(f"--params: cannot read {text!r}; write e.g. 8B, 70b, 1.5B, 500M or 8e9") from None
    if not math.isfinite(value) or value < 1e6:
        raise FitError(f"--params: {text!r} is {value:g} parameters; write 8B for 8 billion (suffixes K, M, B, T)")
    return int(value)


def load_config(path_text: str) -> tuple[Path, dict[str, Any]]:
    """A config.json file, or a directory holding one."""
    path = Path(path_text).expanduser()
    if path.is_dir():
        path = path / "config.json"
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise FitError(f"--config: cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise FitError(f"--config: {path} is not valid JSON: {where}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise FitError(f"--config: {path} holds a JSON {type(data).__name__}, not an object")
    return path, data


def estimate_params(config: Mapping[str, Any]) -> int:
    """Parameters of a dense decoder from its dimensions: embeddings, attention, gated MLP (norms left out)."""
    for key in _MOE_OR_UNUSUAL:
        if config.get(key):
            raise FitError(f"--params is needed: config.json has {key!r}, whose parameter count is not estimated here")

    def need(key: str) -> int:
        value = config.get(key)
        if not isinstance(value, int) or value <= 0:
            raise FitError(f"--params is needed: config.json has no {key!r} to estimate the parameter count from")
        return value

    hidden, layers, heads = need("hidden_size"), need("num_hidden_layers"), need("num_attention_heads")
    vocab, inter = need("vocab_size"), need("intermediate_size")
    kv_heads = int(config.get("num_key_value_heads") or heads)
    head_dim = int(config.get("head_dim") or hidden // heads)
    attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim  # q, o; k, v
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings", True) else 2)
    return layers * (attention + 3 * hidden * inter) + embeddings
