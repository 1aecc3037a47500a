"""Frozen events: the only way a service tells the runtime something.

State events are folded into ``ConsoleState`` by the reducer.  One-shot events (a notice, a
question, a batch of log text, a launch's progress) change no state: the runtime hands them to
its subscribers as they are.  Every string in an event that a server, container, device or file
produced has been cleaned by ``console.runtime.sanitise`` where it was read.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.bench.report import BenchReport
from console.bench.results import SavedRun
from console.bench.runner import BenchPlan, Progress
from console.chat.client import ModelInfo
from console.chat.endpoints import Endpoint
from console.chat.model import Conversation, ConversationSummary, MessageStats
from console.chat.session import ChatSettings
from console.containers.launcher import LaunchEvent
from console.containers.model import ActionResult, ContainerInfo, ContainerStats
from console.doctor.check import Check
from console.fit.device import DeviceMemory
from console.servers.probe import ServerStatus
from console.telemetry.model import SourceReport, TelemetrySnapshot


class Event:
    """Base of every event (for ``isinstance`` and typing)."""


# ---- telemetry ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourcesFound(Event):
    order: tuple[str, ...]
    report: SourceReport


@dataclass(frozen=True)
class Sampled(Event):
    snapshot: TelemetrySnapshot


@dataclass(frozen=True)
class SourceFailed(Event):
    source: str
    error: str


# ---- Docker ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContainersListed(Event):
    containers: tuple[ContainerInfo, ...]


@dataclass(frozen=True)
class StatsUpdated(Event):
    stats: tuple[tuple[str, ContainerStats], ...]


@dataclass(frozen=True)
class DockerFailed(Event):
    reason: str
    hint: str


# ---- inference servers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ServersWatched(Event):
    """The server URLs now polled (a URL no longer listed loses its last status)."""

    urls: frozenset[str]


@dataclass(frozen=True)
class ServerPolled(Event):
    status: ServerStatus


@dataclass(frozen=True)
class ServerSelected(Event):
    url: str | None


@dataclass(frozen=True)
class StartupProgress(Event):
    """A phase of a container's start (a launch from here or a follower of one started elsewhere)."""

    container: str
    event: LaunchEvent


# ---- HUD ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HelpFlagRead(Event):
    on: bool


@dataclass(frozen=True)
class HostRead(Event):
    host: str
    ip: str


# ---- doctor ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DoctorRunning(Event):
    """A run of the checks was asked for."""


@dataclass(frozen=True)
class DoctorChecked(Event):
    checks: tuple[Check, ...]
    at: float
    more: bool = False  # a rerun asked for during this run is still to come


@dataclass(frozen=True)
class FixStarted(Event):
    check_id: str


@dataclass(frozen=True)
class FixLine(Event):
    fix: str
    line: str


@dataclass(frozen=True)
class FixEnded(Event):
    fix: str
    ok: bool
    reboot: bool = False  # offer a reboot (memory still held)


# ---- chat ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChatBound(Event):
    """The chat is bound to another server (its models are asked again)."""

    endpoint: Endpoint | None


@dataclass(frozen=True)
class ChatModelsListed(Event):
    url: str
    models: tuple[ModelInfo, ...]


@dataclass(frozen=True)
class ChatModelChosen(Event):
    model: str


@dataclass(frozen=True)
class ChatSettingsChosen(Event):
    settings: ChatSettings


@dataclass(frozen=True)
class ChatAsked(Event):
    """A question was sent; answer ``answer`` starts streaming."""

    answer: int
    question: str


@dataclass(frozen=True)
class ChatText(Event):
    """A batch of answer text (content and reasoning since the last batch)."""

    answer: int
    content: str
    reasoning: str


@dataclass(frozen=True)
class ChatEnded(Event):
    """The answer ended; the state's ``chat.messages[-1]`` is it."""

    answer: int
    status: str
    stats: MessageStats


@dataclass(frozen=True)
class ChatCreated(Event):
    conversation_id: int


@dataclass(frozen=True)
class ChatLoaded(Event):
    conversation: Conversation
    default: ChatSettings


@dataclass(frozen=True)
class ChatCleared(Event):
    settings: ChatSettings


@dataclass(frozen=True)
class ChatRenamed(Event):
    conversation_id: int
    title: str


@dataclass(frozen=True)
class ChatDeleted(Event):
    conversation_id: int


@dataclass(frozen=True)
class ChatListed(Event):
    """One-shot: the stored conversations matching ``needle`` (newest first)."""

    summaries: tuple[ConversationSummary, ...]
    needle: str


# ---- bench --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BenchStarted(Event):
    """Bench ``run`` started on ``plan``; ``energy``: what the power readings count ("" without any yet)."""

    run: int
    plan: BenchPlan
    energy: str = ""


@dataclass(frozen=True)
class BenchProgressed(Event):
    run: int
    progress: Progress


@dataclass(frozen=True)
class BenchNoted(Event):
    """A line for the run's notes; ``trial``: the latest trial's figures (one such line is kept, last)."""

    run: int
    text: str
    error: bool = False
    trial: bool = False


@dataclass(frozen=True)
class BenchCancelling(Event):
    run: int


@dataclass(frozen=True)
class BenchFinished(Event):
    """Bench ``run`` ended (finished, cancelled or failed): its report, the files it was saved to, or why not."""

    run: int
    report: BenchReport | None
    paths: tuple[Path, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class BenchListed(Event):
    """The saved runs of a results folder (newest first) and a word about the folder."""

    folder: Path
    runs: tuple[SavedRun, ...]
    note: str = ""


BENCH_EVENTS = (BenchStarted, BenchProgressed, BenchNoted, BenchCancelling, BenchFinished, BenchListed)
CHAT_EVENTS = (ChatAsked, ChatText, ChatEnded, ChatLoaded, ChatCleared, ChatDeleted)


# ---- one-shot: handed to subscribers, no state ----------------------------------------------------
@dataclass(frozen=True)
class Notice(Event):
    text: str
    severity: str = "information"  # information | warning | error
    timeout: float = 4.0


@dataclass(frozen=True)
class Ask(Event):
    """A service waits for a yes/no; whoever shows it sets ``reply``.  ``strict``: only an explicit yes
    (no default key) answers it; ``typed``: the answer is the word the user typed."""

    title: str
    text: str
    reply: Future[Any]
    strict: bool = True
    typed: bool = False


@dataclass(frozen=True)
class ActionDone(Event):
    result: ActionResult


@dataclass(frozen=True)
class InspectReady(Event):
    title: str
    text: str


@dataclass(frozen=True)
class LogBatch(Event):
    """A batch of log text for one follower (at most 5 a second; 2 during a flood)."""

    follower: int
    text: str
    ended: str | None = None


@dataclass(frozen=True)
class PreflightDone(Event):
    run_id: int
    checks: tuple[Any, ...]
    blocked: bool
    launching: bool


@dataclass(frozen=True)
class LaunchProgress(Event):
    run_id: int
    event: LaunchEvent | None
    message: str = ""
    container: str = ""


@dataclass(frozen=True)
class BenchPlanned(Event):
    """The bench form read into a plan, with the power mode now for an A/B's question; or the form's
    problems, (field, text) pairs (field "" for the form as a whole)."""

    plan: BenchPlan | None
    problems: tuple[tuple[str, str], ...] = ()
    power_now: str = ""


@dataclass(frozen=True)
class FitMemoryRead(Event):
    """The device memory the fit sizes against, or why it could not be had."""

    memory: DeviceMemory | None
    error: str | None = None


@dataclass(frozen=True)
class FitConfigRead(Event):
    """A model's config.json read for the fit: ``text`` as typed, the file's path and dict, or the error."""

    text: str
    path: Path | None
    config: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True)
class ServiceFailed(Event):
    """A service raised: its name and what it said (shown, never fatal)."""

    service: str
    error: str


ONE_SHOT = (
    ChatListed,
    Notice,
    Ask,
    ActionDone,
    InspectReady,
    LogBatch,
    PreflightDone,
    LaunchProgress,
    BenchPlanned,
    FitMemoryRead,
    FitConfigRead,
    ServiceFailed,
)
