"""Commands on a cluster node over SSH (the fleet's ``ssh`` with the user's keys and known_hosts, BatchMode):
one that ends (``sh``), and one whose lines are followed as they come (``follow``: a server's log).

Everything a node prints is untrusted: cleaned before anyone sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console.fleet import processes
from console.fleet.actions import Outcome, Step
from console.fleet.hosts import Device
from console.fleet.remote import CONNECT_S, no_progress, read_lines, run_step
from console.fleet.ssh import ssh_argv


@dataclass(frozen=True)
class Link:
    """How this console reaches the nodes: the devices by name and the ssh config file."""

    devices: dict[str, Device]
    ssh_config: str = ""

    async def sh(self, node: str, command: str, limit: float, keep: int = 40) -> Outcome:
        """``command`` (POSIX sh) on ``node`` within ``limit`` seconds; its last ``keep`` lines kept."""
        step = Step(node, command, limit=limit)
        return await run_step(step, self.devices[node], self.ssh_config, 0, no_progress, keep)

    async def follow(self, node: str, command: str, each: Callable[[str], None]) -> int | None:
        """Run ``command`` on ``node`` and hand each line it prints to ``each`` (cleaned), until it ends or
        the caller is cancelled (the ssh ended then); its exit code."""
        argv = ssh_argv(self.devices[node], self.ssh_config, CONNECT_S, command)
        proc = await processes.start(argv, merge_stderr=True)
        try:
            await read_lines(proc.stdout, [], each, keep=1)  # the fleet's reader: cleaned, \r and \n both end a line
            return await proc.wait()
        finally:
            await processes.end(proc)
