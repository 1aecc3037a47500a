"""``jetconsole doctor [--json] [--python PATH] [--image IMAGE] [--model REPO_OR_DIR]
[--fix daemon-json [--yes] [--dry-run]]``.

It runs the runtime headless: its telemetry (the one jtop connection and NVML reader the memory and
power checks and switches borrow) and the doctor service, which runs the checks once the sources are
found.  Every question goes through the runtime's ``ask`` port, answered on the terminal.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.doctor.audit import audit
from console.doctor.check import FAIL, Probe, exit_code
from console.doctor.checks import run_all
from console.doctor.daemon_fix import apply_fix, docker_verifier, plan_fix, restart_command, run_command
from console.doctor.daemon_json import DaemonJsonError
from console.doctor.power import add_power_arguments, terminal_yes
from console.doctor.recovery import DEFAULT_BASELINE_GIB, STEPS
from console.doctor.session import DISCOVERY_WAIT_S, after
from console.runtime.sanitise import json_text
from console.runtime.secrets import mask_data, mask_prose

if TYPE_CHECKING:
    from console.config import Config
    from console.doctor.check import Check
    from console.runtime.runtime import Runtime
    from console.telemetry.discovery import Discovery

MARK = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "·"}
CHECKS_WAIT_S = 3600.0  # an image's stack check starts a container: minutes, not hours


def terminal_ask(title: str, text: str, _strict: bool = True) -> bool:
    """The runtime's ask port on a terminal: ``text [y/N]``; a closed stdin is a no."""
    return terminal_yes(title, text)


def terminal_word(text: str) -> str | None:
    """The runtime's typed-word port on a terminal (``reboot``); a closed stdin is None."""
    try:
        return input(f"{text} ").strip()
    except EOFError:
        print()
        return None


@contextmanager
def headless(
    config: Config,
    telemetry: bool = True,
    doctor: Any = None,
    found: threading.Event | None = None,
    discover_fn: Callable[[], Discovery] | None = None,
) -> Iterator[Runtime]:
    """The runtime with only what the doctor uses: its telemetry (or none) and, given a setup, the doctor
    service; prompts on the terminal.  Yields once the sources are found (``found`` is set then too);
    stopped on the way out.  ``discover_fn``: the runtime's own discovery unless given (tests)."""
    from console.runtime import events as ev
    from console.runtime.runtime import Runtime
    from console.runtime.services.headless import no_telemetry, wait_for

    runtime = Runtime(
        config,
        discover_fn=discover_fn if telemetry else no_telemetry,
        watch_docker=False,
        poll_servers=False,
        hud_sources=False,
        doctor=doctor,
        ask=terminal_ask,
        ask_word=terminal_word,
    )
    if found is not None:
        runtime.subscribe(lambda _state, event: found.set() if isinstance(event, ev.SourcesFound) else None)
    runtime.start()
    try:
        wait_for(runtime, lambda s: bool(s.telemetry.report.statuses) or not telemetry, DISCOVERY_WAIT_S)
        yield runtime
    finally:
        runtime.stop(1.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.add_argument("--fix", choices=["daemon-json"], help="apply a fix (asks first)")
    parser.add_argument("--yes", action="store_true", help="do not ask before the fix")
    parser.add_argument("--dry-run", action="store_true", help="show the fix's diff and plan; change nothing")
    parser.add_argument("--daemon-json", type=Path, default=None, help="default /etc/docker/daemon.json")
    parser.add_argument("--restart-cmd", default="", help="how to restart Docker (default: systemctl restart docker)")
    parser.add_argument("--verify-image", default=None, help="image to start after the fix (default: smallest local)")
    parser.add_argument(
        "--recover-memory",
        action="store_true",
        help="stuck-memory wizard: stop/remove inference containers, end orphaned vLLM holders, "
        "drop caches, restart Docker, one confirmed step at a time",
    )
    parser.add_argument("--steps", default=",".join(STEPS), help=f"wizard steps to offer (default {','.join(STEPS)})")
    parser.add_argument(
        "--holders",
        default="",
        metavar="PID,...",
        help="wizard: of the holders found, end only these pids (default: every one listed)",
    )
    parser.add_argument(
        "--baseline-gib",
        type=float,
        default=DEFAULT_BASELINE_GIB,
        help="memory in use expected with nothing served (default 6)",
    )
    parser.add_argument(
        "--python",
        metavar="PATH",
        default="",
        help="also check this Python environment's torch: CPU-only build, CUDA major, GLIBCXX, ABI",
    )
    parser.add_argument(
        "--image",
        metavar="IMAGE",
        default="",
        help="also check this local image's torch (runs python3 in it: --rm, no network)",
    )
    parser.add_argument(
        "--model",
        metavar="REPO_OR_DIR",
        default="",
        help="count this model (HF repo id in the cache, or a local directory) in the disk check",
    )
    add_power_arguments(parser)


def run(args: argparse.Namespace, docker_host: str = "", config: Config | None = None) -> int:
    from console import config as cfg

    config = config or cfg.Config()
    docker_host = docker_host or config.docker_host
    probe = Probe(
        docker_host=docker_host, python=args.python, image=args.image, model=args.model, baseline_gib=args.baseline_gib
    )
    if args.daemon_json is not None:
        probe.daemon_json = args.daemon_json
    if args.fix == "daemon-json":
        with headless(config, telemetry=False) as runtime:
            return fix_daemon_json(args, probe, runtime.ask)
    if args.recover_memory:
        with headless(config) as runtime:
            return recover_memory(args, docker_host, runtime.ask, runtime.ask_word)
    if args.power_mode is not None or args.clocks is not None:
        from console.doctor.power import power_command

        with headless(config) as runtime:
            return power_command(args, ask=lambda title, text: runtime.ask(title, text))
    checks = run_checks(config, probe)
    if args.json:
        print(as_json(checks))
    else:
        for c in checks:
            print(f"{MARK[c.status]} {c.status.upper():4s}  {c.title}")
            for line in c.evidence:
                print(f"          {mask_prose(line)}")
            if c.fix and c.status != "ok":
                print(f"          fix: {mask_prose(c.fix)}")
    return exit_code(checks)


def as_json(checks: list[Check]) -> str:
    """``doctor --json``: the checks and the exit code; evidence with credentials masked (``--api-key ••••``) and
    every mask as its own characters, not ``\u2022``."""
    data = {"checks": [c.to_dict() for c in checks], "exit_code": exit_code(checks)}
    return json_text(mask_data(data, mask_prose), indent=2)


def run_checks(
    config: Config,
    probe: Probe,
    checks: Callable[[Probe], list[Check]] = run_all,
    discover_fn: Callable[[], Discovery] | None = None,
) -> list[Check]:
    """One run of the checks by the runtime's doctor service, after its telemetry found the sources and each gave
    a first sample: the checks read the board facts it reports (jtop's L4T, JetPack, CUDA) as the app's do."""
    from console.doctor.session import DoctorSetup
    from console.runtime.services.headless import wait_for

    found = threading.Event()
    setup = DoctorSetup(probe, interval=0, checks=after(lambda: found.wait(DISCOVERY_WAIT_S), checks))
    with headless(config, doctor=setup, found=found, discover_fn=discover_fn) as runtime:
        wait_for(runtime, lambda s: s.doctor.at is not None and not s.doctor.running, CHECKS_WAIT_S)
        return list(runtime.state.doctor.checks)


def fix_daemon_json(args: argparse.Namespace, probe: Probe, ask: Callable[[str, str], bool] = terminal_ask) -> int:
    try:
        plan = plan_fix(probe.daemon_json)
    except DaemonJsonError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    if not plan.needed:
        print(f"{plan.path}: the nvidia runtime is already the default; nothing to do")
        return 0
    restart = restart_command(args.restart_cmd)
    print(plan.diff, end="")
    print(
        f"plan: back up {plan.path}, write it, restart Docker "
        f"({' '.join(restart) if restart else 'no way known: pass --restart-cmd'}), verify, roll back on failure"
    )
    if args.dry_run:
        return 1
    if restart is None:
        print("no restart command: this machine has no systemd; pass --restart-cmd", file=sys.stderr)
        return 2
    if not args.yes and not ask("Fix daemon.json?", "apply?"):
        print("nothing changed")
        return 1
    result = apply_fix(plan, run_command(restart), docker_verifier(probe.docker_host or None, args.verify_image), audit)
    for step in result.steps:
        print(f"  {step}")
    if not result.ok:
        print(f"{FAIL}: {result.error}", file=sys.stderr)
    return 0 if result.ok else 2


def recover_memory(
    args: argparse.Namespace,
    docker_host: str,
    ask: Callable[[str, str], bool] = terminal_ask,
    ask_word: Callable[[str], str | None] = terminal_word,
) -> int:
    """The wizard on the terminal: 0 memory back to the baseline, 1 still held (or a dry run), 2 bad steps."""
    from console.doctor.wizard import open_wizard, reboot_command

    steps = tuple(s.strip() for s in args.steps.split(",") if s.strip())
    if bad := [s for s in steps if s not in STEPS]:
        print(f"--steps: unknown {', '.join(bad)}; choose from {', '.join(STEPS)}", file=sys.stderr)
        return 2
    pids = {int(p) for p in args.holders.split(",") if p.strip().isdigit()} if args.holders else None
    wizard = open_wizard(docker_host, audit, args.restart_cmd, pids)
    try:
        for line in wizard.survey_lines():
            print(line)
        if args.dry_run:
            print("plan (dry run, nothing done):")
            for _step, what in wizard.plan(steps):
                print(f"  - {what}")
            return 1

        def confirm(step: str, what: str) -> bool:
            return bool(args.yes) or ask(f"Memory recovery: {step}", f"{what}\n  do it?")

        ok = wizard.run(steps, confirm, print, args.baseline_gib)
    finally:
        wizard.close()
    if ok:
        return 0
    if not args.yes and ask_word("type 'reboot' to reboot now, anything else to leave it:") == "reboot":
        audit("memory.reboot", {})
        run_command(reboot_command())()
    return 1
