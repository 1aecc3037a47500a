"""What the Cluster screen shows, as the runtime keeps it (pure, frozen): the cluster ``up`` recorded, its
status when last read, and the operation running or last run (up, down, a preflight) with what it said."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType

from console.cluster.record import Record
from console.cluster.status import ClusterStatus
from console.doctor.check import Check

SAID_LINES = 200  # an operation's lines kept


@dataclass(frozen=True)
class ClusterState:
    record: Record | None = None
    note: str = ""  # why there is no record, or why it could not be read
    status: ClusterStatus | None = None
    read_at: float | None = None  # monotonic
    reads: int = 0  # one more for every read
    busy: str = ""  # "up", "down", "preflight" while one runs
    said: tuple[str, ...] = ()  # what the running (or last) operation said, a line each
    checks: tuple[Check, ...] = ()  # the last preflight's
    result: str = ""  # how the last operation ended, one line
    runs: int = 0  # one more for every operation that ended
    added_url: str | None = None  # the server URL the record added to the servers list (taken out with it)
    devices: tuple[str, ...] = ()  # the fleet's devices with ssh= (the plan form offers them)
    # device -> (read, its NICs or why not); one that could not be read is asked again
    offers: MappingProxyType[str, tuple[bool, str]] = field(default_factory=lambda: MappingProxyType({}))
    devices_note: str = ""  # why there are none (no hosts file)

    def read(self, record: Record | None, note: str, status: ClusterStatus | None, at: float) -> ClusterState:
        return replace(self, record=record, note=note, status=status, read_at=at, reads=self.reads + 1)

    def offered(self, devices: tuple[str, ...], offers: tuple[tuple[str, bool, str], ...], error: str) -> ClusterState:
        merged = MappingProxyType({**self.offers, **{name: (ok, said) for name, ok, said in offers}})
        return replace(self, devices=devices, offers=merged, devices_note=error)

    def began(self, what: str) -> ClusterState:
        return replace(self, busy=what, said=(), checks=() if what == "preflight" else self.checks, result="")

    def line(self, text: str) -> ClusterState:
        return replace(self, said=(*self.said, text)[-SAID_LINES:])

    def ended(self, result: str, checks: tuple[Check, ...] | None = None) -> ClusterState:
        kept = self.checks if checks is None else checks
        return replace(self, busy="", result=result, checks=kept, runs=self.runs + 1)
