"""Organiser actions across the fleet, planned (pure): which devices, and the exact command each one runs.

An action is planned before anything runs, so a dry run shows every command and a device that cannot
take it is refused with the reason, beside the others.  Commands run on the device over SSH
(console/fleet/remote.py), except ``push`` and ``collect-bench``, which run rsync here.

Launching fits each device: a preset whose image follows jetson-containers' ``dustynv/<package>:r<L4T>``
naming gets the newest known tag of the device's L4T line (``autotag``), as jetson-containers'
``autotag`` does; a device whose L4T has none is refused with that reason.  The device's L4T comes from
its agent or its ``/etc/nv_tegra_release``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from console.fleet.action_names import ACTIONS, DESCRIPTIONS
from console.fleet.hosts import Device
from console.runtime.secrets import is_secret_variable, mask_command

__all__ = ["ACTIONS", "DESCRIPTIONS", "ActionOptions", "Outcome", "Plan", "Step", "autotag", "plan_action"]

# Tags published for the jetson-containers images the presets use, newest last (the pin of today).
KNOWN_TAGS: dict[str, tuple[str, ...]] = {
    "dustynv/vllm": ("r36.4.0",),
    "dustynv/sglang": ("r36.4.0",),
}
L4T_TAG = re.compile(r"^r(\d+)\.(\d+)(?:\.(\d+))?$")
RELEASE = re.compile(r"R(\d+).*REVISION:\s*([\d.]+)")
SERVER_CONTAINERS = ("vllm", "sglang")
SHORT_S, STOP_S, DOCTOR_S = 60.0, 300.0, 600.0  # the steps' own time limits (a launch: its --timeout + STOP_S)
# Every ssh the fleet runs: nothing asked, and a link gone quiet is given up after 3 x 15 s.
SSH_OPTIONS = (
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "ServerAliveInterval=15",
    "-o",
    "ServerAliveCountMax=3",
)


@dataclass(frozen=True)
class Step:
    """One device's part of an action: ``remote``, a POSIX sh command run there over SSH, or ``argv`` run
    here (rsync)."""

    device: str
    remote: str = ""
    argv: tuple[str, ...] = ()
    note: str = ""  # what the plan chose for this device (the image its L4T takes)
    limit: float = 0.0  # seconds it may take (0: no limit; a dead link still ends it: ssh's keep-alives)

    @property
    def local(self) -> bool:
        return bool(self.argv)

    @property
    def shown(self) -> str:
        """The exact command, as a dry run shows it (a credential in it masked: it is shown and audited)."""
        return mask_command(shlex.join(self.argv) if self.local else self.remote)


@dataclass(frozen=True)
class Plan:
    action: str
    steps: tuple[Step, ...]
    refused: tuple[tuple[str, str], ...]  # (device, why) of those that cannot take it


@dataclass(frozen=True)
class Outcome:
    """How one device's step ended."""

    device: str
    ok: bool
    summary: str  # one line: "done", "warnings", "failed (exit 1): ...", "refused: ..."
    code: int | None
    seconds: float
    tail: tuple[str, ...] = ()  # its last lines of output, cleaned


@dataclass(frozen=True)
class ActionOptions:
    """What an action needs beyond the devices."""

    preset: str = ""
    settings: tuple[str, ...] = ()  # launch's --set KEY=VALUE
    image: str = ""  # the preset's image (to fit to each device's L4T)
    source: str = ""  # push: the local directory; collect-bench: the local directory to fill
    dest: str = ""  # push: the directory on the device; collect-bench: the results directory there ({name}: the
    # device's name, for devices that share a file system)
    timeout: float = 1800.0  # launch: seconds to wait for Ready
    bandwidth_kbps: int = 0  # push: rsync --bwlimit (0 = none)
    ssh_config: str = ""  # rsync's ssh: the fleet's [fleet] ssh_config ("" = ~/.ssh/config)


def l4t_of_release(text: str) -> str | None:
    """``36.4.7`` from /etc/nv_tegra_release's first line (``# R36 (release), REVISION: 4.7, ...``)."""
    m = RELEASE.search(text)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def _version(text: str) -> tuple[int, ...]:
    """``36.4`` as (36, 4, 0): three parts, so 36.4 and 36.4.0 compare equal."""
    parts = [int(p) for p in text.split(".") if p.isdigit()][:3]
    return tuple(parts + [0] * (3 - len(parts)))


def autotag(image: str, l4t: str | None) -> tuple[str | None, str]:
    """(the image for a device of L4T ``l4t``, why) for a jetson-containers image; other images as they are.

    The newest known tag of the device's L4T major line that is not newer than the device: r36.4.0 runs
    on L4T 36.4.x and 36.5, not on 36.3 (an older driver) nor on 35.x or 38.x (another JetPack).
    """
    repo, _, tag = image.partition(":")
    if repo not in KNOWN_TAGS or not L4T_TAG.match(tag or ""):
        return image, "not a jetson-containers image: used as it is"
    if not l4t:
        return None, "its L4T is unknown (no agent answer, no /etc/nv_tegra_release): is it a Jetson?"
    device = _version(l4t)
    fitting = [t for t in KNOWN_TAGS[repo] if _version(t[1:])[:1] == device[:1] and _version(t[1:]) <= device]
    if not fitting:
        known = ", ".join(KNOWN_TAGS[repo])
        return None, f"no {repo} image for L4T {l4t} (known: {known}); JetPack 6 (L4T 36.4+) is needed"
    return f"{repo}:{fitting[-1]}", f"L4T {l4t}: {fitting[-1]}"


def plan_action(
    action: str, devices: Sequence[Device], options: ActionOptions, l4t: Mapping[str, str | None] | None = None
) -> Plan:
    """The plan of ``action`` for ``devices``; a device without ``ssh=`` is refused (actions need SSH)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    for setting in options.settings:
        key = setting.partition("=")[0].strip()
        if key.startswith("env.") and is_secret_variable(key[4:]):
            raise ValueError(
                f"--set {key}=…: a credential is not sent on a command line over SSH (the device's process list "
                "shows it); set it on the device (its environment, or its own [presets])"
            )
    steps: list[Step] = []
    refused: list[tuple[str, str]] = []
    for d in devices:
        if not d.ssh:
            refused.append((d.name, "no ssh= in the hosts file: actions run over SSH"))
            continue
        step, why = _step(action, d, options, (l4t or {}).get(d.name))
        if step is None:
            refused.append((d.name, why))
        else:
            steps.append(step)
    return Plan(action, tuple(steps), tuple(refused))


def _step(action: str, d: Device, o: ActionOptions, l4t: str | None) -> tuple[Step | None, str]:
    assert d.ssh
    if action in ("flag-on", "flag-off"):
        return Step(d.name, f"jetconsole help-flag {action.removeprefix('flag-')}", limit=SHORT_S), ""
    if action == "doctor":
        return Step(d.name, "jetconsole doctor", limit=DOCTOR_S), ""
    if action == "stop":
        names = " ".join(f"--filter name=^{n}$" for n in SERVER_CONTAINERS)
        return Step(d.name, f"docker ps -q {names} | xargs -r docker stop", limit=STOP_S), ""
    if action == "launch":
        if not o.preset:
            return None, "launch needs a preset"
        image, why = autotag(o.image, l4t) if o.image else (o.image, "")
        if image is None:
            return None, why
        sets = [a for s in o.settings for a in ("--set", s)]
        if image != o.image:
            sets += ["--set", f"image={image}"]
        argv = ["jetconsole", "launch", o.preset, *sets, "--timeout", f"{o.timeout:g}"]
        return Step(d.name, shlex.join(argv), note=why, limit=o.timeout + STOP_S), ""
    here = str(Path(o.source).expanduser()) if o.source else ""  # rsync runs without a shell: no ~ for it
    if action == "push":
        if not o.source or not o.dest:
            return None, "push needs a source directory and a destination"
        source = here.rstrip("/") + "/"  # the directory's contents into dest, as the seed's loop did
        dest = remote_path(o.dest.replace("{name}", d.name))
        return Step(d.name, argv=(*rsync_base(o.bandwidth_kbps, o.ssh_config), "--", source, f"{d.ssh}:{dest}")), ""
    # collect-bench
    if not o.source or not o.dest:
        return None, "collect-bench needs the local directory and the results directory there"
    there = remote_path(o.dest.replace("{name}", d.name)).rstrip("/") + "/"
    return Step(d.name, argv=(*rsync_base(0, o.ssh_config), "--", f"{d.ssh}:{there}", f"{here}/{d.name}/")), ""


def remote_path(path: str) -> str:
    """A path on the device as rsync takes it with --protect-args (no remote shell: no ``~``): ``~/x`` is
    ``x``, relative to the login's home, as rsync's remote paths are."""
    if path in ("~", "~/"):
        return "."
    return path[2:] if path.startswith("~/") else path


def ssh_command(ssh_config: str) -> str:
    """The ssh rsync runs: the fleet's config, nothing asked (host keys checked as for the fleet's reads), and
    keep-alives, so a device gone mid-copy ends the copy within a minute instead of hanging it."""
    config = f" -F {shlex.quote(str(Path(ssh_config).expanduser()))}" if ssh_config else ""
    return f"ssh{config} {' '.join(SSH_OPTIONS)}"


def rsync_base(bandwidth_kbps: int, ssh_config: str) -> tuple[str, ...]:
    """rsync that resumes an interrupted copy (--partial keeps the half-sent file, --append-verify goes on
    from it and checks it), makes the destination's directories, and reports its progress as one line at a
    time (--info=progress2)."""
    limit = (f"--bwlimit={bandwidth_kbps}",) if bandwidth_kbps else ()
    return (
        "rsync",
        "-a",
        "--partial",
        "--append-verify",
        "--info=progress2",
        "--no-inc-recursive",
        "--mkpath",  # the destination's parents made (rsync 3.2.3+: JetPack 6 and 7 have it)
        "--protect-args",  # the remote path is rsync's, never the remote shell's
        "-e",
        ssh_command(ssh_config),
        *limit,
    )
