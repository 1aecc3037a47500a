"""A preset resolved against the host environment: the ``LaunchPlan`` (image, serve command, env, mounts, limits).

Secrets never leave the plan in display form: ``repr(plan)`` masks them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from console.containers.presets.model import (
    LABEL,
    OPENWEBUI_UI_PORT,
    OPENWEBUI_URL_ENV,
    TIKTOKEN_ENV,
    TIKTOKEN_TARGET,
    Preset,
)
from console.containers.presets.values import PresetError, check, host_ref, parse_ulimit, parse_volume
from console.runtime.secrets import is_secret, mask_argv, mask_env, mask_text


@dataclass(frozen=True)
class Mount:
    source: str  # absolute host path or a named volume
    target: str
    read_only: bool = False

    @property
    def spec(self) -> str:
        return f"{self.source}:{self.target}" + (":ro" if self.read_only else "")

    @property
    def is_volume(self) -> bool:
        return not self.source.startswith("/")


@dataclass(frozen=True, repr=False)
class LaunchPlan:
    """Everything ``docker run`` needs, with host variables resolved.  Holds secret values:
    show it through ``repr``/``docker_run_line`` (both masked), never by hand."""

    preset: str
    kind: str
    image: str
    command: list[str]
    env: dict[str, str]
    secret_names: tuple[str, ...] = ()  # keys of env whose values are never shown
    host_vars: dict[str, str] = field(default_factory=dict)  # env key -> host variable it was read from
    unset: tuple[str, ...] = ()  # host variables asked for but not set (left out of env)
    mounts: tuple[Mount, ...] = ()
    ports: tuple[int, ...] = ()  # where the container listens (published with -p off the host network)
    runtime: str | None = None
    network: str = "host"
    shm_size: str | None = None
    ulimits: dict[str, tuple[int, int]] = field(default_factory=dict)
    ipc: str | None = None
    name: str | None = None
    restart: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    model: str = ""

    @property
    def publish(self) -> bool:
        return self.network != "host"

    @property
    def url(self) -> str | None:
        """Where the container answers HTTP from this host (``/health``, ``/v1``)."""
        return f"http://127.0.0.1:{self.ports[0]}" if self.ports else None

    def secret_values(self) -> list[str]:
        return [self.env[k] for k in self.secret_names if self.env.get(k)]

    def __repr__(self) -> str:
        secrets = self.secret_values()
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "env":
                value = mask_env(value, self.secret_names)
            elif f.name == "command":  # masked before repr() escapes quotes inside a value
                value = mask_argv([mask_text(token, secrets) for token in value])
            parts.append(f"{f.name}={value!r}")
        return mask_text(f"LaunchPlan({', '.join(parts)})", secrets)

    __str__ = __repr__


def _expand(source: str, host_env: Mapping[str, str]) -> str:
    if source == "~" or source.startswith("~/"):
        home = host_env.get("HOME") or os.path.expanduser("~")
        return home.rstrip("/") + source[1:] if source != "~" else home
    return source


def _serve_command(p: Preset) -> list[str]:
    if p.kind == "vllm":
        cmd = ["vllm", "serve", p.model, "--host", "0.0.0.0", "--port", str(p.port)]
        if p.served_model_name:
            cmd += ["--served-model-name", p.served_model_name]
        if p.gpu_memory_utilization is not None:
            cmd += ["--gpu-memory-utilization", str(p.gpu_memory_utilization)]
        if p.max_model_len is not None:
            cmd += ["--max-model-len", str(p.max_model_len)]
        if p.dtype:
            cmd += ["--dtype", p.dtype]
        if p.quantization:
            cmd += ["--quantization", p.quantization]
        if p.speculative_config:
            cmd += ["--speculative-config", p.speculative_config]
        if p.enable_auto_tool_choice:
            cmd += ["--enable-auto-tool-choice"]
        if p.tool_call_parser:
            cmd += ["--tool-call-parser", p.tool_call_parser]
        return cmd + list(p.extra_args)
    if p.kind == "sglang":
        cmd = [
            "python3",
            "-m",
            "sglang.launch_server",
            "--model-path",
            p.model,
            "--host",
            "0.0.0.0",
            "--port",
            str(p.port),
        ]
        if p.served_model_name:
            cmd += ["--served-model-name", p.served_model_name]
        if p.gpu_memory_utilization is not None:
            cmd += ["--mem-fraction-static", str(p.gpu_memory_utilization)]
        if p.max_model_len is not None:
            cmd += ["--context-length", str(p.max_model_len)]
        if p.dtype:
            cmd += ["--dtype", p.dtype]
        if p.quantization:
            cmd += ["--quantization", p.quantization]
        if p.tool_call_parser:  # SGLang takes tool_choice auto with its parser alone
            cmd += ["--tool-call-parser", p.tool_call_parser]
        return [*cmd, "--enable-metrics", *p.extra_args]
    if p.kind == "custom":
        fill = {"{model}": p.model, "{port}": str(p.port)}
        out = []
        for token in p.command:
            for placeholder, value in fill.items():
                token = token.replace(placeholder, value)
            out.append(token)
        return out + list(p.extra_args)
    return list(p.extra_args)  # openwebui: the image's own command


def _check_placeholders(p: Preset) -> None:
    """A custom command takes the model only through ``{model}``: refuse a model it would drop, or a ``{model}``
    that would become empty."""
    uses_model = any("{model}" in token for token in p.command)
    if uses_model and not p.model.strip():
        raise PresetError(
            "model",
            "is empty, but the command uses {model}: name the model (or take {model} out of the command)",
            f"preset {p.name!r}: the command uses {{model}} but model is empty: --set model=ORG/NAME",
        )
    if p.model.strip() and not uses_model:
        where = "the command has no {model}" if p.command else "there is no command to put it in"
        raise PresetError(
            "model",
            f"would be dropped: {where}; write {{model}} in the command where it goes, or clear the model",
            f"preset {p.name!r}: model {p.model!r} would be dropped: {where} (add {{model}} to command, "
            "or --set model=)",
        )


def plan(preset: Preset, host_env: Mapping[str, str]) -> LaunchPlan:
    """Resolve a preset against the host environment (``$VAR`` values, secrets, ``~``).

    Raises ``PresetError`` (a ValueError naming the setting) when the preset cannot be launched as it stands (no
    image, no model for vLLM/SGLang, a custom command's ``{model}`` with no model or a model it drops, two mounts
    of one source, a cross-field problem).
    """
    name = preset.name
    problems = check(preset)
    if problems:
        key, message = problems[0]
        raise PresetError(key, message, f"preset {name!r}: {key}: {message}")
    if not preset.image:
        raise PresetError(
            "image",
            "is empty: name the image to run (repo/name:tag)",
            f'preset {name!r} has no image: set image = "repo/name:tag" (--set image=...)',
        )
    if preset.kind in ("vllm", "sglang") and not preset.model.strip():
        raise PresetError(
            "model",
            f"is empty: {name} has no default model; name one (an HF id like Qwen/Qwen3-8B, or a path)",
            f'preset {name!r} has no model: set model = "org/name" (--set model=...)',
        )
    if preset.kind == "custom":
        _check_placeholders(preset)

    env: dict[str, str] = {}
    host_vars: dict[str, str] = {}
    unset: list[str] = []
    if preset.kind == "openwebui" and OPENWEBUI_URL_ENV not in preset.env:
        env[OPENWEBUI_URL_ENV] = f"http://0.0.0.0:{preset.port}/v1"
    for key, value in preset.env.items():
        ref = host_ref(value)
        if ref is None:
            env[key] = value
        elif host_env.get(ref):
            env[key] = host_env[ref]
            host_vars[key] = ref
        else:
            unset.append(ref)
    if preset.tiktoken_dir:
        env[TIKTOKEN_ENV] = TIKTOKEN_TARGET
    for key in preset.secret_env:
        if key in env or key in preset.env:
            continue
        if host_env.get(key):
            env[key] = host_env[key]
            host_vars[key] = key
        else:
            unset.append(key)
    secret_names = tuple(k for k in env if k in host_vars or is_secret(k))

    mounts: list[Mount] = []
    specs = list(preset.volumes)
    for spec in specs:
        host, target, read_only = parse_volume(spec)
        mounts.append(Mount(_expand(host, host_env), target, read_only))
    if preset.tiktoken_dir:
        mounts.append(Mount(_expand(preset.tiktoken_dir, host_env), TIKTOKEN_TARGET, True))
    sources = [m.source for m in mounts]
    dupes = sorted({s for s in sources if sources.count(s) > 1})
    if dupes:
        raise PresetError(
            "volumes",
            f"{dupes[0]!r} is mounted twice; mount it once",
            f"preset {name!r} mounts {dupes[0]!r} twice; mount it once",
        )

    port = OPENWEBUI_UI_PORT if preset.kind == "openwebui" else preset.port
    return LaunchPlan(
        preset=preset.name,
        kind=preset.kind,
        image=preset.image,
        command=_serve_command(preset),
        env=env,
        secret_names=secret_names,
        host_vars=host_vars,
        unset=tuple(dict.fromkeys(unset)),
        mounts=tuple(mounts),
        ports=(port,),
        runtime=preset.runtime,
        network=preset.network,
        shm_size=preset.shm_size,
        ulimits={n: parse_ulimit(n, v) for n, v in preset.ulimits.items()},
        ipc=preset.ipc,
        name=preset.container_name,
        restart=preset.restart,
        labels={LABEL: preset.name},
        model=preset.model,
    )
