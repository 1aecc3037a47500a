"""Telemetry: discovery, then one polling service per source (reopened with backoff when it dies)."""

from __future__ import annotations

from collections.abc import Callable

from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Backoff, Lifecycle
from console.telemetry.discovery import Discovery
from console.telemetry.model import SourceReport, SourceStatus
from console.telemetry.source import SourceUnavailable, TelemetrySource

RETRY_MIN_S = 2.0
RETRY_MAX_S = 30.0


def start_discovery(hub: Hub, discover: Callable[[], Discovery], interval: float) -> None:
    """Find the sources in a thread, then poll each one."""

    def work(_life: Lifecycle) -> None:
        try:
            found = discover()
        except Exception as exc:  # noqa: BLE001 - shown in the Sources panel, never fatal
            status = SourceStatus(
                "telemetry",
                False,
                f"discovery failed: {type(exc).__name__}: {exc}",
                "report this with `jetconsole snapshot --json`",
            )
            found = Discovery(sources=[], report=SourceReport((status,)))
        hub.emit(ev.SourcesFound(tuple(s.name for s in found.sources), found.report))
        for source in found.sources:
            poll_source(hub, source, interval, opened=True)

    hub.runner.spawn("discover", work)


def poll_source(hub: Hub, source: TelemetrySource, interval: float, opened: bool = False) -> Lifecycle:
    """Sample ``source`` every ``interval`` (a paced source sets its own pace) until stopped.

    Polls never overlap (one loop, one source); a failure is emitted as ``SourceFailed``, the
    source is closed and reopened with backoff; the rest of the console keeps going.
    """
    is_open = [opened]

    def step(life: Lifecycle) -> float | None:
        if not is_open[0]:
            source.open()
            is_open[0] = True
        if source.paced:
            with life.waiting():  # a paced read blocks until the source's own next sample
                snapshot = source.sample()
        else:
            snapshot = source.sample()
        if not life.stopped:
            hub.emit(ev.Sampled(snapshot))
        return 0.0 if source.paced else None

    def failed(_name: str, exc: BaseException) -> None:
        if is_open[0]:
            source.close()
            is_open[0] = False
        if isinstance(exc, SourceUnavailable):
            message = f"{exc}" + (f" — {exc.hint}" if exc.hint else "")
        else:
            message = f"{type(exc).__name__}: {exc}"
        hub.emit(ev.SourceFailed(source.name, message))

    return hub.runner.every(
        f"poll:{source.name}",
        step,
        interval,
        Backoff(RETRY_MIN_S, RETRY_MAX_S),
        on_error=failed,
        cleanup=source.close,
    )
