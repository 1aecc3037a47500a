"""Typed commands: what the UI and the CLIs ask the runtime to do (``Runtime.send``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from console.bench.form import BenchForm
from console.bench.runner import BenchPlan, PowerControl
from console.chat.session import ChatSettings
from console.containers.presets import LaunchPlan, Preset
from console.fit.device import DeviceMemory


class Command:
    """Base of every command."""


@dataclass(frozen=True)
class ContainerAction(Command):
    action: str  # start | stop | restart | remove
    container_id: str
    name: str


@dataclass(frozen=True)
class Inspect(Command):
    container_id: str
    name: str


@dataclass(frozen=True)
class FollowLogs(Command):
    container_id: str
    tail: int = 2000


@dataclass(frozen=True)
class StopLogs(Command):
    follower: int


@dataclass(frozen=True)
class Launch(Command):
    run_id: int
    plan: LaunchPlan
    preset: Preset
    launch: bool  # False: preflight only
    remove_first: str | None = None


@dataclass(frozen=True)
class RefreshDocker(Command):
    pass


@dataclass(frozen=True)
class SetHelpFlag(Command):
    on: bool


@dataclass(frozen=True)
class RerunDoctor(Command):
    pass


@dataclass(frozen=True)
class ApplyFix(Command):
    check_id: str


@dataclass(frozen=True)
class SelectServer(Command):
    url: str | None


# ---- chat -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SendChat(Command):
    """Ask the selected server; ``send`` returns False (and a notice says why) when it cannot."""

    text: str


@dataclass(frozen=True)
class StopChat(Command):
    pass


@dataclass(frozen=True)
class FetchModels(Command):
    pass


@dataclass(frozen=True)
class ChooseModel(Command):
    model: str


@dataclass(frozen=True)
class ChooseSettings(Command):
    settings: ChatSettings


@dataclass(frozen=True)
class NewChat(Command):
    pass


@dataclass(frozen=True)
class ListConversations(Command):
    needle: str


@dataclass(frozen=True)
class OpenConversation(Command):
    conversation_id: int


@dataclass(frozen=True)
class RenameConversation(Command):
    conversation_id: int
    title: str


@dataclass(frozen=True)
class DeleteConversation(Command):
    conversation_id: int


@dataclass(frozen=True)
class ExportConversation(Command):
    conversation_id: int
    fmt: str  # md | json


# ---- bench ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanBench(Command):
    """Read the form into a plan (the prompt file, and the power mode now through ``power`` for an A/B);
    answered by a one-shot ``BenchPlanned``."""

    form: BenchForm
    power: PowerControl | None = None


@dataclass(frozen=True)
class RunBench(Command):
    """Run ``plan`` and save its results in ``folder``; ``send`` returns "" when it started, else why not."""

    plan: BenchPlan
    folder: Path
    baseline: str = ""
    power: PowerControl | None = None  # switches the modes of a power A/B


@dataclass(frozen=True)
class StopBench(Command):
    """Cancel the running bench: open requests closed, finished trials kept and saved."""


@dataclass(frozen=True)
class ListBenchReports(Command):
    folder: Path


# ---- fit ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReadFitConfig(Command):
    """Read a model's config.json (``text`` as typed: a file or a model directory); a ``FitConfigRead`` answers."""

    text: str


@dataclass(frozen=True)
class ReadFitMemory(Command):
    """The device memory the fit sizes against: the runtime's telemetry (``memory`` None), else ``memory()``
    (a fixed reading, a what-if); a ``FitMemoryRead`` answers."""

    memory: Callable[[], DeviceMemory | None] | None = None
