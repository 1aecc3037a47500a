"""Launch presets: what to run (image, model, flags) and the exact ``docker run`` it means.

Pure logic: no Docker calls, no Textual.  A ``Preset`` (``model``) is a frozen description;
``plan`` resolves it against the host environment into a ``LaunchPlan``; the plan renders
three equivalent ways (``docker_run``): ``docker_run_argv``/``docker_run_line`` (what a user
could paste) and ``sdk_kwargs`` (for the docker SDK's ``client.containers.run(**kwargs)``).

Secrets never leave the plan in display form: ``repr(plan)`` masks them, and the masked
command line uses docker's pass-through form ``-e HF_TOKEN`` (copy the variable from the
caller's environment), so the line shown is both runnable and secret-free.

User presets live in config.toml as ``[presets.NAME]`` tables (``toml``; ``all_presets(config)`` gives the
built-ins with them applied); ``base = "vllm-thor"``
inherits a preset and overrides the keys given.  A table named like a built-in (``builtin``)
changes that built-in.  ``env`` and ``ulimits`` merge with the base; lists replace it.  An empty
string clears an inherited optional value (``quantization = ""``).  ``--set key=value`` is
``overrides``; every field's type and check is ``fields`` (a pydantic-validated schema), and the values that need
no schema are ``values``.

This module is the package's face: it names what the rest of the console uses.  What needs the schema (reading
``[presets]`` and ``--set``) is loaded on first use: pydantic's import and schema build cost ~60 ms, and a start
with no presets in its config never pays them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from console.containers.presets.builtin import BUILTIN_PRESETS
from console.containers.presets.docker_run import docker_run_argv, docker_run_line, sdk_kwargs
from console.containers.presets.model import KINDS, LABEL, Preset
from console.containers.presets.plan import LaunchPlan, Mount, plan
from console.containers.presets.values import check, host_ref, parse_ulimit, parse_volume

if TYPE_CHECKING:
    from console.containers.presets.fields import FIELDS
    from console.containers.presets.overrides import apply_overrides, parse_set
    from console.containers.presets.toml import all_presets, parse_presets

_ON_FIRST_USE = {
    "FIELDS": "fields",
    "apply_overrides": "overrides",
    "parse_set": "overrides",
    "all_presets": "toml",
    "parse_presets": "toml",
}


def __getattr__(name: str) -> Any:
    """The names whose modules validate with pydantic, imported when first asked for."""
    if name in _ON_FIRST_USE:
        return getattr(importlib.import_module(f"{__name__}.{_ON_FIRST_USE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUILTIN_PRESETS",
    "FIELDS",
    "KINDS",
    "LABEL",
    "LaunchPlan",
    "Mount",
    "Preset",
    "all_presets",
    "apply_overrides",
    "check",
    "docker_run_argv",
    "docker_run_line",
    "host_ref",
    "parse_presets",
    "parse_set",
    "parse_ulimit",
    "parse_volume",
    "plan",
    "sdk_kwargs",
]
