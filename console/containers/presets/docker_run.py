"""A ``LaunchPlan`` rendered: the ``docker run`` argv and line a user could paste (secrets passed through as
``-e NAME``, never shown), and the docker SDK's ``containers.run`` keyword arguments."""

from __future__ import annotations

import shlex
from typing import Any

from console.containers.presets.plan import LaunchPlan
from console.runtime.secrets import mask_argv, mask_text


class _HostRef(str):
    """An ``-e NAME=$VAR`` token: the shell line quotes it so the shell expands ``$VAR``."""

    name: str
    var: str

    def __new__(cls, name: str, var: str) -> _HostRef:
        self = super().__new__(cls, f"{name}=${var}")
        self.name, self.var = name, var
        return self


def _groups(p: LaunchPlan, mask: bool) -> list[list[str]]:
    groups: list[list[str]] = [["docker", "run", "-d"]]
    if p.name:
        groups.append(["--name", p.name])
    if p.restart:
        groups.append(["--restart", p.restart])
    groups.append(["--network", p.network])
    if p.runtime:
        groups.append(["--runtime", p.runtime])
    if p.ipc:
        groups.append(["--ipc", p.ipc])
    if p.shm_size:
        groups.append(["--shm-size", p.shm_size])
    for name, (soft, hard) in p.ulimits.items():
        groups.append(["--ulimit", f"{name}={soft}" if soft == hard else f"{name}={soft}:{hard}"])
    if p.publish:
        groups += [["-p", f"{port}:{port}"] for port in p.ports]
    for key, value in p.env.items():
        if mask and key in p.secret_names:
            var = p.host_vars.get(key, key)
            groups.append(["-e", key if var == key else _HostRef(key, var)])
        else:
            groups.append(["-e", f"{key}={value}"])
    groups += [["-v", m.spec] for m in p.mounts]
    groups += [["--label", f"{k}={v}"] for k, v in p.labels.items()]
    groups.append([p.image])
    if p.command:
        groups.append(mask_argv(p.command) if mask else list(p.command))  # --api-key X among its args
    if mask:
        secrets = p.secret_values()
        groups = [[t if isinstance(t, _HostRef) else mask_text(t, secrets) for t in g] for g in groups]
    return groups


def docker_run_argv(plan: LaunchPlan, mask: bool = True) -> list[str]:
    """The ``docker run -d ...`` argv equivalent to the plan.

    With ``mask`` (the default) secret variables appear in docker's pass-through form
    ``-e NAME`` (docker copies the value from the caller's environment), or ``-e
    NAME=$VAR`` when the value came from a differently named host variable (a shell
    line: ``docker_run_line`` quotes it so the shell expands it).  No secret value is
    in the result.  ``mask=False`` gives the values themselves.
    """
    return [token for group in _groups(plan, mask) for token in group]


def _quote(token: str) -> str:
    if isinstance(token, _HostRef):
        return f'{token.name}="${token.var}"'
    return shlex.quote(token)


def docker_run_line(plan: LaunchPlan) -> str:
    """The masked command as shell text, one option group a line (``\\`` continuations)."""
    return " \\\n  ".join(" ".join(_quote(t) for t in group) for group in _groups(plan, mask=True))


def sdk_kwargs(plan: LaunchPlan) -> dict[str, Any]:
    """Keyword arguments for the docker SDK's ``client.containers.run(**kwargs)``.

    Holds the real secret values (it is what launches).  ``ulimits`` are plain dicts
    ``{"name", "soft", "hard"}``; the caller makes ``docker.types.Ulimit(**d)`` of each.
    Options the plan leaves unset are left out.
    """
    kwargs: dict[str, Any] = {
        "image": plan.image,
        "detach": True,
        "environment": dict(plan.env),
        "network_mode": plan.network,
        "labels": dict(plan.labels),
    }
    if plan.command:
        kwargs["command"] = list(plan.command)
    if plan.name:
        kwargs["name"] = plan.name
    if plan.mounts:
        kwargs["volumes"] = {m.source: {"bind": m.target, "mode": "ro" if m.read_only else "rw"} for m in plan.mounts}
    if plan.runtime:
        kwargs["runtime"] = plan.runtime
    if plan.shm_size:
        kwargs["shm_size"] = plan.shm_size
    if plan.ulimits:
        kwargs["ulimits"] = [{"name": n, "soft": s, "hard": h} for n, (s, h) in plan.ulimits.items()]
    if plan.ipc:
        kwargs["ipc_mode"] = plan.ipc
    if plan.restart:
        policy, _, retries = plan.restart.partition(":")
        kwargs["restart_policy"] = {"Name": policy, **({"MaximumRetryCount": int(retries)} if retries else {})}
    if plan.publish:
        kwargs["ports"] = {f"{port}/tcp": port for port in plan.ports}
    return kwargs
