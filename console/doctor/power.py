"""Power: the nvpmodel mode and jetson_clocks, read and switched through the jtop service.

No Textual.  Everything goes through a ``jtop()`` client (``factory`` is a parameter, so the
tests hand in fakes); the service does the privileged work, so a user in the ``jtop`` group
needs no sudo.  This module never reboots and never forces a mode.

What jetson-stats 7.2.2 does (read in its source, ``jtop/core/nvpmodel.py``,
``core/jetson_clocks.py``, ``service.py``, ``gui/pcontrol.py``):

- ``jetson.nvpmodel.status`` is one bool per mode.  At service start a mode is False when its
  ``TPC_POWER_GATING TPC_PG_MASK`` (from ``nvpmodel -p --verbose``) differs from the current
  mode's; the service then refuses a non-forced switch to it ("has a different mask ... is not
  compatible").  After a non-forced ``nvpmodel -m ID`` (stdin /dev/null), ``status[ID]``
  becomes False when the output holds ``NVPM ERROR``, the exit status is non-zero, or it times
  out.  jtop's own GUI answers a False status with "Required a reboot to apply this change"
  and a "Force and reboot" button: ``force=True`` pipes ``YES`` into nvpmodel's reboot prompt
  and the board reboots.  So here: status False = "needs a reboot"; force is never used.
- While it switches modes with jetson_clocks on (and its config stored), jtop turns
  jetson_clocks off, runs nvpmodel, and turns it back on; ``nvpmodel.is_running()`` is True
  meanwhile.  The service ignores a new request while one runs.
- jetson_clocks is controllable only when ``/usr/bin/jetson_clocks`` (or
  ``/home/nvidia/jetson_clocks.sh``) exists; the service runs ``--show``, ``--store FILE``
  once (before the first "on"), no argument for on, ``--restore FILE`` for off.  "On" is
  judged from sysfs (online CPUs min == max, GPU min == max, EMC cur == max).  When
  jetson_clocks was already on before jtop stored that file the status is "uncontrolled"
  and the client refuses to switch it off.

What the real nvpmodel does (third-party reports found through the code index; NVIDIA's own
docs were not read for this): a change that alters online CPUs or GPU power gating prints
``NVPM WARN: Reboot required for changing to this power mode: N`` and ``NVPM WARN: DO YOU
WANT TO REBOOT NOW? enter YES/yes to confirm:``; declined or without input it ends with
``NVPM ERROR: ... no request for power mode`` and the mode is unchanged.  Reported cases:
Thor 90W/70W (GPU power-gating mask 15873 vs 64 for MAXN/120W), a JetPack 6.2 AGX Orin going
MODE_30W -> MAXN, Orin Nano 7W (6 -> 4 cores; 15W/25W/MAXN switch live).  jtop does not parse
Thor's GPU power-gating mask, so there the reboot shows up only after the attempt.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console.doctor.audit import audit as write_audit
from console.doctor.check import OK, SKIP, WARN, Check
from console.doctor.jtop_client import JTOP_SOCKET, PowerUnavailable, connect

TITLE = "Power: nvpmodel at its highest mode, jetson_clocks on"
BUSY_CLOCKS = ("booting", "activating", "deactivating")
SETTLE_S = 3.0  # a refused switch leaves no trace but an unchanged mode: how long to watch for one
NEVER_REBOOTS = "jetconsole never reboots and never forces a mode"


class PowerError(Exception):
    """A request that cannot be made (unknown mode, jetson_clocks absent)."""


@dataclass(frozen=True)
class PowerState:
    """What jtop said at one tick."""

    mode: str | None = None  # None: jtop has no nvpmodel here
    mode_id: int | None = None
    modes: tuple[str, ...] = ()  # jtop's list: the index is the nvpmodel ID
    default: str | None = None
    mode_ok: tuple[bool, ...] = ()  # jtop's nvpmodel.status: False = needs a reboot (or last try failed)
    mode_busy: bool = False  # jtop is running nvpmodel now
    clocks: bool | None = None  # None: jetson_clocks not available
    clocks_status: str = ""  # running, inactive, uncontrolled, booting, activating, deactivating
    clocks_config: bool = False  # jtop stored the clock config; without it it cannot switch them off
    board: str = ""

    @property
    def best(self) -> str | None:
        return max_mode(self.modes)

    def ok_for(self, mode_id: int) -> bool:
        return mode_id >= len(self.mode_ok) or self.mode_ok[mode_id]

    def reboot_marked(self) -> tuple[str, ...]:
        return tuple(m for i, m in enumerate(self.modes) if not self.ok_for(i))

    def mode_text(self) -> str:
        return "nvpmodel not available" if self.mode is None else f"nvpmodel {self.mode} (id {self.mode_id})"

    def clocks_text(self) -> str:
        if self.clocks is None:
            return "jetson_clocks not available"
        state = "on" if self.clocks else "off"
        return f"jetson_clocks {state}" + (
            f" ({self.clocks_status})" if self.clocks_status not in ("", "running", "inactive") else ""
        )

    def summary(self) -> str:
        return f"{self.mode_text()}, {self.clocks_text()}"

    def modes_text(self) -> str:
        default = f"; default {self.default}" if self.default else ""
        return "modes: " + ", ".join(f"{i} {m}" for i, m in enumerate(self.modes)) + default


def max_mode(modes: tuple[str, ...] | list[str]) -> str | None:
    """The mode to serve in: MAXN_SUPER, else MAXN*, else the most watts in the name, else ID 0."""
    if not modes:
        return None
    maxn = [m for m in modes if m.upper().startswith("MAXN")]
    if maxn:
        return next((m for m in maxn if "SUPER" in m.upper()), maxn[0])
    watts = [(int(w.group(1)), -i, m) for i, m in enumerate(modes) if (w := re.search(r"(\d+)W", m.upper()))]
    return max(watts)[2] if watts else modes[0]


def resolve_mode(state: PowerState, target: str | int) -> tuple[int, str]:
    """``MAXN`` / ``maxn`` / ``0`` -> (0, "MAXN"); PowerError with the list otherwise."""
    if state.mode is None:
        raise PowerError("jtop reports no nvpmodel on this board")
    text = str(target).strip()
    if text.isdigit() and int(text) < len(state.modes):
        return int(text), state.modes[int(text)]
    for i, m in enumerate(state.modes):
        if m.lower() == text.lower():
            return i, m
    raise PowerError(f"no power mode {text!r}; {state.modes_text()}")


def judge(state: PowerState) -> Check:
    """ok: highest mode and jetson_clocks on (or absent); warn: anything less, with the command."""
    if state.mode is None and state.clocks is None:
        return Check("power", TITLE, SKIP, ("jtop reports neither nvpmodel nor jetson_clocks on this board",))
    seen = [state.mode_text() + (f"; {state.modes_text()}" if state.modes else ""), state.clocks_text()]
    if marked := state.reboot_marked():
        seen.append(
            f"jtop marks {', '.join(marked)} as needing a reboot (different GPU power gating, or "
            "nvpmodel refused it without one)"
        )
    best = state.best
    at_max = state.mode is None or state.mode == best
    clocks_ok = state.clocks is None or state.clocks
    if at_max and clocks_ok:
        return Check("power", TITLE, OK, tuple(seen))
    if not at_max:
        seen.append(f"serving wants {best}: lower modes cap CPU/GPU/memory clocks")
    if not clocks_ok:
        seen.append("jetson_clocks off: CPU/GPU/memory clocks follow the load instead of staying at the mode's maximum")
    parts = (["--power-mode", str(best)] if not at_max else []) + (["--clocks", "on"] if not clocks_ok else [])
    fix = "jetconsole doctor " + " ".join(parts)
    if not at_max:
        best_id = state.modes.index(best) if best in state.modes else 0
        if best in marked:
            fix += (
                f"; jtop says {best} needs a reboot: run sudo nvpmodel -m {best_id} and answer YES "
                f"(the board reboots; {NEVER_REBOOTS})"
            )
        else:
            fix += f" (nvpmodel may still ask for a reboot when the mode changes online CPUs; {NEVER_REBOOTS})"
    if not clocks_ok and state.clocks_status == "uncontrolled":
        fix += "; jtop cannot control jetson_clocks here (it was on before jtop started)"
    return Check("power", TITLE, WARN, tuple(seen), fix)


# --- reading and switching through the jtop client ---------------------------------------


def read_state(j: Any) -> PowerState:
    """Copy what the client holds now into a ``PowerState``."""
    fields: dict[str, Any] = {}
    nvp = j.nvpmodel
    if nvp is not None:
        try:
            fields.update(mode=nvp.name, mode_id=nvp.id)
        except KeyError:  # no reading yet
            pass
        default = nvp.get_default() or {}
        fields.update(
            modes=tuple(nvp.models),
            default=default.get("name"),
            mode_ok=tuple(bool(s) for s in (nvp.status or ())),
            mode_busy=bool(nvp.is_running()),
        )
    jc = j.jetson_clocks
    if jc is not None:
        fields.update(clocks=bool(jc), clocks_status=str(jc.status or ""), clocks_config=bool(jc.is_config()))
    hardware = (getattr(j, "board", None) or {}).get("hardware") or {}
    fields["board"] = str(hardware.get("Model", ""))
    return PowerState(**fields)


def _tick(j: Any) -> PowerState:
    if not j.ok():
        raise PowerUnavailable("the jtop service stopped", "sudo systemctl restart jtop.service")
    return read_state(j)


@dataclass(frozen=True)
class ChangeResult:
    what: str  # "mode" | "clocks"
    target: str
    before: PowerState
    after: PowerState
    ok: bool  # the after-reading shows the target
    reboot_needed: bool = False
    message: str = ""

    def line(self) -> str:
        mark = "done" if self.ok else "REBOOT NEEDED" if self.reboot_needed else "FAILED"
        return f"{self.what} -> {self.target}: {mark}: {self.message}"


def check_power(factory: Callable[[], Any] | None = None, socket_path: str | None = JTOP_SOCKET) -> Check:
    """The doctor check (id ``power``)."""
    try:
        with connect(factory, socket_path) as j:
            state = read_state(j)
    except PowerUnavailable as exc:
        return Check("power", TITLE, SKIP if exc.skip else WARN, (exc.reason,), exc.hint)
    return judge(state)


def read_power(factory: Callable[[], Any] | None = None, socket_path: str | None = JTOP_SOCKET) -> PowerState:
    with connect(factory, socket_path) as j:
        return read_state(j)


def set_mode(
    target: str | int,
    factory: Callable[[], Any] | None = None,
    socket_path: str | None = JTOP_SOCKET,
    timeout: float = 30.0,
) -> ChangeResult:
    """Ask jtop for ``target`` (name or ID), wait, read back.  Never forces, never reboots."""
    with connect(factory, socket_path) as j:
        return change_mode(j, target, timeout)


def set_clocks(
    on: bool, factory: Callable[[], Any] | None = None, socket_path: str | None = JTOP_SOCKET, timeout: float = 20.0
) -> ChangeResult:
    """Switch jetson_clocks through jtop, wait, read back."""
    with connect(factory, socket_path) as j:
        return change_clocks(j, on, timeout)


def change_mode(j: Any, target: str | int, timeout: float = 30.0) -> ChangeResult:
    before = read_state(j)
    mode_id, name = resolve_mode(before, target)
    if before.mode_id == mode_id:
        return ChangeResult("mode", name, before, before, True, message=f"already {name}")
    deadline = time.monotonic() + timeout
    while before.mode_busy and time.monotonic() < deadline:  # the service ignores requests meanwhile
        before = _tick(j)
    predicted = not before.ok_for(mode_id)
    j.nvpmodel = mode_id  # jtop: set_nvpmodel_id(mode_id, force=False)
    sent, seen_busy, state = time.monotonic(), False, before
    while time.monotonic() < deadline:
        state = _tick(j)
        seen_busy |= state.mode_busy
        if state.mode_busy:
            continue
        if state.mode_id == mode_id:
            # jtop turns jetson_clocks back on after the switch; give the reading a moment to follow
            grace = time.monotonic() + SETTLE_S
            while before.clocks and not state.clocks and time.monotonic() < min(grace, deadline):
                state = _tick(j)
            break
        if not state.ok_for(mode_id) and (not predicted or seen_busy or time.monotonic() - sent > SETTLE_S):
            break
    if state.mode_id == mode_id:
        return ChangeResult("mode", name, before, state, True, message=f"{before.mode} -> {state.mode}")
    if not state.ok_for(mode_id):
        why = (
            "jtop marked it as needing a reboot before the attempt (different GPU power gating)"
            if predicted
            else "nvpmodel refused it without a reboot"
        )
        return ChangeResult(
            "mode",
            name,
            before,
            state,
            False,
            True,
            f"still {state.mode}: {why}; to apply it run sudo nvpmodel -m {mode_id} and answer "
            f"YES (the board reboots); {NEVER_REBOOTS}",
        )
    return ChangeResult(
        "mode",
        name,
        before,
        state,
        False,
        message=f"still {state.mode} after {timeout:.0f} s; jtop did not report a result",
    )


def change_clocks(j: Any, on: bool, timeout: float = 20.0) -> ChangeResult:
    before = read_state(j)
    target = "on" if on else "off"
    if before.clocks is None:
        raise PowerError("jetson_clocks is not available through jtop here (no /usr/bin/jetson_clocks)")
    if before.clocks == on:
        return ChangeResult("clocks", target, before, before, True, message=f"already {target}")
    if not on and not before.clocks_config:
        return ChangeResult(
            "clocks",
            target,
            before,
            before,
            False,
            message="jtop has no stored clock config (jetson_clocks was on before jtop started), "
            "so it cannot restore the clocks: run sudo jetson_clocks --restore with a saved "
            "config, or reboot",
        )
    deadline = time.monotonic() + timeout
    state = before
    while state.clocks_status in BUSY_CLOCKS and time.monotonic() < deadline:
        state = _tick(j)
    j.jetson_clocks = on
    while time.monotonic() < deadline:
        state = _tick(j)
        if state.clocks == on and state.clocks_status not in BUSY_CLOCKS:
            break
    if state.clocks == on:
        return ChangeResult(
            "clocks", target, before, state, True, message=f"{before.clocks_text()} -> {state.clocks_text()}"
        )
    return ChangeResult("clocks", target, before, state, False, message=f"{state.clocks_text()} after {timeout:.0f} s")


def to_serving(
    factory: Callable[[], Any] | None = None,
    socket_path: str | None = JTOP_SOCKET,
    audit: Callable[[str, dict[str, Any]], None] | None = None,
    timeout: float = 30.0,
) -> list[ChangeResult]:
    """The Doctor screen's fix: the highest mode (``max_mode``), then jetson_clocks on; what each did.

    Never forces or reboots: a mode nvpmodel refuses comes back with ``reboot_needed``.
    """
    results = []
    with connect(factory, socket_path) as j:
        before = read_state(j)
        if before.mode is not None and before.best and before.mode != before.best:
            r = change_mode(j, before.best, timeout)
            results.append(r)
            if audit:
                audit(
                    "power.mode",
                    {
                        "from": r.before.mode,
                        "to": r.target,
                        "after": r.after.mode,
                        "ok": r.ok,
                        "reboot_needed": r.reboot_needed,
                        "message": r.message,
                    },
                )
        if read_state(j).clocks is False:
            r = change_clocks(j, True, timeout)
            results.append(r)
            if audit:
                audit(
                    "power.clocks",
                    {"from": r.before.clocks, "to": True, "after": r.after.clocks, "ok": r.ok, "message": r.message},
                )
    return results


# --- the command -----------------------------------------------------------------------------


def add_power_arguments(parser: argparse.ArgumentParser) -> None:
    """``--power-mode`` and ``--clocks`` (``--yes``/``--dry-run`` are the doctor's own)."""
    parser.add_argument(
        "--power-mode",
        metavar="NAME|ID",
        default=None,
        help="switch the nvpmodel power mode through jtop (asks first; never reboots)",
    )
    parser.add_argument(
        "--clocks", choices=["on", "off"], default=None, help="switch jetson_clocks through jtop (asks first)"
    )


def power_command(
    args: argparse.Namespace,
    factory: Callable[[], Any] | None = None,
    socket_path: str | None = JTOP_SOCKET,
    ask: Callable[[str, str], bool] | None = None,
    audit: Callable[[str, dict[str, Any]], None] | None = None,
    timeout: float = 30.0,
) -> int:
    """``jetconsole doctor --power-mode NAME|ID [--clocks on|off] [--yes] [--dry-run]``.

    ``ask(title, text)``: the yes/no before any change (the CLI's runtime's ask port; a terminal
    prompt by default).  Through ``connect``: the runtime's jtop connection where one is open.
    0 applied (or nothing to do); 1 a reboot is needed, declined, or a dry run; 2 could not.
    """
    if audit is None:
        audit = write_audit
    if ask is None:
        ask = terminal_yes
    want_mode, want_clocks = getattr(args, "power_mode", None), getattr(args, "clocks", None)
    if want_mode is None and want_clocks is None:
        print("nothing asked: pass --power-mode NAME|ID and/or --clocks on|off", file=sys.stderr)
        return 2
    try:
        with connect(factory, socket_path) as j:
            return _run(j, args, want_mode, want_clocks, ask, audit, timeout)
    except PowerUnavailable as exc:
        print(f"power: {exc.reason}", file=sys.stderr)
        if exc.hint:
            print(f"  fix: {exc.hint}", file=sys.stderr)
        return 2


def terminal_yes(_title: str, text: str) -> bool:
    """``text [y/N]`` on the terminal; a closed stdin is a no."""
    try:
        return input(f"{text} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:  # no terminal
        print()
        return False


def _run(
    j: Any,
    args: argparse.Namespace,
    want_mode: str | None,
    want_clocks: str | None,
    ask: Callable[[str, str], bool],
    audit: Callable[[str, dict[str, Any]], None],
    timeout: float,
) -> int:
    before = read_state(j)
    print(f"power (through jtop{', ' + before.board if before.board else ''}): {before.summary()}")
    if before.modes:
        print(f"  {before.modes_text()}")
    plan: list[tuple[str, Any, str]] = []
    try:
        if want_mode is not None:
            mode_id, name = resolve_mode(before, want_mode)
            if mode_id != before.mode_id:
                note = (
                    f" (jtop marks {name} as needing a reboot: expect a refusal)" if not before.ok_for(mode_id) else ""
                )
                plan.append(("mode", mode_id, f"set nvpmodel {before.mode} -> {name} (id {mode_id}){note}"))
        if want_clocks is not None:
            on = want_clocks == "on"
            if before.clocks is None:
                raise PowerError("jetson_clocks is not available through jtop here (no /usr/bin/jetson_clocks)")
            if before.clocks != on:
                plan.append(("clocks", on, f"switch jetson_clocks {want_clocks}"))
    except PowerError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    if not plan:
        print(f"nothing to do: already {before.summary()}")
        return 0
    print("plan:" + (" (dry run, nothing done)" if args.dry_run else ""))
    for _what, _value, text in plan:
        print(f"  - {text}")
    print(f"  {NEVER_REBOOTS}: a mode nvpmodel can only apply at boot is reported, not applied")
    if args.dry_run:
        return 1
    confirmed = bool(args.yes) or ask("Switch power mode?", "apply?")
    audit("power.confirm", {"plan": [text for *_, text in plan], "confirmed": confirmed})
    if not confirmed:
        print("nothing changed")
        return 1
    results = []
    for what, value, _text in plan:
        if what == "mode":
            print(f"switching to {before.modes[value]} (waiting for jtop, up to {timeout:.0f} s)...", flush=True)
            result = change_mode(j, value, timeout)
            audit(
                "power.mode",
                {
                    "from": result.before.mode,
                    "to": result.target,
                    "after": result.after.mode,
                    "ok": result.ok,
                    "reboot_needed": result.reboot_needed,
                    "message": result.message,
                },
            )
        else:
            result = change_clocks(j, value, timeout)
            audit(
                "power.clocks",
                {
                    "from": result.before.clocks,
                    "to": value,
                    "after": result.after.clocks,
                    "ok": result.ok,
                    "message": result.message,
                },
            )
        print(f"  {result.line()}")
        results.append(result)
    after = read_state(j)
    print(f"before: {before.summary()}")
    print(f"after:  {after.summary()}")
    if all(r.ok for r in results):
        return 0
    if any(r.reboot_needed for r in results):
        print("warning: a reboot is needed to apply the power mode (nothing was rebooted)", file=sys.stderr)
        return 1
    return 2


def main(argv: list[str] | None = None) -> int:
    """``python -m console.doctor.power`` - the same as ``jetconsole doctor --power-mode ...``."""
    parser = argparse.ArgumentParser(prog="python -m console.doctor.power", description=__doc__.splitlines()[0])
    add_power_arguments(parser)
    parser.add_argument("--yes", action="store_true", help="do not ask")
    parser.add_argument("--dry-run", action="store_true", help="show the plan; change nothing")
    args = parser.parse_args(argv)
    if args.power_mode is None and args.clocks is None:
        check = check_power()
        print(f"{check.status.upper()}  {check.title}")
        for line in check.evidence:
            print(f"      {line}")
        if check.fix and check.status != OK:
            print(f"      fix: {check.fix}")
        return 0 if check.status in (OK, SKIP) else 1
    return power_command(args)


if __name__ == "__main__":
    sys.exit(main())
