"""Typed commands: what the UI and the CLIs ask the runtime to do (``Runtime.send``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:  # types only: a start does not load the features that define them
    from console.bench.form import BenchForm
    from console.bench.runner import BenchPlan, PowerControl
    from console.chat.session import ChatSettings
    from console.cluster.planning import PlanRequest
    from console.containers.presets import LaunchPlan, Preset
    from console.fit.device import DeviceMemory
    from console.fleet.actions import ActionOptions


class Command(msgspec.Struct, frozen=True):
    """Base of every command: a frozen msgspec Struct (defined ~40x faster than a frozen dataclass; see events)."""


class ContainerAction(Command, frozen=True):
    action: str  # start | stop | restart | remove
    container_id: str
    name: str


class Inspect(Command, frozen=True):
    container_id: str
    name: str


class FollowLogs(Command, frozen=True):
    container_id: str
    tail: int = 2000  # lines of the past first; -1: all of them
    timestamps: bool = False  # Docker's own per-line timestamps (RFC 3339, UTC) before each line


class SaveLog(Command, frozen=True):
    """Write a log's lines (already cleaned; secrets are masked on the way) to a file in ``folder``;
    a ``Notice`` names the file, or says why it could not be written."""

    folder: Path
    name: str
    lines: tuple[str, ...]


class StopLogs(Command, frozen=True):
    follower: int


class Launch(Command, frozen=True):
    run_id: int
    plan: LaunchPlan
    preset: Preset
    launch: bool  # False: preflight only
    remove_first: str | None = None


class RefreshDocker(Command, frozen=True):
    pass


class SetHelpFlag(Command, frozen=True):
    on: bool


class RerunDoctor(Command, frozen=True):
    pass


class ApplyFix(Command, frozen=True):
    check_id: str


class SelectServer(Command, frozen=True):
    url: str | None


# ---- chat -----------------------------------------------------------------------------------------
class SendChat(Command, frozen=True):
    """Ask the selected server (with the images attached); ``send`` returns False (and a notice says why) when
    it cannot. ``force``: send images to a server that looks text-only without holding them for a warning."""

    text: str
    force: bool = False


class AttachImage(Command, frozen=True):
    """Read, check, downscale and store an image for the question being typed."""

    path: str


class DetachImage(Command, frozen=True):
    """Take the ``index``-th image (-1: the last) off the question being typed."""

    index: int = -1


class ChooseShape(Command, frozen=True):
    """The answers' shape as typed (a JSON schema, ``choice: a, b``, ``regex: R``, ``@file.json``; "" for
    free text): read and checked in a thread, then the chat's settings carry it."""

    spec: str


class ChooseMode(Command, frozen=True):
    """chat | completion (``/v1/completions``)."""

    mode: str


class StopChat(Command, frozen=True):
    pass


class FetchModels(Command, frozen=True):
    pass


class ChooseModel(Command, frozen=True):
    model: str


class ChooseSettings(Command, frozen=True):
    settings: ChatSettings


class NewChat(Command, frozen=True):
    pass


class TrimChat(Command, frozen=True):
    """Stop sending the oldest turns (enough to fit after a "too long" error, else one) and, after such an
    error, ask its question again; ``send`` returns False (and a notice says why) when nothing can go."""


class ListConversations(Command, frozen=True):
    needle: str


class OpenConversation(Command, frozen=True):
    conversation_id: int


class RenameConversation(Command, frozen=True):
    conversation_id: int
    title: str


class DeleteConversation(Command, frozen=True):
    conversation_id: int


class ExportConversation(Command, frozen=True):
    conversation_id: int
    fmt: str  # md | json


# ---- bench ----------------------------------------------------------------------------------------
class PlanBench(Command, frozen=True):
    """Read the form into a plan (the prompt file, and the power mode now through ``power`` for an A/B);
    answered by a one-shot ``BenchPlanned``."""

    form: BenchForm
    power: PowerControl | None = None


class RunBench(Command, frozen=True):
    """Run ``plan`` and save its results in ``folder`` (None: not saved, ``jetconsole bench --no-save``);
    ``send`` returns "" when it started, else why not."""

    plan: BenchPlan
    folder: Path | None
    baseline: str = ""
    power: PowerControl | None = None  # switches the modes of a power A/B


class StopBench(Command, frozen=True):
    """Cancel the running bench: open requests closed, finished trials kept and saved."""


class ListBenchReports(Command, frozen=True):
    folder: Path


# ---- fit ------------------------------------------------------------------------------------------
class ReadFitConfig(Command, frozen=True):
    """Read a model's config.json (``text`` as typed: a file or a model directory); a ``FitConfigRead`` answers."""

    text: str


class ReadFitMemory(Command, frozen=True):
    """The device memory the fit sizes against: the runtime's telemetry (``memory`` None), else ``memory()``
    (a fixed reading, a what-if); a ``FitMemoryRead`` answers."""

    memory: Callable[[], DeviceMemory | None] | None = None


class WatchDevice(Command, frozen=True):
    """Read one device's whole answer from its agent each fleet interval while the device view shows it
    (None: stop)."""

    name: str | None


class ReadCluster(Command, frozen=True):
    """Read the recorded cluster and its status (a ClusterRead answers)."""


class OfferCluster(Command, frozen=True):
    """The devices a cluster can use, and the interfaces of ``devices`` (a ClusterOffered answers)."""

    devices: tuple[str, ...] = ()


class RunCluster(Command, frozen=True):
    """Run ``what`` on the recorded cluster, or on ``request``'s new plan: up | down | preflight."""

    what: str
    link_test: bool = False
    request: PlanRequest | None = None


class StopCluster(Command, frozen=True):
    """Stop the cluster operation that runs (an up cancelled takes both nodes down first)."""


class PlanFleetAction(Command, frozen=True):
    """Plan an organiser action for the named devices of the fleet (a FleetActionPlanned answers)."""

    run_id: int
    action: str
    devices: tuple[str, ...]
    options: ActionOptions


class RunFleetAction(Command, frozen=True):
    """Run the planned action ``run_id`` (the user said yes to its commands)."""

    run_id: int
    parallel: int = 4
    timeout: float = 0.0  # each device's limit (0: none)


class DeclineFleetAction(Command, frozen=True):
    """The user said no to the planned action ``run_id``: it is recorded, nothing runs."""

    run_id: int


class WatchFleet(Command, frozen=True):
    """Read the fleet's agents from now on (the Fleet screen asks; a start with no fleet reads nothing)."""
