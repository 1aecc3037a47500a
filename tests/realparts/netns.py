"""Devices as network namespaces on this machine (../shared/reference/environment.md, 7): each has a veth
link to the host, its own address, and a real OpenSSH sshd that takes only the test's key.  Traffic goes
only to the addresses of namespaces made here; everything is torn down afterwards (processes, links,
namespaces).  Needs root, ``ip`` (iproute2) and ``/usr/sbin/sshd`` (scripts/test.sh installs them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.realparts.processes import end

SSHD = "/usr/sbin/sshd"
START_S = 30.0


def missing() -> str | None:
    """Why namespaces with sshd cannot be made here (None when they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/test.sh installs iproute2 and openssh)"
    if not os.path.exists(SSHD):
        return "sshd is not installed (scripts/test.sh installs openssh-server)"
    return None


@dataclass
class Namespace:
    name: str  # the namespace's name, also the device's
    address: str  # its address, reached over its veth link
    link: str  # the host's end of the link
    home: Path  # its sshd's files, its XDG_STATE_HOME (state/), its config.toml (no Docker)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, argv: Sequence[str], **kwargs) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
        """A process inside the namespace; stopped with the namespace."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.name, *argv], **kwargs)
        self.processes.append(proc)
        return proc

    def link_down(self) -> None:
        _ip("link", "set", self.link, "down")

    def link_up(self) -> None:
        _ip("link", "set", self.link, "up")


@dataclass
class Devices:
    namespaces: list[Namespace]
    ssh_config: Path  # IdentityFile, UserKnownHostsFile and StrictHostKeyChecking for them
    known_hosts: Path
    key: Path


@contextmanager
def namespaces(
    work: Path, count: int, paths: Sequence[str | None] = (), envs: Sequence[Sequence[str]] = ()
) -> Iterator[Devices]:
    """``count`` namespaces, each with sshd on port 22 of its address; ``paths[i]``, when given, is the PATH of
    namespace i's SSH sessions (one without jetconsole on it is read through /proc), ``envs[i]`` more of their
    environment (NAME=VALUE)."""
    work.mkdir(parents=True, exist_ok=True)
    key = work / "id_ed25519"
    _quiet(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    known = work / "known_hosts"
    tag = f"{os.getpid() % 100000}"
    made: list[Namespace] = []
    try:
        for i in range(count):
            path, env = paths[i] if i < len(paths) else None, envs[i] if i < len(envs) else ()
            made.append(_namespace(work, f"jc{tag}n{i}", f"10.231.{i + 1}", key, path, env))
        known.write_text("".join(f"{ns.address} {(ns.home / 'host_key.pub').read_text()}" for ns in made))
        config = work / "ssh_config"
        config.write_text(
            f"Host *\n  IdentityFile {key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {known}\n"
            "  StrictHostKeyChecking yes\n  User root\n"
        )
        for ns in made:
            _wait_ssh(ns, config)
        yield Devices(made, config, known, key)
    finally:
        for ns in made:
            _remove(ns)


def _namespace(work: Path, name: str, net: str, key: Path, path: str | None, env: Sequence[str] = ()) -> Namespace:
    home = work / name
    home.mkdir()
    ns = Namespace(name, f"{net}.2", f"{name}h", home)
    _ip("netns", "add", name)
    try:
        _ip("link", "add", ns.link, "type", "veth", "peer", "name", f"{name}d")
        _ip("link", "set", f"{name}d", "netns", name)
        _ip("addr", "add", f"{net}.1/30", "dev", ns.link)
        _ip("link", "set", ns.link, "up")
        _ip("-n", name, "addr", "add", f"{ns.address}/30", "dev", f"{name}d")
        _ip("-n", name, "link", "set", f"{name}d", "up")
        _ip("-n", name, "link", "set", "lo", "up")
        write_sshd_config(home, ns.address, 22, key, path, env)
        Path("/run/sshd").mkdir(exist_ok=True)
        ns.run([SSHD, "-D", "-f", str(home / "sshd_config"), "-E", str(home / "sshd.log")])
    except BaseException:
        _remove(ns)
        raise
    return ns


def join(a: Namespace, b: Namespace, mtu_a: int = 1500, mtu_b: int = 1500) -> tuple[str, str]:
    """A veth pair straight between two namespaces (two nodes on one cable): 10.232.0.1 in ``a``, .2 in ``b``;
    the interfaces' names in each.  Gone with the namespaces."""
    end_a, end_b = f"{a.name}j", f"{b.name}j"
    _ip("link", "add", end_a, "type", "veth", "peer", "name", end_b)
    for ns, veth, ip, mtu in ((a, end_a, "10.232.0.1", mtu_a), (b, end_b, "10.232.0.2", mtu_b)):
        _ip("link", "set", veth, "netns", ns.name)
        _ip("-n", ns.name, "addr", "add", f"{ip}/30", "dev", veth)
        _ip("-n", ns.name, "link", "set", veth, "mtu", str(mtu), "up")
    return end_a, end_b


def write_sshd_config(
    home: Path, address: str, port: int, key: Path, path: str | None = None, env: Sequence[str] = ()
) -> None:
    """An sshd of its own in ``home``: its host key, only ``key`` let in, its sessions' HOME, XDG_STATE_HOME and
    JETCONSOLE_CONFIG in ``home`` (no Docker unless ``env`` says otherwise), ``path`` as their PATH."""
    _quiet(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / "host_key")])
    (home / "authorized_keys").write_text(Path(f"{key}.pub").read_text())
    (home / "state").mkdir(exist_ok=True)
    if not (home / "config.toml").exists():
        (home / "config.toml").write_text(f'[endpoints]\ndocker_host = "unix://{home}/none.sock"\n')
    # HOME too: the login shell (bash reads ~/.bashrc for an ssh command) never runs this machine's dotfiles
    # (a pyenv rehash waiting on its lock hung every session once)
    settings = [f"HOME={home}", f"XDG_STATE_HOME={home / 'state'}", f"JETCONSOLE_CONFIG={home / 'config.toml'}", *env]
    if not any(e.startswith("DOCKER_HOST=") for e in env):  # the docker CLI there never finds this machine's daemon
        settings.append(f"DOCKER_HOST=unix://{home}/none.sock")
    lines = ["SetEnv " + " ".join(settings)]
    if path:  # past the login shell's own start files (bash reads ~/.bashrc for ssh commands)
        lines.append(f'ForceCommand env PATH={path} /bin/sh -c "$SSH_ORIGINAL_COMMAND"')
    (home / "sshd_config").write_text(
        "\n".join(
            [
                f"ListenAddress {address}:{port}",
                f"HostKey {home / 'host_key'}",
                f"AuthorizedKeysFile {home / 'authorized_keys'}",
                f"PidFile {home / 'sshd.pid'}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                "UsePAM no",
                *lines,
                "",
            ]
        )
    )


@contextmanager
def loopback_sshd(work: Path, port: int, config_toml: str, env: Sequence[str] = ()) -> Iterator[Devices]:
    """A device that is this machine: a real sshd on 127.0.0.1:``port`` whose sessions read ``config_toml``
    (its containers run on the tests' private dockerd, whose host network is this loopback).  ``Host local``
    in its ssh config."""
    work.mkdir(parents=True, exist_ok=True)
    key = work / "id_ed25519"
    _quiet(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    home = work / "local"
    home.mkdir()
    (home / "config.toml").write_text(config_toml)
    write_sshd_config(home, "127.0.0.1", port, key, env=env)
    Path("/run/sshd").mkdir(exist_ok=True)
    proc = subprocess.Popen([SSHD, "-D", "-f", str(home / "sshd_config"), "-E", str(home / "sshd.log")])
    ns = Namespace("local", "127.0.0.1", "", home, [proc])
    known = work / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {(home / 'host_key.pub').read_text()}")
    config = work / "ssh_config"
    config.write_text(
        f"Host local\n  HostName 127.0.0.1\n  Port {port}\n  IdentityFile {key}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n  User root\n"
    )
    try:
        _wait_ssh(ns, config, "local")
        yield Devices([ns], config, known, key)
    finally:
        end(proc)


def _wait_ssh(ns: Namespace, config: Path, target: str = "") -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        probe = ["ssh", "-F", str(config), "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", target or ns.address]
        probe.append("true")
        if subprocess.run(probe, capture_output=True, timeout=10).returncode == 0:
            return
        time.sleep(0.1)  # sshd is starting: poll until it answers
    log = (ns.home / "sshd.log").read_text(errors="replace") if (ns.home / "sshd.log").exists() else ""
    raise AssertionError(f"sshd in {ns.name} did not answer within {START_S:.0f}s: {log[-2000:]}")


def _remove(ns: Namespace) -> None:
    for proc in ns.processes:
        end(proc)
    pids = subprocess.run(["ip", "netns", "pids", ns.name], capture_output=True, text=True).stdout.split()
    for pid in pids:  # sessions sshd started
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            pass
    subprocess.run(["ip", "link", "del", ns.link], capture_output=True)
    subprocess.run(["ip", "netns", "del", ns.name], capture_output=True)


def _ip(*args: str) -> None:
    _quiet(["ip", *args])


def _quiet(argv: list[str]) -> None:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {out.stderr.strip()}")
