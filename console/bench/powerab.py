"""Power-mode A/B for a bench: switch nvpmodel modes or jetson_clocks through jtop, then put back.

A spec is an nvpmodel mode (name or ID, as ``nvpmodel -q`` shows it), ``clocks-on`` or
``clocks-off``.  ``restore`` returns the mode and jetson_clocks to what ``snapshot_state``
read before the first change, whatever happened in between.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from console.doctor import power
from console.doctor.power import JTOP_SOCKET, PowerState

CLOCKS = {"clocks-on": True, "clocks-off": False}


class PowerABError(Exception):
    """A mode could not be set: the A/B stops (the original mode is still restored)."""


def parse_specs(text: str) -> tuple[str, ...]:
    """``"MAXN,30W"`` → ("MAXN", "30W"); at least two, no repeats."""
    specs = tuple(s.strip() for s in text.split(",") if s.strip())
    if len(specs) < 2:
        raise ValueError("a power A/B needs two modes or more, e.g. --power-ab MAXN,30W or clocks-off,clocks-on")
    if len(set(specs)) != len(specs):
        raise ValueError(f"a mode is named twice in {text!r}")
    return specs


class JtopPower:
    """Reads and changes the power mode through the jtop service: the runtime's one connection where its
    jtop source is open in this process (the app, ``jetconsole bench``), else one short connection per call
    (``doctor.jtop_client.connect`` decides)."""

    def __init__(self, factory: Callable[[], Any] | None = None, socket_path: str | None = JTOP_SOCKET) -> None:
        self.factory = factory
        self.socket_path = socket_path

    def snapshot_state(self) -> PowerState:
        try:
            return power.read_power(self.factory, self.socket_path)
        except power.PowerUnavailable as exc:
            raise PowerABError(f"{exc.reason}; a power A/B needs the jtop service. {exc.hint}".strip()) from exc

    def apply(self, spec: str) -> str:
        try:
            if spec in CLOCKS:
                result = power.set_clocks(CLOCKS[spec], self.factory, self.socket_path)
            else:
                result = power.set_mode(spec, self.factory, self.socket_path)
        except (power.PowerUnavailable, power.PowerError, ValueError) as exc:
            raise PowerABError(f"cannot switch to {spec}: {getattr(exc, 'reason', exc)}") from exc
        if not result.ok:
            raise PowerABError(result.line())
        return result.line()

    def restore(self, original: PowerState) -> list[str]:
        """Put the mode and jetson_clocks back; says what it did or could not do."""
        done: list[str] = []
        try:
            now = power.read_power(self.factory, self.socket_path)
            if original.mode_id is not None and now.mode_id != original.mode_id:
                done.append("restored " + power.set_mode(original.mode_id, self.factory, self.socket_path).line())
            if original.clocks is not None and now.clocks != original.clocks:
                done.append("restored " + power.set_clocks(original.clocks, self.factory, self.socket_path).line())
        except Exception as exc:  # noqa: BLE001 - say it: the user must put the mode back by hand
            done.append(
                f"could NOT restore the power mode ({original.summary()}): {exc}; "
                f"set it back with: sudo nvpmodel -m {original.mode_id}"
            )
        return done or [f"power mode unchanged at the end: {original.summary()}"]
