"""Messages posted from threads to the app: the runtime's two (state changed, one-shot event), the
chat's, the fit's and the bench's."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from console.runtime.events import Event

if TYPE_CHECKING:  # types only: the screens that post these load them when they run
    from console.bench.report import BenchReport
    from console.bench.results import SavedRun
    from console.bench.runner import BenchPlan, RunEvent
    from console.fit.device import DeviceMemory


class StateChanged(Message):
    """The runtime's state changed: the screen in front renders it again.  Coalesced: a burst of
    changes waiting in the queue is one repaint."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StateChanged)


class RuntimeEvent(Message):
    """A one-shot event of the runtime (a notice, a question, log text, a launch's progress)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


# ---- fit screen ------------------------------------------------------------------------------------------------


class FitMemoryRead(Message):
    """The device memory the fit screen sizes against (a ``DeviceMemory``), or why it could not be read."""

    def __init__(self, memory: DeviceMemory | None, error: str | None = None) -> None:
        super().__init__()
        self.memory, self.error = memory, error


class FitConfigRead(Message):
    """A model's config.json read for the fit screen: ``text`` as typed, the file's path and dict, or the error."""

    def __init__(self, text: str, path: Path | None, config: dict[str, Any] | None, error: str | None = None) -> None:
        super().__init__()
        self.text, self.path, self.config, self.error = text, path, config, error


# ---- bench ---------------------------------------------------------------------------------------------------------


class BenchPlanned(Message):
    """The form read into a plan (a ``BenchPlan``) with the power mode now when it is an A/B, or the
    form's problems ((field, text) pairs)."""

    def __init__(
        self, plan: BenchPlan | None, problems: list[tuple[str, str]] | None = None, power_now: str = ""
    ) -> None:
        super().__init__()
        self.plan, self.problems, self.power_now = plan, problems or [], power_now


class BenchEvent(Message):
    """A running bench's ``Progress``, ``TrialDone`` or ``Note``."""

    def __init__(self, event: RunEvent) -> None:
        super().__init__()
        self.event = event


class BenchFinished(Message):
    """A bench ended (finished, failed or cancelled): its ``BenchReport``, the files it was saved to, or why not."""

    def __init__(self, report: BenchReport | None, paths: tuple[Path, ...] = (), error: str = "") -> None:
        super().__init__()
        self.report, self.paths, self.error = report, paths, error


class BenchListed(Message):
    """The saved runs of the results folder (``SavedRun`` list, newest first) and a word about the folder."""

    def __init__(self, runs: list[SavedRun], note: str = "") -> None:
        super().__init__()
        self.runs, self.note = runs, note
