"""``/etc/docker/daemon.json`` and the NVIDIA runtime (pure: no I/O).

On Jetson the NVIDIA runtime mounts the GPU devices and driver libraries into containers; a
file without ``"default-runtime": "nvidia"`` gives containers no GPU (NVML errors, "failed to be
inspected").  The fix writes the shape ``nvidia-ctk runtime configure --set-as-default`` writes
(domain.md §5.4) and keeps every other key and runtime.  A malformed file is never rewritten:
:class:`DaemonJsonError` says where it is broken.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

RUNTIME = "nvidia"
RUNTIME_PATH = "nvidia-container-runtime"


class DaemonJsonError(ValueError):
    """The file is not a JSON object; ``line``/``column`` say where (1-based), when known."""

    def __init__(self, path: str, message: str, line: int | None = None, column: int | None = None) -> None:
        where = f"{path}:{line}:{column}" if line is not None else path
        super().__init__(f"{where}: {message}; fix it by hand (jetconsole never rewrites a file it cannot read)")
        self.path, self.line, self.column = path, line, column


def parse(text: str, path: str = "daemon.json") -> dict[str, Any]:
    """The file's settings.  An empty file counts as ``{}``: dockerd refuses to start with one ("EOF"),
    and there is nothing in it to lose."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DaemonJsonError(path, f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from exc
    if not isinstance(data, dict):
        raise DaemonJsonError(path, f"the top level must be an object {{...}}, not {type(data).__name__}")
    runtimes = data.get("runtimes")
    if runtimes is not None and not isinstance(runtimes, dict):
        raise DaemonJsonError(path, f'"runtimes" must be an object, not {type(runtimes).__name__}')
    if runtimes and RUNTIME in runtimes and not isinstance(runtimes[RUNTIME], dict):
        raise DaemonJsonError(path, '"runtimes.nvidia" must be an object with a "path"')
    return data


@dataclass(frozen=True)
class RuntimeState:
    """What the file says about the NVIDIA runtime."""

    defined: bool
    default: str | None  # "default-runtime", None when unset (dockerd then uses runc)
    path: str | None  # runtimes.nvidia.path

    @property
    def ok(self) -> bool:
        return self.defined and self.default == RUNTIME

    def problems(self) -> list[str]:
        out = []
        if not self.defined:
            out.append('no "nvidia" entry under "runtimes"')
        if self.default != RUNTIME:
            out.append(
                f'"default-runtime" is {json.dumps(self.default) if self.default else "unset (runc)"}, not "nvidia"'
            )
        return out


def runtime_state(config: dict[str, Any]) -> RuntimeState:
    runtimes = config.get("runtimes") or {}
    entry = runtimes.get(RUNTIME)
    default = config.get("default-runtime")
    return RuntimeState(
        isinstance(entry, dict),
        default if isinstance(default, str) else None,
        entry.get("path") if isinstance(entry, dict) else None,
    )


def fixed(config: dict[str, Any], runtime_path: str = RUNTIME_PATH) -> dict[str, Any]:
    """``config`` with the NVIDIA runtime defined (an existing entry is kept as it is) and the default."""
    out = copy.deepcopy(config)
    runtimes = out.setdefault("runtimes", {})
    runtimes.setdefault(RUNTIME, {"args": [], "path": runtime_path})
    out["default-runtime"] = RUNTIME
    return out


def render(config: dict[str, Any], like: str | None = None) -> str:
    """JSON text, indented as ``like`` (the file it replaces) is, so the diff shows only the change; else 4."""
    indent: int | str = 4
    if like and (found := re.search(r"^\{\s*\n([ \t]+)\S", like)):
        indent = found.group(1) if "\t" in found.group(1) else len(found.group(1))
    return json.dumps(config, indent=indent) + "\n"


def diff(old: str | None, new: str, path: str) -> str:
    """A unified diff of the change (``old`` None: the file is created)."""
    before = (old or "").splitlines(keepends=True)
    lines = difflib.unified_diff(before, new.splitlines(keepends=True), "/dev/null" if old is None else path, path)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
