"""One poller for Docker: lists on every container event, stats on a timer (no Textual).

The list follows Docker's event stream (a second loop only flags "changed"), with a
slow safety re-list; stats of running containers come every ``stats_interval``.  A
daemon that goes away is reported and reconnected with backoff.  The event and stats
loops run where ``spawn`` puts them: the runtime's runner (named, registered, stopped
with the rest), never a thread of their own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from console.containers.docker_source import DockerSource, DockerUnavailable, stats_from
from console.containers.model import ContainerInfo, ContainerStats
from console.containers.view import is_inference
from console.runtime.runner import Backoff
from console.runtime.sanitise import clean

RELIST_S = 15.0  # safety net if an event was missed
RETRY_MIN_S = 1.0
RETRY_MAX_S = 30.0
STATS_WORKERS = 8


class ContainerWatcher:
    def __init__(
        self,
        url: str,
        on_list: Callable[[tuple[ContainerInfo, ...]], None],
        on_stats: Callable[[dict[str, ContainerStats]], None],
        on_error: Callable[[str, str], None],
        spawn: Callable[[str, Callable[[], None]], None],
        stats_interval: float = 2.0,
    ) -> None:
        self.source = DockerSource(url)
        self.spawn = spawn  # spawn(name, loop): runs a loop of this watcher as a service
        self.on_list, self.on_stats, self.on_error = on_list, on_stats, on_error
        self.stats_interval = stats_interval
        self._stop = threading.Event()
        self._changed = threading.Event()
        self._running_ids: tuple[str, ...] = ()
        self._any_running = threading.Event()  # the stats loop sleeps on it while no container runs
        self._events: object | None = None

    def stop(self) -> None:
        self._stop.set()
        self._changed.set()
        self._any_running.set()
        events = self._events
        if events is not None and hasattr(events, "close"):
            try:
                events.close()  # unblocks the event thread
            except Exception:  # noqa: BLE001 - closing a dead stream
                pass

    def refresh(self) -> None:
        """Ask for a re-list now (after an action, say)."""
        self._changed.set()

    def run(self) -> None:
        """List loop; spawns the stats loop, and the event loop each time it connects."""
        backoff = Backoff(RETRY_MIN_S, RETRY_MAX_S)
        self.spawn("stats", self._poll_stats)
        while not self._stop.is_set():
            try:
                self.source.open()
            except DockerUnavailable as exc:
                self.on_error(str(exc), exc.hint)
                self._stop.wait(backoff.next())
                continue
            backoff.reset()
            self.spawn("events", self._follow_events)
            try:
                while not self._stop.is_set():
                    self._changed.clear()
                    listed = self._with_pids(self.source.containers())
                    self._set_running(tuple(c.id for c in listed if c.running))
                    self.on_list(listed)
                    self._changed.wait(RELIST_S)
            except Exception as exc:  # noqa: BLE001 - daemon gone mid-call: report, reconnect
                if not self._stop.is_set():
                    self.on_error(clean(f"Docker connection lost: {type(exc).__name__}: {exc}"), "reconnecting")
                self._set_running(())
                self.source.close()
                self._stop.wait(backoff.next())

    def _set_running(self, ids: tuple[str, ...]) -> None:
        self._running_ids = ids
        if ids:
            self._any_running.set()
        else:
            self._any_running.clear()

    def _with_pids(self, listed: tuple[ContainerInfo, ...]) -> tuple[ContainerInfo, ...]:
        """Inference containers carry their host PIDs so GPU memory can be joined to them."""
        out = []
        for c in listed:
            if c.running and is_inference(c):
                try:
                    c = replace(c, pids=self.source.pids(c.id))
                except Exception:  # noqa: BLE001 - stopped meanwhile: no PIDs this round
                    pass
            out.append(c)
        return tuple(out)

    def _follow_events(self) -> None:
        try:
            self._events = self.source.events()
            for _event in self._events:
                self._changed.set()
                if self._stop.is_set():
                    return
        except Exception:  # noqa: BLE001 - the list loop notices the dead daemon and reports it
            pass
        self._changed.set()  # stream ended: make the list loop find out why

    def _poll_stats(self) -> None:
        """All running containers read at once: the daemon answers each one-shot stats
        request only at its next ~1 s collection, so one at a time would take N seconds."""
        previous: dict[str, dict] = {}
        local = threading.local()

        def read(cid: str) -> ContainerStats | None:
            if getattr(local, "source", None) is None:
                local.source = DockerSource(self.source.url)
                local.source.open()
            try:
                return stats_from(cid, local.source.api.stats(cid, stream=False, one_shot=True), previous)
            except Exception:  # noqa: BLE001 - stopped or removed meanwhile: skip it this round
                return None

        with ThreadPoolExecutor(max_workers=STATS_WORKERS, thread_name_prefix="jetconsole-stats") as pool:
            reads: dict[str, int] = {}  # container id -> stats requests made for it

            def pause() -> float:
                # A CPU % is the difference of two readings: a new container is read at once and again at once
                # (the daemon answers each at its next ~1 s collection), so its CPU shows ~2 s after it is
                # listed; then every stats_interval.  Counting requests, not answers: a container that fails to
                # answer does not keep the loop asking.
                fresh = any(reads.get(cid, 0) < 2 for cid in self._running_ids)
                return 0.0 if fresh else self.stats_interval

            while not self._stop.is_set():
                if not self._running_ids:  # nothing to read: no wake-ups until a container runs (or a stop)
                    self._any_running.wait()
                    continue
                if self._stop.wait(pause()):
                    break
                ids = self._running_ids
                reads = {cid: reads.get(cid, 0) + 1 for cid in ids}  # a stopped container's count goes
                try:
                    results = list(pool.map(read, ids))
                except Exception:  # noqa: BLE001 - daemon gone: the list loop reports it
                    continue
                stats = {s.id: s for s in results if s is not None}
                if stats and not self._stop.is_set():
                    self.on_stats(stats)
