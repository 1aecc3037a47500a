"""Typed commands: what the UI and the CLIs ask the runtime to do (``Runtime.send``)."""

from __future__ import annotations

from dataclasses import dataclass

from console.containers.presets import LaunchPlan, Preset


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
