"""How big is a model, and how much of it is already on disk?  For the doctor's disk check.

A local directory: the sum of its weight files.  A Hugging Face repo id: what the HF cache
(``$HF_HUB_CACHE``, ``$HF_HOME/hub`` or ``~/.cache/huggingface/hub``) holds of it, with the
total from ``model.safetensors.index.json`` (``metadata.total_size``) when that file is cached,
else estimated from a cached ``config.json`` (dense models: parameters times bytes per parameter),
else unknown.  No network: a model never fetched says so.  Reads files only; no Textual.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
GIB = 1 << 30


@dataclass(frozen=True)
class ModelSize:
    name: str
    total: int | None  # bytes of weights; None: unknown
    present: int  # bytes of weights already on disk
    source: str  # how the total was found, in words
    local: bool = False  # a directory given by path, not a repo id
    where: Path | None = None  # the folder its files are (or will be) in

    @property
    def remaining(self) -> int | None:
        """Bytes still to come: the total less what is on disk."""
        return None if self.total is None else max(0, self.total - self.present)

    def line(self) -> str:
        if self.total is None:
            return f"size of {self.name} unknown: {self.source}"
        if self.local and not self.remaining:
            return f"{self.name}: {self.total / GIB:.1f} GiB of weights on disk ({self.source})"
        return (
            f"{self.name}: {self.total / GIB:.1f} GiB of weights ({self.source}), "
            f"{self.present / GIB:.1f} GiB {'on disk' if self.local else 'cached'}, "
            f"{(self.remaining or 0) / GIB:.1f} GiB to download"
        )


def hub_cache(env: Mapping[str, str]) -> Path:
    """Where huggingface_hub keeps repos, by its own rules."""
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path(env.get("HOME", "/root")) / ".cache"
    return base / "huggingface" / "hub"


def repo_dir(cache: Path, repo_id: str) -> Path:
    return cache / ("models--" + repo_id.replace("/", "--"))


def _weights(folder: Path) -> tuple[int, int]:
    """(bytes, files) of the weight files under ``folder``; each blob counted once."""
    seen: set[Path] = set()
    total = files = 0
    for path in folder.rglob("*"):
        if path.suffix not in WEIGHT_SUFFIXES:
            continue
        try:
            real = path.resolve(strict=True)
            if real in seen or not real.is_file():
                continue
            seen.add(real)
            total += real.stat().st_size
            files += 1
        except OSError:  # a dangling link: a blob still downloading
            continue
    return total, files


def _index_total(folder: Path) -> int | None:
    for index in sorted(folder.glob("*.index.json")):
        try:
            size = json.loads(index.read_text()).get("metadata", {}).get("total_size")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(size, (int, float)) and size > 0:
            return int(size)
    return None


def estimate_from_config(config: Mapping[str, Any]) -> tuple[int, str]:
    """Bytes of weights of a dense model from its config.json: parameters times bytes per parameter."""
    from console.fit.model import estimate_params
    from console.fit.sizing import BYTES_PER_PARAM, weight_format

    params = estimate_params(config)  # FitError (a ValueError) for MoE and odd configs
    fmt = weight_format(config, stored=True)
    per = BYTES_PER_PARAM[fmt]
    count = f"{params / 1e9:.1f}B" if params >= 1e9 else f"{params / 1e6:.1f}M"
    return int(params * per), f"estimated from config.json: {count} parameters × {per:g} bytes ({fmt})"


def _from_config(folder: Path) -> tuple[int | None, str]:
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return None, "no config.json to estimate it from"
    if not isinstance(config, dict):
        return None, f"{path} is not a JSON object"
    try:
        return estimate_from_config(config)
    except ValueError as exc:
        return None, f"cannot estimate from config.json ({exc})"


def _snapshot(repo: Path) -> Path | None:
    """The snapshot refs/main points at, else the most recently changed one."""
    snaps = repo / "snapshots"
    try:
        ref = (repo / "refs" / "main").read_text().strip()
        if (snaps / ref).is_dir():
            return snaps / ref
    except OSError:
        pass
    found = [p for p in snaps.iterdir() if p.is_dir()] if snaps.is_dir() else []
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def measure(model: str, env: Mapping[str, str] | None = None) -> ModelSize:
    """The size of ``model``: a local directory, or a Hugging Face repo id looked up in the HF cache."""
    env = dict(os.environ) if env is None else env
    path = Path(model).expanduser()
    if path.is_dir():
        size, files = _weights(path)
        if files:
            return ModelSize(str(path), size, size, f"{files} weight file{'s' if files != 1 else ''}", True, path)
        indexed = _index_total(path)
        if indexed:
            return ModelSize(
                str(path), indexed, 0, "no weight files yet; model.safetensors.index.json total_size", True, path
            )
        total, how = _from_config(path)
        return ModelSize(
            str(path),
            total,
            0,
            f"no weight files in {path}; {how}" if total is None else f"no weight files yet; {how}",
            True,
            path,
        )
    if model.count("/") != 1 or model.startswith(("/", ".", "~")):
        return ModelSize(model, None, 0, f"{model} is neither a directory nor a Hugging Face repo id (org/name)")
    repo = repo_dir(hub_cache(env), model)
    snap = _snapshot(repo) if repo.is_dir() else None
    if snap is None:
        return ModelSize(
            model,
            None,
            0,
            f"not in the Hugging Face cache ({repo} absent) and no network lookup is "
            "made; download it first or pass a local directory",
            where=repo,
        )
    present, files = _weights(snap)
    indexed = _index_total(snap)
    if indexed:
        return ModelSize(model, max(indexed, present), present, "model.safetensors.index.json total_size", where=repo)
    partial = (
        any(p.name.endswith(".incomplete") for p in (repo / "blobs").glob("*")) if (repo / "blobs").is_dir() else False
    )
    if files and not partial:
        return ModelSize(model, present, present, f"{files} cached weight file{'s' if files != 1 else ''}", where=repo)
    total, how = _from_config(snap)
    return ModelSize(
        model,
        None if total is None else max(total, present),
        present,
        how if total is not None else f"cached only in part; {how}",
        where=repo,
    )
