"""``jetconsole agent``: the runtime headless, its state served read-only over HTTP for a fleet view or a
Prometheus (no Textual).

It listens on loopback unless told otherwise.  Beyond loopback it wants ``--allow-remote``, and a token
(``--token-file``) unless ``--no-token`` says the network may read it; it says so on start.
"""

from __future__ import annotations

import getpass
import ipaddress
import shlex
import shutil
import signal
import stat
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from console import __version__

if TYPE_CHECKING:
    from console.config import Config

DEFAULT_LISTEN = "127.0.0.1:9147"
EXIT_OK, EXIT_REFUSED = 0, 2


class AgentRefused(ValueError):
    """A listen address, token or exposure the agent will not start with; the message says what to do."""


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def parse_listen(text: str) -> Listen:
    """``HOST:PORT`` (``[::1]:9147`` for IPv6) -> Listen; AgentRefused says what is wrong."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host:
        raise AgentRefused(f"--listen {text!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN} or 0.0.0.0:9147")
    try:
        number = int(port)
    except ValueError:
        raise AgentRefused(f"--listen {text!r}: the port {port!r} is not a number") from None
    if not 0 <= number <= 65535:
        raise AgentRefused(f"--listen {text!r}: the port must be 0-65535")
    return Listen(host, number)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def read_token(path: Path) -> str:
    """The token in ``path`` (its first line); refused when unreadable, empty, or readable by others."""
    try:
        mode = path.stat().st_mode
        lines = path.read_text().strip().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentRefused(f"--token-file {path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    token = lines[0].strip() if lines else ""
    if not token:
        raise AgentRefused(
            f"--token-file {path}: it is empty; write a long random line, e.g. `openssl rand -hex 32 > {path}`"
        )
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AgentRefused(f"--token-file {path}: other users can read it; run `chmod 600 {path}`")
    return token


def exposure(listen: Listen, token: str | None, allow_remote: bool, no_token: bool) -> str:
    """What the start-up line says about who can read the agent; AgentRefused when it should not start."""
    if is_loopback(listen.host):
        return "this device only (loopback)" + (", with a token" if token else "")
    if not allow_remote:
        raise AgentRefused(
            f"--listen {listen.host}: beyond loopback the agent serves this device's state to the network; "
            "pass --allow-remote (with --token-file FILE) to mean it"
        )
    if token is None and not no_token:
        raise AgentRefused(
            f"--listen {listen.host} without a token: anyone who reaches port {listen.port} could read this device's "
            "state; pass --token-file FILE, or --no-token to allow that"
        )
    return "the network, " + ("with a token" if token else "WITHOUT a token (--no-token): anyone who reaches it")


def unit_text(listen: str, token_file: str | None, allow_remote: bool, no_token: bool, exe: str, user: str) -> str:
    """A systemd unit that runs this agent with these options (``jetconsole agent --print-unit``), as
    ``user``: the one whose config.toml and help flag the device's HUD uses, not root's."""
    argv = [exe, "agent", "--listen", listen]
    if token_file:
        argv += ["--token-file", str(Path(token_file).resolve())]
    if allow_remote:
        argv.append("--allow-remote")
    if no_token:
        argv.append("--no-token")
    return f"""# /etc/systemd/system/jetconsole-agent.service
# then: systemctl daemon-reload && systemctl enable --now jetconsole-agent
[Unit]
Description=jetconsole agent: this device's telemetry, containers and servers for a fleet view (read-only)
After=network-online.target docker.service jtop.service
Wants=network-online.target

[Service]
User={user}
ExecStart={shlex.join(argv)}
Restart=always
RestartSec=2
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
"""


def run(
    config: Config,
    listen_text: str,
    token_file: str | None,
    allow_remote: bool,
    no_token: bool,
    print_unit: bool,
    err: TextIO = sys.stderr,
    ready: threading.Event | None = None,
) -> int:
    """``jetconsole agent``: serve until SIGTERM or Ctrl-C; 0 after a clean stop, 2 when refused."""
    try:
        listen = parse_listen(listen_text)
        token = read_token(Path(token_file)) if token_file else None
        who = exposure(listen, token, allow_remote, no_token)
    except AgentRefused as exc:
        print(f"jetconsole agent: {exc}", file=err)
        return EXIT_REFUSED
    if print_unit:
        exe = shutil.which("jetconsole") or "/usr/local/bin/jetconsole"
        print(unit_text(listen_text, token_file, allow_remote, no_token, exe, getpass.getuser()), end="")
        return EXIT_OK
    from console.agent.server import AgentServer  # deferred: the CLI's parser stays quick to load
    from console.doctor.check import Probe
    from console.doctor.session import DoctorSetup
    from console.runtime.runtime import Runtime

    runtime = Runtime(config, doctor=DoctorSetup(Probe(docker_host=config.docker_host), config.doctor_interval))
    try:
        server = AgentServer(
            lambda: runtime.state,
            listen.host,
            listen.port,
            agent={"version": __version__, "refresh_s": config.refresh_interval},
            max_age=config.refresh_interval / 2,
            token=token,
        )
    except OSError as exc:
        print(f"jetconsole agent: cannot listen on {listen.host}:{listen.port}: {exc.strerror or exc}", file=err)
        return EXIT_REFUSED
    host, port = server.address
    server.agent["listen"] = f"{host}:{port}"
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        runtime.start()
    except BaseException:
        server.stop()
        raise
    server.start()
    shown = Listen(host, port).url
    print(
        f"jetconsole agent {__version__}: {shown}/metrics, {shown}/v1/state, {shown}/health — read-only, for {who}",
        file=err,
        flush=True,
    )
    if ready is not None:
        ready.set()
    try:
        # with a limit: a SIGTERM may be delivered to another thread (after a SIGSTOP it was), and Python runs
        # the handler only when the main thread next runs; an endless wait never did (benchmarks/fleet_refresh.py)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        runtime.stop(2.0)
    return EXIT_OK
