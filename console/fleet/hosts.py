"""The fleet's devices: a hosts file (``--hosts FILE``), one device a line.

::

    # name     agent URL                    optional: ssh=TARGET group=NAME tags=a,b token=FILE
    thor-01    http://10.0.0.101:9147       ssh=nvidia@10.0.0.101 group=rack-a
    spark      http://spark.local:9147      tags=desk,client
    orin-07    -                            ssh=nvidia@10.0.0.107     # no agent: read over SSH

Blank lines and ``#`` comments are skipped.  A mistake is refused with file:line and what to do:
a missing or bad URL, an unknown ``key=``, a name given twice.  Nothing here reads the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from console.config_error import ConfigError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
KEYS = ("ssh", "group", "tags", "token")
# user@host or a Host alias: letters, digits, ".", "_", "-" (no shell or ssh syntax rides in; an IPv6 address
# or a port goes in a Host block of the ssh config)
SSH_TARGET = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9._-]{0,31}@)?[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$")


@dataclass(frozen=True)
class Device:
    """One device of the fleet: where its agent answers, and how to reach it over SSH when it may."""

    name: str
    url: str  # the agent's root, no trailing slash; "" for a device read over SSH (no agent)
    ssh: str | None = None  # an ssh destination (user@host, or a Host of ~/.ssh/config)
    group: str = ""
    tags: tuple[str, ...] = ()
    token_file: str | None = None  # the agent's bearer token (the file's first line)
    line: int = 0  # where it was defined (0: config.toml)


def parse_hosts(text: str, path: Path | None = None) -> tuple[Device, ...]:
    """The devices ``text`` lists; ConfigError(path, line, key, what to do) at the first mistake."""
    devices: list[Device] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if len(words) < 2:
            raise ConfigError(path, number, None, f"expected NAME URL [key=value ...], got {line!r}")
        name, url, *options = words
        if not NAME.match(name):
            raise ConfigError(path, number, name, "a name is letters, digits, '.', '_' or '-' (at most 63)")
        if name in seen:
            raise ConfigError(path, number, name, f"this name is already on line {seen[name]}: names must be unique")
        settings: dict[str, str] = {}
        for option in options:
            key, sep, value = option.partition("=")
            if not sep or key not in KEYS:
                raise ConfigError(
                    path, number, name, f"unknown setting {option!r} (known: {', '.join(k + '=' for k in KEYS)})"
                )
            if not value:
                raise ConfigError(path, number, name, f"{key}= needs a value")
            if key == "ssh" and not SSH_TARGET.match(value):
                raise ConfigError(
                    path, number, name, f"ssh={value}: a destination is user@host or a Host name of your ssh config"
                )
            settings[key] = value
        if url == "-" and "ssh" not in settings:
            raise ConfigError(path, number, name, "'-' (no agent) needs ssh=TARGET to read the device over SSH")
        seen[name] = number
        devices.append(
            Device(
                name=name,
                url="" if url == "-" else agent_url(url, path, number, name),
                ssh=settings.get("ssh"),
                group=settings.get("group", ""),
                tags=tuple(t for t in settings.get("tags", "").split(",") if t),
                token_file=settings.get("token"),
                line=number,
            )
        )
    return tuple(devices)


def load_hosts(path: Path) -> tuple[Device, ...]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            path, None, None, f"cannot read the hosts file: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    return parse_hosts(text, path)


def agent_url(text: str, path: Path | None, line: int, name: str) -> str:
    """``http(s)://host[:port]`` (a path is kept, a trailing slash dropped); ConfigError otherwise."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(path, line, name, f"{text!r} is not an agent URL such as http://10.0.0.101:9147")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(path, line, name, f"{text!r}: the port is not a number from 1 to 65535") from None
    return text.rstrip("/")
