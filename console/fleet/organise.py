"""An organiser action from start to end, shared by ``jetconsole fleet do`` and the Fleet screen: plan it
(reading each device's L4T over SSH when a launch needs it), write the plan to the audit log with what
became of it, run it, and write each device's outcome there too (secrets masked by the audit log)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

import httpx

from console.doctor.audit import audit
from console.fleet.actions import ActionOptions, Outcome, Plan, Step, autotag, l4t_of_release, plan_action
from console.fleet.hosts import Device
from console.fleet.poll import get_json, new_client, token_for
from console.fleet.remote import Progress, no_progress, run_plan, run_step
from console.fleet.ssh import SshSettings
from console.runtime.sanitise import clean

READ_AT_ONCE = 16  # devices asked for their L4T at once


def needs_l4t(action: str, options: ActionOptions) -> bool:
    """Whether the plan must know each device's L4T: a launch of a jetson-containers image."""
    return action == "launch" and bool(options.image) and autotag(options.image, None)[0] is None


async def read_l4t(devices: Sequence[Device], ssh: SshSettings) -> dict[str, str | None]:
    """Each device's L4T: what its agent says (the board's, as jtop reads it), else its /etc/nv_tegra_release
    over SSH; None when neither tells (not a Jetson, or unreachable)."""

    gate = asyncio.Semaphore(READ_AT_ONCE)

    async def one(client: httpx.AsyncClient, d: Device) -> tuple[str, str | None]:
        async with gate:
            if d.url and (said := await _agent_l4t(client, d, ssh.timeout)):
                return d.name, said
            step = Step(d.name, "head -n 1 /etc/nv_tegra_release")
            got = await run_step(step, d, ssh.config, ssh.timeout, no_progress)
        return d.name, (l4t_of_release(got.tail[-1]) if got.ok and got.tail else None)

    async with new_client(len(devices)) as client:
        return dict(await asyncio.gather(*(one(client, d) for d in devices if d.ssh)))


async def _agent_l4t(client: httpx.AsyncClient, device: Device, timeout: float) -> str | None:
    try:
        doc = await get_json(client, f"{device.url}/v1/state", token_for(device), timeout)
        board = ((doc or {}).get("telemetry") or {}).get("board") or {}
    except (httpx.HTTPError, ValueError, AttributeError):
        return None  # no agent answer (BadAnswer is a ValueError): SSH is asked next
    l4t = board.get("l4t") if isinstance(board, dict) else None
    return clean(l4t) if isinstance(l4t, str) and re.fullmatch(r"\d+(\.\d+){1,2}", l4t) else None


async def prepare(action: str, devices: Sequence[Device], options: ActionOptions, ssh: SshSettings) -> Plan:
    """The plan, with the fleet's ssh config for rsync and the devices' L4T where a launch needs it."""
    options = replace(options, ssh_config=ssh.config)
    l4t = await read_l4t(devices, ssh) if needs_l4t(action, options) else None
    return plan_action(action, devices, options, l4t)


def record(plan: Plan, devices: Sequence[Device], then: str) -> None:
    """The plan in the audit log: the devices, every command, and what became of it (dry run, run...)."""
    commands = [s.shown for s in plan.steps]
    audit(
        "fleet.plan", {"action": plan.action, "devices": [d.name for d in devices], "commands": commands, "then": then}
    )


async def execute(
    plan: Plan,
    devices: Sequence[Device],
    ssh: SshSettings,
    timeout: float,
    parallel: int,
    progress: Progress,
    done: Callable[[Outcome], None],
) -> list[Outcome]:
    """Run the plan; every outcome is audited before ``done`` hears it."""

    def audited(o: Outcome) -> None:
        audit(f"fleet.{plan.action}", {"device": o.device, "ok": o.ok, "result": o.summary, "exit": o.code})
        done(o)

    return await run_plan(plan, devices, ssh.config, timeout, parallel, progress, audited)
