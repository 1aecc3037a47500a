"""Frozen events: the only way a service tells the runtime something.

State events are folded into ``ConsoleState`` by the reducer.  One-shot events (a notice, a
question, a batch of log text, a launch's progress) change no state: the runtime hands them to
its subscribers as they are.  Every string in an event that a server, container, device or file
produced has been cleaned by ``console.runtime.sanitise`` where it was read.
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:  # types only: a start does not load the features that define them
    from console.bench.report import BenchReport
    from console.bench.results import SavedRun
    from console.bench.runner import BenchPlan, Progress
    from console.chat.capability import Capabilities
    from console.chat.endpoints import Endpoint
    from console.chat.model import Conversation, ConversationSummary, ImageRef, MessageStats, ShapeCheck, ToolCall
    from console.chat.session import ChatSettings
    from console.chat.wire import ModelInfo
    from console.cluster.record import Record
    from console.cluster.status import ClusterStatus
    from console.containers.launcher import LaunchEvent
    from console.containers.model import ActionResult, ContainerInfo, ContainerStats
    from console.doctor.check import Check
    from console.fit.device import DeviceMemory
    from console.fleet.actions import Outcome, Plan
    from console.fleet.device import DeviceDetail
    from console.fleet.hosts import Device
    from console.fleet.state import Answer
    from console.servers.status import ServerStatus
    from console.telemetry.model import SourceReport, TelemetrySnapshot


class Event(msgspec.Struct, frozen=True):
    """Base of every event (for ``isinstance`` and typing).  Frozen msgspec Structs: one is defined in ~0.01 ms
    where a frozen dataclass takes ~0.5 ms (its methods are compiled at import), and a start defines them all."""


# ---- telemetry ------------------------------------------------------------------------------------
class SourcesFound(Event, frozen=True):
    order: tuple[str, ...]
    report: SourceReport


class Sampled(Event, frozen=True):
    snapshot: TelemetrySnapshot


class SourceFailed(Event, frozen=True):
    source: str
    error: str


# ---- Docker ---------------------------------------------------------------------------------------
class ContainersListed(Event, frozen=True):
    containers: tuple[ContainerInfo, ...]


class StatsUpdated(Event, frozen=True):
    stats: tuple[tuple[str, ContainerStats], ...]


class ContainerActionSent(Event, frozen=True):
    """A start/stop/restart/remove was sent to Docker: the row says "stopping…" until it settles."""

    container_id: str
    action: str


class ContainerActionSettled(Event, frozen=True):
    """Docker answered the action (done or refused): the row shows the container's own state again."""

    container_id: str


class DockerFailed(Event, frozen=True):
    reason: str
    hint: str


# ---- inference servers ----------------------------------------------------------------------------
class ServersWatched(Event, frozen=True):
    """The server URLs now polled (a URL no longer listed loses its last status)."""

    urls: frozenset[str]


class ServerPolled(Event, frozen=True):
    status: ServerStatus


class ServerSelected(Event, frozen=True):
    url: str | None


class StartupProgress(Event, frozen=True):
    """A phase of a container's start (a launch from here or a follower of one started elsewhere)."""

    container: str
    event: LaunchEvent


# ---- HUD ------------------------------------------------------------------------------------------
class FleetListed(Event, frozen=True):
    """The fleet's devices (from the hosts file), or why there are none."""

    devices: tuple[Device, ...]
    error: str | None = None


class FleetAnswered(Event, frozen=True):
    """Answers of some of the fleet's agents (a round's, as they came)."""

    answers: tuple[Answer, ...]


class DeviceWatched(Event, frozen=True):
    """The device view opened on a device of the fleet (None: it closed)."""

    name: str | None


class DeviceDetailRead(Event, frozen=True):
    """A watched device's whole answer, or why there is none."""

    name: str
    detail: DeviceDetail | None
    error: str | None = None


class FleetActionAsked(Event, frozen=True):
    """An organiser action was asked for these devices: planning it."""

    run_id: int
    action: str
    devices: tuple[str, ...]


class FleetActionPlanned(Event, frozen=True):
    """Its plan (every device's command, the refused ones), or why it has none."""

    run_id: int
    plan: Plan | None
    error: str | None = None


class FleetActionStarted(Event, frozen=True):
    run_id: int


class FleetActionDeclined(Event, frozen=True):
    run_id: int


class FleetActionProgress(Event, frozen=True):
    run_id: int
    device: str
    text: str


class FleetActionOutcome(Event, frozen=True):
    run_id: int
    outcome: Outcome


class FleetActionFinished(Event, frozen=True):
    run_id: int


class ClusterRead(Event, frozen=True):
    """The cluster ``up`` recorded (None: none, ``note`` says why) and its status now."""

    record: Record | None
    note: str
    status: ClusterStatus | None
    at: float


class ClusterOffered(Event, frozen=True):
    """The fleet's devices a cluster can use (those with ``ssh=``), and what some of them offer."""

    devices: tuple[str, ...]
    offers: tuple[tuple[str, bool, str], ...]  # (device, read, "eth1 10.10.0.1 (MTU 9000), ..." or why not)
    error: str = ""


class ClusterBegan(Event, frozen=True):
    what: str  # up | down | preflight


class ClusterSaid(Event, frozen=True):
    text: str


class ClusterEnded(Event, frozen=True):
    result: str
    checks: tuple[Check, ...] | None = None


class HelpFlagRead(Event, frozen=True):
    on: bool
    since: float | None = None  # when it was raised (epoch seconds), when known


class HostRead(Event, frozen=True):
    host: str
    ip: str


# ---- doctor ---------------------------------------------------------------------------------------
class DoctorRunning(Event, frozen=True):
    """A run of the checks was asked for."""


class DoctorChecked(Event, frozen=True):
    checks: tuple[Check, ...]
    at: float
    more: bool = False  # a rerun asked for during this run is still to come


class FixStarted(Event, frozen=True):
    check_id: str


class FixLine(Event, frozen=True):
    fix: str
    line: str


class FixEnded(Event, frozen=True):
    fix: str
    ok: bool
    reboot: bool = False  # offer a reboot (memory still held)


# ---- chat ---------------------------------------------------------------------------------------
class ChatBound(Event, frozen=True):
    """The chat is bound to another server (its models are asked again)."""

    endpoint: Endpoint | None


class ChatModelsListed(Event, frozen=True):
    url: str
    models: tuple[ModelInfo, ...]


class ChatModelChosen(Event, frozen=True):
    model: str


class ChatSettingsChosen(Event, frozen=True):
    settings: ChatSettings


class ChatCapabilities(Event, frozen=True):
    """What the chat's server can take (images, tool_choice auto), as told for ``url`` serving ``model``."""

    url: str
    model: str
    caps: Capabilities


class ChatImageAttaching(Event, frozen=True):
    """An image is being read for the question being typed (a question waits until it is attached or failed)."""

    path: str


class ChatImageAttached(Event, frozen=True):
    """An image was read, downscaled and stored for the question being typed."""

    ref: ImageRef


class ChatImageFailed(Event, frozen=True):
    """An image could not be attached: ``why`` says what and what to do (a notice says it too)."""

    path: str
    why: str


class ChatImageDetached(Event, frozen=True):
    """The question's ``index``-th image (-1: the last) was taken off."""

    index: int


class ChatAsked(Event, frozen=True):
    """A question was sent; answer ``answer`` starts streaming."""

    answer: int
    question: str
    images: tuple[ImageRef, ...] = ()
    mode: str = "chat"
    from_draft: bool = True  # the images were the draft's (they leave it); False: a question asked again


class ChatText(Event, frozen=True):
    """A batch of answer text (content and reasoning since the last batch)."""

    answer: int
    content: str
    reasoning: str


class ChatEnded(Event, frozen=True):
    """The answer ended; the state's ``chat.messages[-1]`` is it."""

    answer: int
    status: str
    stats: MessageStats
    tool_calls: tuple[ToolCall, ...] = ()
    check: ShapeCheck | None = None


class ChatCreated(Event, frozen=True):
    conversation_id: int


class ChatLoaded(Event, frozen=True):
    conversation: Conversation
    default: ChatSettings


class ChatCleared(Event, frozen=True):
    settings: ChatSettings


class ChatRenamed(Event, frozen=True):
    conversation_id: int
    title: str


class ChatDeleted(Event, frozen=True):
    conversation_id: int


class ChatTrimmed(Event, frozen=True):
    """The ``count`` oldest messages still sent are sent no more (kept in the conversation): to fit the context."""

    count: int


class ChatListed(Event, frozen=True):
    """One-shot: the stored conversations matching ``needle`` (newest first)."""

    summaries: tuple[ConversationSummary, ...]
    needle: str


# ---- bench --------------------------------------------------------------------------------------
class BenchStarted(Event, frozen=True):
    """Bench ``run`` started on ``plan``; ``energy``: what the power readings count ("" without any yet)."""

    run: int
    plan: BenchPlan
    energy: str = ""


class BenchProgressed(Event, frozen=True):
    run: int
    progress: Progress


class BenchNoted(Event, frozen=True):
    """A line for the run's notes; ``trial``: the latest trial's figures (one such line is kept, last)."""

    run: int
    text: str
    error: bool = False
    trial: bool = False


class BenchCancelling(Event, frozen=True):
    run: int


class BenchFinished(Event, frozen=True):
    """Bench ``run`` ended (finished, cancelled or failed): its report, the files it was saved to, or why not."""

    run: int
    report: BenchReport | None
    paths: tuple[Path, ...] = ()
    error: str = ""


class BenchListed(Event, frozen=True):
    """The saved runs of a results folder (newest first) and a word about the folder."""

    folder: Path
    runs: tuple[SavedRun, ...]
    note: str = ""


BENCH_EVENTS = (BenchStarted, BenchProgressed, BenchNoted, BenchCancelling, BenchFinished, BenchListed)
CHAT_EVENTS = (
    ChatAsked,
    ChatText,
    ChatEnded,
    ChatLoaded,
    ChatCleared,
    ChatDeleted,
    ChatTrimmed,
    ChatImageAttaching,
    ChatImageAttached,
    ChatImageFailed,
    ChatImageDetached,
    ChatCapabilities,
)


# ---- one-shot: handed to subscribers, no state ----------------------------------------------------
class Notice(Event, frozen=True):
    text: str
    severity: str = "information"  # information | warning | error
    timeout: float = 4.0


class Ask(Event, frozen=True):
    """A service waits for a yes/no; whoever shows it sets ``reply``.  ``strict``: only an explicit yes
    (no default key) answers it; ``typed``: the answer is the word the user typed."""

    title: str
    text: str
    reply: Future[Any]
    strict: bool = True
    typed: bool = False


class ActionDone(Event, frozen=True):
    result: ActionResult


class InspectReady(Event, frozen=True):
    title: str
    text: str


class LogBatch(Event, frozen=True):
    """A batch of log text for one follower (at most 5 a second; 2 during a flood)."""

    follower: int
    text: str
    ended: str | None = None


class PreflightDone(Event, frozen=True):
    run_id: int
    checks: tuple[Any, ...]
    blocked: bool
    launching: bool


class LaunchProgress(Event, frozen=True):
    run_id: int
    event: LaunchEvent | None
    message: str = ""
    container: str = ""


class BenchPlanned(Event, frozen=True):
    """The bench form read into a plan, with the power mode now for an A/B's question; or the form's
    problems, (field, text) pairs (field "" for the form as a whole)."""

    plan: BenchPlan | None
    problems: tuple[tuple[str, str], ...] = ()
    power_now: str = ""


class FitMemoryRead(Event, frozen=True):
    """The device memory the fit sizes against, or why it could not be had."""

    memory: DeviceMemory | None
    error: str | None = None


class FitConfigRead(Event, frozen=True):
    """A model's config.json read for the fit: ``text`` as typed, the file's path and dict, or the error."""

    text: str
    path: Path | None
    config: dict[str, Any] | None
    error: str | None = None


class ServiceFailed(Event, frozen=True):
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
