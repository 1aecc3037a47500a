"""``ConsoleState``: everything the console knows, in one immutable value.

Only the reducer makes a new one; screens, CLIs and the agent read slices of it through pure
view functions.  Keeping an old one is how a screen pauses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from console.chat.session import ChatSession, ChatSettings
from console.containers.state import DockerState
from console.servers.registry import server_rows as registry_rows
from console.telemetry.state import TelemetryState

if TYPE_CHECKING:  # types only: a start does not load the features that define them
    from console.bench.report import BenchReport
    from console.bench.results import SavedRun
    from console.bench.runner import BenchPlan, Progress
    from console.cluster.state import ClusterState
    from console.containers.launcher import LaunchEvent
    from console.doctor.check import Check
    from console.fleet.state import FleetState
    from console.servers.registry import ServerRow
    from console.servers.status import ServerStatus

LOG_KEEP = 500  # lines of fix output kept for a Doctor screen opened later
BENCH_NOTES_KEEP = 200  # lines of a bench's notes

_NO_STATUS: MappingProxyType[str, ServerStatus] = MappingProxyType({})
_NO_STARTUPS: MappingProxyType[str, LaunchEvent] = MappingProxyType({})


@dataclass(frozen=True)
class ServersState:
    """The inference servers: the last poll of each watched URL, and the one the chat is bound to."""

    # canonical URL -> last poll
    status: MappingProxyType[str, ServerStatus] = field(default_factory=lambda: _NO_STATUS)
    watched: frozenset[str] = frozenset()
    selected: str | None = None
    configured: tuple[str, ...] = ()  # the URLs of config [endpoints] servers (their keys stay in the runtime)

    @property
    def selected_status(self) -> ServerStatus | None:
        return self.status.get(self.selected) if self.selected else None


@dataclass(frozen=True)
class HudFacts:
    """The workshop help flag and this host's name and address."""

    help_flag: bool = False
    help_since: float | None = None  # when the flag was raised (epoch seconds)
    host: str = ""
    ip: str = ""


@dataclass(frozen=True)
class DoctorState:
    enabled: bool = False  # False: no checks run (tests with fixed frames, kiosk)
    interval: float = 0.0  # seconds between runs (0: on demand and after fixes only)
    checks: tuple[Check, ...] = ()
    at: float | None = None
    running: bool = False
    fixing: str | None = None
    log: tuple[str, ...] = ()


@dataclass(frozen=True)
class BenchNote:
    """A line of a bench's notes; ``seq`` numbers them (a screen adds only the new ones)."""

    seq: int
    text: str
    error: bool = False
    trial: bool = False  # the latest trial's figures: one such line, always the last added


@dataclass(frozen=True)
class BenchOutcome:
    """How bench ``run`` ended: its report (None: it failed before one), the files it was saved to, or why not."""

    run: int
    report: BenchReport | None
    paths: tuple[Path, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class BenchState:
    """The latest bench run (one at a time) and the latest listing of a results folder."""

    run: int = 0  # the latest run's number (0: none yet)
    phase: str | None = None  # "running" | "cancelling" | None (ended, or none yet)
    plan: BenchPlan | None = None
    energy: str = ""  # what the power readings counted when it started ("": no power telemetry)
    progress: Progress | None = None
    notes: tuple[BenchNote, ...] = ()
    next_note: int = 1
    outcome: BenchOutcome | None = None  # the latest run's end
    folder: Path | None = None  # the results folder last listed
    saved: tuple[SavedRun, ...] = ()
    saved_note: str = ""
    listed: int = 0  # one more for every listing


@dataclass(frozen=True)
class ConsoleState:
    version: int = 0  # one more for every event that changed the state
    telemetry: TelemetryState = field(default_factory=TelemetryState)
    docker: DockerState = field(default_factory=DockerState)
    watch_docker: bool = True
    servers: ServersState = field(default_factory=ServersState)
    # container id -> its last start-up phase
    startups: MappingProxyType[str, LaunchEvent] = field(default_factory=lambda: _NO_STARTUPS)
    hud: HudFacts = field(default_factory=HudFacts)
    doctor: DoctorState = field(default_factory=DoctorState)
    chat: ChatSession = field(default_factory=lambda: ChatSession(None, ChatSettings()))
    bench: BenchState = field(default_factory=BenchState)
    fleet: FleetState | None = None  # None until the Fleet view or `jetconsole fleet` asks (keeps it off a start)
    cluster: ClusterState | None = None  # None until the Cluster screen asks


def server_rows(state: ConsoleState) -> list[ServerRow]:
    """One row per inference server: containers joined with configured URLs (a pure view)."""
    return registry_rows(state.docker.containers, state.servers.configured)


def launch_line(state: ConsoleState, url: str) -> str:
    """The command of the container serving ``url`` (its launch line), or "" when none is known."""
    return next((r.container.command for r in server_rows(state) if r.url == url and r.container is not None), "")
