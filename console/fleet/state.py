"""The fleet in the runtime's state: the devices, and each one's latest answer (pure, immutable; no network)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from console.fleet.actions import Outcome, Plan
from console.fleet.device import DeviceDetail
from console.fleet.hosts import Device
from console.fleet.reading import Reading
from console.telemetry.history import History

_NONE: MappingProxyType[str, DeviceStatus] = MappingProxyType({})


@dataclass(frozen=True)
class Answer:
    """What one device said in one round: a reading, or why there is none."""

    name: str
    reading: Reading | None
    error: str | None
    seconds: float  # how long it took
    at: float  # time.monotonic() when it came (when the figures were taken, read through Prometheus)
    via: str = "agent"  # how it was read: agent | prometheus | ssh


@dataclass(frozen=True)
class DeviceStatus:
    """A device's latest good answer (kept while it fails: a stale tile still shows its last figures) and
    the latest try's outcome."""

    good: Answer | None = None
    last: Answer | None = None

    @property
    def error(self) -> str | None:
        return self.last.error if self.last is not None else None


@dataclass(frozen=True)
class ActionRun:
    """An organiser action from the Fleet screen: planned (or why not), then each device's progress and
    outcome as they come."""

    run_id: int
    action: str
    devices: tuple[str, ...]
    plan: Plan | None = None  # None while planning
    error: str | None = None  # why it could not be planned
    started: bool = False
    progress: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    outcomes: tuple[Outcome, ...] = ()
    finished: bool = False
    declined: bool = False


@dataclass(frozen=True)
class FleetState:
    devices: tuple[Device, ...] = ()
    status: MappingProxyType[str, DeviceStatus] = field(default_factory=lambda: _NONE)
    error: str | None = None  # the hosts file could not be read (file:line: what)
    watched: str | None = None  # the device whose whole answer the device view reads (Enter on it)
    detail: DeviceDetail | None = None  # its latest whole answer
    detail_error: str | None = None  # why its latest read failed
    history: History | None = None  # its telemetry over time, for the device view's sparklines
    action: ActionRun | None = None  # the latest organiser action asked from the Fleet screen

    def listed(self, devices: tuple[Device, ...], error: str | None = None) -> FleetState:
        names = {d.name for d in devices}
        kept = MappingProxyType({k: v for k, v in self.status.items() if k in names})
        return replace(self, devices=devices, status=kept, error=error)

    def answered(self, answers: Iterable[Answer]) -> FleetState:
        status = dict(self.status)
        names = {d.name for d in self.devices}
        for a in answers:
            if a.name not in names:
                continue  # a late answer of a device no longer listed
            old = status.get(a.name, DeviceStatus())
            status[a.name] = DeviceStatus(good=a if a.reading is not None else old.good, last=a)
        return replace(self, status=MappingProxyType(status))

    def watching(self, name: str | None) -> FleetState:
        """The device view opens on ``name`` (None: it closed): what was read of another is dropped."""
        if name == self.watched:
            return self
        return replace(self, watched=name, detail=None, detail_error=None, history=History.sized() if name else None)

    def detail_read(self, name: str, got: DeviceDetail | None, error: str | None) -> FleetState:
        if name != self.watched:
            return self  # a late read of a device the view no longer shows
        if got is None:
            return replace(self, detail_error=error)
        history = self.history or History.sized()
        if got.snapshot is not None:
            history = history.add(got.snapshot)
        return replace(self, detail=got, detail_error=None, history=history)

    def action_asked(self, run_id: int, action: str, devices: tuple[str, ...]) -> FleetState:
        return replace(self, action=ActionRun(run_id, action, devices))

    def action_changed(self, run_id: int, **changes: object) -> FleetState:
        """The run ``run_id`` with ``changes``; nothing for another run's late event."""
        if self.action is None or self.action.run_id != run_id:
            return self
        return replace(self, action=replace(self.action, **changes))  # type: ignore[arg-type]

    def action_progress(self, run_id: int, device: str, text: str) -> FleetState:
        if self.action is None or self.action.run_id != run_id:
            return self
        progress = MappingProxyType({**self.action.progress, device: text})
        return replace(self, action=replace(self.action, progress=progress))

    def action_outcome(self, run_id: int, outcome: Outcome) -> FleetState:
        if self.action is None or self.action.run_id != run_id:
            return self
        return replace(self, action=replace(self.action, outcomes=(*self.action.outcomes, outcome)))
