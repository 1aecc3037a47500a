"""A node's network interfaces as ``ip -j addr`` prints them (pure): which are up, their MTU and IPv4
addresses, for the plan to offer and the preflight to check.  The text is the node's: untrusted, decoded
against the shape iproute2 gives, names cleaned."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from console.runtime.sanitise import clean

COMMAND = "ip -j addr show"


@dataclass(frozen=True)
class Interface:
    name: str
    up: bool  # its operational state is UP (or UNKNOWN with the UP flag: a veth's peer, a tunnel)
    mtu: int | None
    ipv4: tuple[str, ...]


def parse(text: str) -> list[Interface]:
    """The interfaces in ``ip -j addr`` output; ValueError saying what is wrong with it."""
    try:
        doc: Any = json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError("ip -j addr printed no JSON: is iproute2 there?") from None
    if not isinstance(doc, list):
        raise ValueError("ip -j addr printed something else than a list of interfaces")
    out = []
    for item in doc:
        if not isinstance(item, dict) or not isinstance(item.get("ifname"), str):
            continue
        raw_flags, raw_mtu, raw_addresses = item.get("flags"), item.get("mtu"), item.get("addr_info")
        flags: list[Any] = raw_flags if isinstance(raw_flags, list) else []
        state = item.get("operstate")
        up = state == "UP" or (state == "UNKNOWN" and "UP" in flags and "LOWER_UP" in flags)
        mtu = raw_mtu if isinstance(raw_mtu, int) and not isinstance(raw_mtu, bool) else None
        addresses: list[Any] = raw_addresses if isinstance(raw_addresses, list) else []
        ipv4 = tuple(
            clean(str(a["local"]))
            for a in addresses
            if isinstance(a, dict) and a.get("family") == "inet" and isinstance(a.get("local"), str)
        )
        out.append(Interface(clean(item["ifname"]), up, mtu, ipv4))
    return out


def offered(interfaces: list[Interface]) -> list[Interface]:
    """The ones a plan can use: up, with an IPv4 address, not loopback."""
    return [i for i in interfaces if i.up and i.ipv4 and i.name != "lo"]
