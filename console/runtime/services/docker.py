"""Docker: the watcher (list on every event, stats on a timer), container actions, inspect and log
followers, each a service on the runner that only emits events (launches: ``services.launch``)."""

from __future__ import annotations

import codecs
import queue
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from console.containers.docker_source import ContainerGone, DockerSource, DockerUnavailable
from console.containers.logsave import save_log
from console.containers.model import ActionResult
from console.containers.view import inspect_text
from console.containers.watcher import ContainerWatcher
from console.runtime import events as ev
from console.runtime.hub import Hub
from console.runtime.runner import Lifecycle
from console.runtime.sanitise import clean

LOG_BATCH_S = 0.2  # log text reaches the screen as at most 5 batches a second...
LOG_FLOOD_BATCH_S = 0.5  # ...and 2 while a batch holds over 8 KiB: rendering is what a flood costs
LOG_FLOOD_BYTES = 8192


def _pump(stream: Iterable[bytes], chunks: queue.Queue[bytes | None], stop: threading.Event) -> None:
    """Blocking reads of a log stream into a queue; None marks its end."""
    try:
        for chunk in stream:
            chunks.put(chunk)
            if stop.is_set():
                break
    except Exception:  # noqa: BLE001 - a cut stream ends like a finished one; the follower says so
        pass
    chunks.put(None)


class DockerService:
    def __init__(self, hub: Hub, url: str, on_launched: Callable[[str], None]) -> None:
        self.hub = hub
        self.url = url
        self.on_launched = on_launched  # a container a launch from here follows itself
        self.watcher: ContainerWatcher | None = None
        self._next_follower = 0

    def start_watcher(self) -> None:
        runner = self.hub.runner

        def spawn(name: str, loop: Callable[[], None]) -> None:
            def run(life: Lifecycle) -> None:
                with life.waiting():  # the watcher's loops wait on Docker (its event stream, the stats timer)
                    loop()

            runner.spawn(f"docker:{name}", run).on_stop(watcher.stop)

        watcher = ContainerWatcher(
            self.url,
            on_list=lambda cs: self.hub.emit(ev.ContainersListed(cs)),
            on_stats=lambda st: self.hub.emit(ev.StatsUpdated(tuple(st.items()))),
            on_error=lambda reason, hint: self.hub.emit(ev.DockerFailed(reason, hint)),
            spawn=spawn,
        )
        self.watcher = watcher
        spawn("list", watcher.run)

    def refresh(self) -> None:
        if self.watcher is not None:
            self.watcher.refresh()

    def with_source(self, name: str, work: Callable[[DockerSource, Lifecycle], None]) -> None:
        """Run ``work`` as a service with its own Docker connection, closed when it ends."""
        source = DockerSource(self.url)
        self.hub.runner.spawn(name, lambda life: work(source, life), cleanup=source.close)

    def act(self, action: str, container_id: str, name: str) -> None:
        """Carry out ``action``: pending in the state from now until Docker answers; a start of a running
        container or a stop of a stopped one is not sent, and the result says so."""
        self.hub.emit(ev.ContainerActionSent(container_id, action))

        def work(source: DockerSource, _life: Lifecycle) -> None:
            try:
                source.open()
                result = already(source, action, container_id, name) or source.act(action, container_id, name)
            except DockerUnavailable as exc:
                result = ActionResult(False, action, name, f"{exc} — {exc.hint}")
            finally:
                self.hub.emit(ev.ContainerActionSettled(container_id))
            self.hub.emit(ev.ActionDone(result))
            self.refresh()

        self.with_source(f"action:{action}", work)

    def inspect(self, container_id: str, name: str) -> None:
        def work(source: DockerSource, _life: Lifecycle) -> None:
            try:
                source.open()
                text = inspect_text(source.inspect(container_id))  # secrets masked, "••••" not \u2022
            except ContainerGone:
                text = f"{name} no longer exists."
            except DockerUnavailable as exc:
                text = f"{exc} — {exc.hint}"
            self.hub.emit(ev.InspectReady(f"Inspect {name} (secrets masked)", text))

        self.with_source("inspect", work)

    def follow_logs(self, container_id: str, tail: int = 2000, timestamps: bool = False) -> int:
        """Start following a container's log; batches arrive as ``LogBatch`` events for the returned id."""
        self._next_follower += 1
        follower = self._next_follower

        def work(source: DockerSource, life: Lifecycle) -> None:
            emit = self.hub.emit
            chunks: queue.Queue[bytes | None] = queue.Queue()
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            ended = "closed"
            try:
                source.open()
                stream = source.logs(container_id, tail=tail, follow=True, timestamps=timestamps)
                self.hub.runner.spawn(
                    f"logs-read:{follower}", lambda rl: _pump_waiting(rl, stream, chunks, life.stop_event)
                )
                pending: list[str] = []
                last, interval = time.monotonic(), LOG_BATCH_S
                while not life.stopped:
                    try:
                        with life.waiting():
                            chunk = chunks.get(timeout=LOG_BATCH_S)
                    except queue.Empty:
                        chunk = b""
                    if chunk is None:
                        ended = "the container stopped"
                        break
                    if chunk:
                        pending.append(decoder.decode(chunk))
                    now = time.monotonic()
                    if pending and (not chunk or now - last >= interval):  # quiet, or a batch's worth
                        text = "".join(pending)
                        interval = LOG_FLOOD_BATCH_S if len(text) > LOG_FLOOD_BYTES else LOG_BATCH_S
                        emit(ev.LogBatch(follower, text))
                        pending, last = [], now
                if life.stopped:
                    close = getattr(stream, "close", None)
                    if close is not None:
                        close()
                    return
                pending.append(decoder.decode(b"", final=True))
                emit(ev.LogBatch(follower, "".join(pending), ended=ended))
            except ContainerGone:
                emit(ev.LogBatch(follower, "", ended="the container was removed"))
            except DockerUnavailable as exc:
                emit(ev.LogBatch(follower, "", ended=f"{exc} — {exc.hint}"))
            except Exception as exc:  # noqa: BLE001 - daemon gone mid-stream
                emit(ev.LogBatch(follower, "", ended=clean(f"{type(exc).__name__}: {exc}")))

        self.with_source(f"logs:{follower}", work)
        return follower

    def stop_logs(self, follower: int) -> None:
        self.hub.runner.stop(f"logs:{follower}")

    def save_log(self, folder: Path, name: str, lines: tuple[str, ...]) -> None:
        """Write ``lines`` to a new file in ``folder`` off the UI's thread; a notice names it."""

        def work(_life: Lifecycle) -> None:
            try:
                path = save_log(folder, name, lines, time.time())
            except OSError as exc:
                self.hub.emit(ev.Notice(f"Log not saved: {exc.strerror or exc} ({folder})", "error", 8))
                return
            self.hub.emit(ev.Notice(f"Saved {len(lines)} lines to {path}", timeout=8))

        self.hub.runner.spawn(f"save-log:{name}", work)


def already(source: DockerSource, action: str, container_id: str, name: str) -> ActionResult | None:
    """ "already running" / "already stopped" when ``action`` would change nothing (Docker answers such a
    start or stop with 304 and docker-py reports success); None when it should be sent."""
    if action not in ("start", "stop"):
        return None
    try:
        running = bool((source.inspect(container_id, masked=False).get("State") or {}).get("Running"))
    except ContainerGone:
        return ActionResult(False, action, name, f"{name} no longer exists (removed elsewhere)")
    except Exception:  # noqa: BLE001 - the daemon gone, an API error: the action itself will say what happened
        return None
    if running == (action == "start"):
        return ActionResult(True, action, name, f"{name} is already {'running' if running else 'stopped'}")
    return None


def _pump_waiting(
    life: Lifecycle, stream: Iterable[bytes], chunks: queue.Queue[bytes | None], stop: threading.Event
) -> None:
    with life.waiting():  # blocked on the daemon's stream: waiting, not working
        _pump(stream, chunks, stop)
