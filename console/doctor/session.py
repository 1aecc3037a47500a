"""The doctor inside the app (pure, no Textual): what the checks run with, the banner, the in-app fixes.

The app reruns ``DoctorSetup.run`` on a timer and after every fix; the dashboard shows
``banner_text``; the Doctor screen offers ``in_app_fix`` on Enter and the check's own fix
text otherwise.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from console.doctor.audit import audit
from console.doctor.check import FAIL, OK, SKIP, WARN, Check, Probe
from console.doctor.checks import run_all
from console.doctor.daemon_json import RUNTIME_PATH
from console.telemetry.model import Board

DISCOVERY_WAIT_S = 15.0  # the checks run without the runtime's sources after this (a hung jtop service)
DEFAULT_INTERVAL_S = 300.0  # a full run asks Docker, NVML and jtop: cheap, but nothing changes by the second
Audit = Callable[[str, dict[str, Any]], None]


def _audit(event: str, data: dict[str, Any]) -> None:
    audit(event, data)


@dataclass
class DoctorSetup:
    """Where the checks look and how fixes restart Docker; ``checks`` is ``run_all`` except in tests."""

    probe: Probe = field(default_factory=Probe)
    interval: float = DEFAULT_INTERVAL_S  # 0: only on demand (r) and after fixes
    restart_cmd: str = ""
    verify_image: str | None = None
    checks: Callable[[Probe], list[Check]] = run_all
    audit: Audit = _audit
    runtime_path: str = RUNTIME_PATH  # the NVIDIA runtime binary the daemon.json fix points Docker at
    restart: Callable[[], None] | None = None  # restarts Docker instead of restart_cmd (a private dockerd in tests)
    clock: Callable[[], float] = time.time  # when a run finished (fixed in snapshot tests)

    def run(self, board: Board | None = None) -> list[Check]:
        """One full run, on a fresh copy of the probe (the Docker check fills in ``docker_info``); ``board``: the
        board facts the runtime's telemetry reports (jtop's L4T, JetPack, CUDA), which the checks read before files."""
        probe = dataclasses.replace(self.probe, docker_info=None, board=board or self.probe.board)
        try:
            return self.checks(probe)
        except Exception as exc:  # noqa: BLE001 - a broken check is itself a finding, never a crash
            return [
                Check(
                    "doctor",
                    "Doctor checks ran",
                    FAIL,
                    (f"{type(exc).__name__}: {exc}",),
                    "report this with `jetconsole doctor --json`",
                )
            ]


def after(ready: Callable[[], object], checks: Callable[[Probe], list[Check]]) -> Callable[[Probe], list[Check]]:
    """``checks`` that first wait for ``ready()`` (the runtime's sources found): the memory and power checks
    then borrow its jtop connection and NVML reader instead of opening their own."""
    first = [True]

    def run(probe: Probe) -> list[Check]:
        if first[0]:
            first[0] = False
            try:
                ready()
            except Exception:  # noqa: BLE001 - discovery failed: the checks open what they need themselves
                pass
        return checks(probe)

    return run


# check id -> what Enter does on the Doctor screen
IN_APP_FIXES = {
    "daemon-json": "show the diff; on yes back up daemon.json, write it, restart Docker, verify, roll back on failure",
    "memory": "the recovery wizard: each step asks first and shows memory before and after",
    "power": "switch to the highest power mode and jetson_clocks on through jtop (asks first; never reboots)",
}
MARK = {OK: "✓", WARN: "!", FAIL: "✗", SKIP: "·"}


def in_app_fix(check: Check) -> str | None:
    """What Enter does for ``check`` (None: nothing to apply here; the fix text says what to run)."""
    return IN_APP_FIXES.get(check.id) if check.status in (FAIL, WARN) else None


def first_problem(checks: list[Check]) -> int:
    """Index of the first failing check, else the first warning, else 0."""
    for wanted in (FAIL, WARN):
        for i, c in enumerate(checks):
            if c.status == wanted:
                return i
    return 0


def banner_text(checks: list[Check], key: str = "D") -> str | None:
    """The dashboard's one line while a check fails (None: nothing failing)."""
    failing = [c for c in checks if c.status == FAIL]
    if not failing:
        return None
    first = failing[0]
    cause = f" — {first.evidence[0]}" if first.evidence else ""
    more = f" (+{len(failing) - 1} more failing)" if len(failing) > 1 else ""
    return f"✗ Doctor: {first.title}{cause}{more} · {key}: open the fix"


def detail_text(check: Check) -> str:
    """The Doctor screen's text for one check: evidence, the fix, and what Enter does."""
    lines = [f"{MARK[check.status]} {check.status.upper()}  {check.title}", ""]
    lines += [f"  {e}" for e in check.evidence] or ["  (no evidence recorded)"]
    if check.fix and check.status != OK:
        lines += ["", f"fix: {check.fix}"]
    action = in_app_fix(check)
    idle = "Nothing to do." if check.status in (OK, SKIP) else "Enter: nothing to apply from here; run the fix above."
    lines += ["", f"Enter: {action}" if action else idle]
    return "\n".join(lines)
