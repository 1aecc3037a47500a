"""The fixes the Doctor screen applies, each as one blocking function ``fix(setup, ask, say) -> ok``.

``ask(title, text)`` waits for the user's yes/no (the app answers it from a dialog while the
fix runs in a worker thread); ``say(line)`` reports progress.  Nothing is changed before a
yes; every action is audited by the functions these call.  No Textual.
"""

from __future__ import annotations

from collections.abc import Callable

from console.doctor.daemon_fix import apply_fix, docker_verifier, plan_fix, restart_command, run_command
from console.doctor.daemon_json import DaemonJsonError
from console.doctor.session import DoctorSetup

Ask = Callable[[str, str], bool]
Say = Callable[[str], None]


def fix_daemon_json(setup: DoctorSetup, ask: Ask, say: Say) -> bool:
    probe = setup.probe
    try:
        plan = plan_fix(probe.daemon_json, runtime_path=setup.runtime_path)
    except DaemonJsonError as exc:
        say(f"refused, nothing written: {exc}")
        return False
    if not plan.needed:
        say(f"{plan.path}: the nvidia runtime is already the default; nothing to do")
        return True
    restart = ["the given restart"] if setup.restart else restart_command(setup.restart_cmd)
    if restart is None:
        say("no way to restart Docker here (no systemd): set [doctor] restart_cmd in config.toml; nothing written")
        return False
    text = (
        f"{plan.diff}\nThen: back up {plan.path} with a timestamp, write it atomically, restart Docker "
        f"({' '.join(restart)}), check that the default runtime is nvidia and a container starts, "
        "and put the old file back if not.\nRestarting Docker stops running containers (your inference "
        'server too) unless daemon.json has "live-restore": true.'
    )
    if not ask(f"Fix {plan.path}?", text):
        say("nothing changed")
        return False
    try:
        now = plan_fix(probe.daemon_json, runtime_path=setup.runtime_path)
    except DaemonJsonError as exc:
        now = None
        say(f"refused, nothing written: {exc}")
    if now is None or now.old_text != plan.old_text:
        if now is not None:
            say(f"refused, nothing written: {plan.path} changed while the question was open; run the fix again")
        return False
    say(f"writing {plan.path} and restarting Docker ({' '.join(restart)})...")
    verify = docker_verifier(probe.docker_host or None, setup.verify_image)
    result = apply_fix(plan, setup.restart or run_command(restart), verify, setup.audit)
    for step in result.steps:
        say(f"  {step}")
    if not result.ok:
        say(f"failed: {result.error}")
    return result.ok


def fix_memory(setup: DoctorSetup, ask: Ask, say: Say) -> bool:
    """The stuck-memory wizard; False when memory is still held (the screen then offers a typed reboot)."""
    from console.doctor.recovery import STEPS
    from console.doctor.wizard import open_wizard

    wizard = open_wizard(setup.probe.docker_host, setup.audit, setup.restart_cmd, jtop_socket=setup.probe.jtop_socket)
    try:
        for line in wizard.survey_lines():
            say(line)
        return wizard.run(STEPS, lambda step, what: ask(f"Recovery step: {step}", what), say, setup.probe.baseline_gib)
    finally:
        wizard.close()


def fix_power(setup: DoctorSetup, ask: Ask, say: Say) -> bool:
    from console.doctor.power import NEVER_REBOOTS, PowerUnavailable, read_power, to_serving

    socket = setup.probe.jtop_socket
    try:
        state = read_power(socket_path=socket)
        mode = state.mode is not None and state.best and state.mode != state.best
        plan = ([f"nvpmodel {state.mode} -> {state.best}"] if mode else []) + (
            ["jetson_clocks on"] if state.clocks is False else []
        )
        if not plan:
            say(f"nothing to do: {state.summary()}")
            return True
        if not ask(
            "Switch power mode?",
            f"now: {state.summary()}\nplan: {'; '.join(plan)}\n{NEVER_REBOOTS}: "
            "a mode nvpmodel can only apply at boot is reported, not applied.",
        ):
            say("nothing changed")
            return False
        results = to_serving(socket_path=socket, audit=setup.audit)
        for r in results:
            say(f"  {r.line()}")
        say(f"now: {read_power(socket_path=socket).summary()}")
    except PowerUnavailable as exc:
        say(f"power: {exc.reason}" + (f" (fix: {exc.hint})" if exc.hint else ""))
        return False
    return all(r.ok for r in results)


FIXES: dict[str, Callable[[DoctorSetup, Ask, Say], bool]] = {
    "daemon-json": fix_daemon_json,
    "memory": fix_memory,
    "power": fix_power,
}


def reboot(setup: DoctorSetup, say: Say) -> None:
    """Only after the user typed ``reboot``."""
    from console.doctor.wizard import reboot_command

    command = reboot_command()
    say(f"rebooting ({' '.join(command)})...")
    try:
        run_command(command)()
    except (OSError, RuntimeError) as exc:  # not root (systemctl: access denied), no such command
        setup.audit("memory.reboot", {"command": command, "ok": False, "error": str(exc)})
        say(f"reboot failed: {exc}")
        return
    setup.audit("memory.reboot", {"command": command, "ok": True})
