"""Messages posted from worker threads to the app (the only way data reaches the UI)."""

from __future__ import annotations

from textual.message import Message

from console.containers.model import ActionResult, ContainerInfo, ContainerStats
from console.telemetry.discovery import Discovery
from console.telemetry.model import TelemetrySnapshot


class SourcesDiscovered(Message):
    def __init__(self, discovery: Discovery) -> None:
        super().__init__()
        self.discovery = discovery


class TelemetrySampled(Message):
    def __init__(self, snapshot: TelemetrySnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class SourceFailed(Message):
    def __init__(self, source: str, error: str) -> None:
        super().__init__()
        self.source = source
        self.error = error


class ContainersListed(Message):
    def __init__(self, containers: tuple[ContainerInfo, ...]) -> None:
        super().__init__()
        self.containers = containers


class ContainerStatsUpdated(Message):
    def __init__(self, stats: dict[str, ContainerStats]) -> None:
        super().__init__()
        self.stats = stats


class DockerFailed(Message):
    def __init__(self, reason: str, hint: str) -> None:
        super().__init__()
        self.reason = reason
        self.hint = hint


class ContainerActionDone(Message):
    def __init__(self, result: ActionResult) -> None:
        super().__init__()
        self.result = result


class LogLines(Message):
    """A batch of raw log text for one follower (batched: at most 5 posts a second)."""

    def __init__(self, follower: int, text: str, ended: str | None = None) -> None:
        super().__init__()
        self.follower = follower
        self.text = text
        self.ended = ended


class InspectReady(Message):
    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title = title
        self.text = text


class PreflightDone(Message):
    def __init__(self, run_id: int, checks: list, blocked: bool, launching: bool) -> None:
        super().__init__()
        self.run_id, self.checks, self.blocked, self.launching = run_id, checks, blocked, launching


class LaunchProgress(Message):
    def __init__(self, run_id: int, event: object | None, message: str = "", container: str = "") -> None:
        super().__init__()
        self.run_id, self.event, self.message, self.container = run_id, event, message, container


class ChatText(Message):
    """A batch of answer text (content and reasoning since the last batch)."""

    def __init__(self, answer: int, content: str, reasoning: str) -> None:
        super().__init__()
        self.answer, self.content, self.reasoning = answer, content, reasoning


class ChatEnded(Message):
    def __init__(self, answer: int, status: str, stats: object) -> None:
        super().__init__()
        self.answer, self.status, self.stats = answer, status, stats


class ChatModels(Message):
    """``/v1/models`` of an endpoint, or why it could not be read."""

    def __init__(self, url: str, models: tuple, error: str | None = None) -> None:
        super().__init__()
        self.url, self.models, self.error = url, models, error


class ChatStored(Message):
    """A store call finished: ``kind`` says which (listed, loaded, saved, exported, failed)."""

    def __init__(self, kind: str, payload: object = None, text: str = "") -> None:
        super().__init__()
        self.kind, self.payload, self.text = kind, payload, text


class ServerPolled(Message):
    def __init__(self, status: object) -> None:
        super().__init__()
        self.status = status


# ---- fit screen ------------------------------------------------------------------------------------------------


class FitMemoryRead(Message):
    """The device memory the fit screen sizes against (a ``DeviceMemory``), or why it could not be read."""

    def __init__(self, memory: object | None, error: str | None = None) -> None:
        super().__init__()
        self.memory, self.error = memory, error


class FitConfigRead(Message):
    """A model's config.json read for the fit screen: ``text`` as typed, the file's path and dict, or the error."""

    def __init__(self, text: str, path: object | None, config: dict | None, error: str | None = None) -> None:
        super().__init__()
        self.text, self.path, self.config, self.error = text, path, config, error


# ---- doctor --------------------------------------------------------------------------------------------------------


class DoctorChecked(Message):
    """A full run of the doctor's checks (a list of ``Check``) and when it finished."""

    def __init__(self, checks: list, at: float) -> None:
        super().__init__()
        self.checks, self.at = checks, at


class DoctorProgress(Message):
    """A line of a running fix (``done``: the fix finished; ``ok`` its verdict; ``reboot``: offer a reboot)."""

    def __init__(self, fix: str, line: str, done: bool = False, ok: bool = True, reboot: bool = False) -> None:
        super().__init__()
        self.fix, self.line, self.done, self.ok, self.reboot = fix, line, done, ok, reboot


class DoctorAsk(Message):
    """A fix waits for a yes/no: the app asks and sets ``reply`` (a concurrent.futures.Future[bool])."""

    def __init__(self, fix: str, title: str, text: str, reply: object) -> None:
        super().__init__()
        self.fix, self.title, self.text, self.reply = fix, title, text, reply


# ---- HUD -----------------------------------------------------------------------------------------------------------


class HelpFlagRead(Message):
    """The workshop help flag as read (or written) from its file; ``error``: why a change failed."""

    def __init__(self, on: bool, error: str | None = None) -> None:
        super().__init__()
        self.on, self.error = on, error


class HostRead(Message):
    def __init__(self, host: str, ip: str) -> None:
        super().__init__()
        self.host, self.ip = host, ip


# ---- bench ---------------------------------------------------------------------------------------------------------


class BenchPlanned(Message):
    """The form read into a plan (a ``BenchPlan``) with the power mode now when it is an A/B, or the
    form's problems ((field, text) pairs)."""

    def __init__(self, plan: object | None, problems: list[tuple[str, str]] | None = None, power_now: str = "") -> None:
        super().__init__()
        self.plan, self.problems, self.power_now = plan, problems or [], power_now


class BenchEvent(Message):
    """A running bench's ``Progress``, ``TrialDone`` or ``Note``."""

    def __init__(self, event: object) -> None:
        super().__init__()
        self.event = event


class BenchFinished(Message):
    """A bench ended (finished, failed or cancelled): its ``BenchReport``, the files it was saved to, or why not."""

    def __init__(self, report: object | None, paths: tuple = (), error: str = "") -> None:
        super().__init__()
        self.report, self.paths, self.error = report, paths, error


class BenchListed(Message):
    """The saved runs of the results folder (``SavedRun`` list, newest first) and a word about the folder."""

    def __init__(self, runs: list, note: str = "") -> None:
        super().__init__()
        self.runs, self.note = runs, note
