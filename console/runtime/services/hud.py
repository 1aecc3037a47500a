"""The HUD's facts: the help flag's file (read every second) and this host's name and address."""

from __future__ import annotations

from pathlib import Path

from console.hud import helpflag
from console.hud.host import hostname, primary_ip
from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Lifecycle

HELP_POLL_S = 1.0
HOST_POLL_S = 60.0


def start_hud_sources(hub: Hub, flag_path: Path) -> None:
    """Emit the help flag and the host's name and address whenever they change."""
    last_flag: list[tuple[bool, float | None] | None] = [None]
    last_host: list[tuple[str, str] | None] = [None]

    def read_flag(_life: Lifecycle) -> None:
        on = helpflag.read(flag_path)
        now = (on, helpflag.since(flag_path) if on else None)
        if now != last_flag[0]:
            hub.emit(ev.HelpFlagRead(*now))
            last_flag[0] = now

    def read_host(_life: Lifecycle) -> None:
        now = (hostname(), primary_ip())
        if now != last_host[0]:
            hub.emit(ev.HostRead(*now))
            last_host[0] = now

    hub.runner.every("help-flag", read_flag, HELP_POLL_S)
    hub.runner.every("host", read_host, HOST_POLL_S)


def set_help_flag(hub: Hub, on: bool, flag_path: Path) -> None:
    """Write the flag in a thread; the state follows, or a notice says why it did not change."""

    def work(_life: Lifecycle) -> None:
        try:
            helpflag.write(on, flag_path)
        except OSError as exc:
            hub.emit(ev.Notice(f"help flag not changed: {exc}", "error", 6))
            return
        hub.emit(ev.HelpFlagRead(on, helpflag.since(flag_path) if on else None))

    hub.runner.spawn("help-flag-write", work)
