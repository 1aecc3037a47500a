"""The HUD's first line: this machine's hostname and the IPv4 address others reach it on."""

from __future__ import annotations

import socket

from console.runtime.sanitise import clean


def hostname() -> str:
    """The hostname, cleaned: whoever set it (DHCP may) chooses its bytes."""
    return clean(socket.gethostname())


def primary_ip() -> str:
    """The address of the interface with the default route (a UDP "connect" sends nothing); else any
    non-loopback address the hostname resolves to; else "no network"."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere, no packet leaves
            ip = s.getsockname()[0]
            if ip and not ip.startswith("127."):
                return ip
    except OSError:
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            ip = str(info[4][0])
            if not ip.startswith("127."):
                return ip
    except OSError:
        pass
    return "no network"
