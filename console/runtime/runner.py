"""One lifecycle for every activity: named daemon threads, a stop event each, backoff, errors as
reports, a registry, ``stop_all()`` and ``idle()``.

Daemon threads of our own, not Textual's executor: the default executor is joined at exit, so
a poller blocked in jtop's ``ok()`` held up ``q`` by up to one refresh interval (measured).

A service is *busy* while it does work and *idle* while it waits: in :meth:`Lifecycle.wait`,
or between the steps of a loop.  :meth:`Runner.idle` returns once no service is busy, which is
what tests wait on instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

ErrorHook = Callable[[str, BaseException], None]


@dataclass
class Backoff:
    """Waits that double after each failure, from ``first`` up to ``most``; ``reset()`` after a success."""

    first: float = 2.0
    most: float = 30.0
    _now: float = field(default=0.0, init=False)

    def next(self) -> float:
        """The wait before the next try (and double the one after it)."""
        self._now = self.first if self._now == 0.0 else min(self.most, self._now * 2)
        return self._now

    def reset(self) -> None:
        self._now = 0.0


class Lifecycle:
    """What a running service holds: its name, its stop event and its busy mark."""

    def __init__(self, name: str, runner: Runner) -> None:
        self.name = name
        self.stop_event = threading.Event()
        self._runner = runner
        self.busy = True
        self.thread: threading.Thread | None = None
        self._on_stop: list[Callable[[], None]] = []

    @property
    def stopped(self) -> bool:
        return self.stop_event.is_set()

    def stop(self) -> None:
        """Set the stop event, then call what ``on_stop`` registered (closing a blocking stream)."""
        if self.stop_event.is_set():
            return
        self.stop_event.set()
        for hook in self._on_stop:
            try:
                hook()
            except Exception:  # noqa: BLE001 - unblocking a dead stream
                pass

    def on_stop(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` when the service is stopped (now, when it already is)."""
        self._on_stop.append(hook)
        if self.stop_event.is_set():
            hook()

    def wait(self, seconds: float | None) -> bool:
        """Sleep (idle) until ``seconds`` pass or the service is stopped; True when stopped."""
        with self.waiting():
            return self.stop_event.wait(seconds)

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Mark the service idle while it blocks on something outside (a paced read, a queue)."""
        self._runner._mark(self, False)
        try:
            yield
        finally:
            self._runner._mark(self, True)


class Runner:
    """Starts, tracks and stops the services of one runtime."""

    def __init__(self, on_error: ErrorHook | None = None) -> None:
        self._on_error = on_error
        self._services: dict[int, Lifecycle] = {}
        self._cond = threading.Condition()
        self._next = 0

    # ---- starting -------------------------------------------------------------------------------
    def spawn(
        self, name: str, work: Callable[[Lifecycle], None], cleanup: Callable[[], None] | None = None
    ) -> Lifecycle:
        """Run ``work(lifecycle)`` once in a named daemon thread; an exception is reported, never raised.
        ``cleanup`` runs in that thread when it ends, however it ends (closing a connection, say)."""
        life = Lifecycle(name, self)
        with self._cond:
            self._next += 1
            key = self._next
            self._services[key] = life

        def run() -> None:
            try:
                work(life)
            except Exception as exc:  # noqa: BLE001 - a service's failure is an event, never the app's end
                if not life.stopped:
                    self._report(name, exc)
            finally:
                if cleanup is not None:
                    try:
                        cleanup()
                    except Exception as exc:  # noqa: BLE001 - closing a dead connection
                        self._report(name, exc)
                with self._cond:
                    self._services.pop(key, None)
                    self._cond.notify_all()

        life.thread = threading.Thread(target=run, name=f"jetconsole-{name}", daemon=True)
        life.thread.start()
        return life

    def every(
        self,
        name: str,
        step: Callable[[Lifecycle], float | None],
        interval: float,
        backoff: Backoff | None = None,
        on_error: ErrorHook | None = None,
        cleanup: Callable[[], None] | None = None,
    ) -> Lifecycle:
        """Call ``step`` until stopped, waiting ``interval`` (or what ``step`` returns) between calls.

        A step that raises is reported (to ``on_error``, else the runner's hook) and retried after
        the backoff's next wait; a step that returns resets the backoff.  The wait is counted from
        the step's start, so a 1 s loop stays at 1 s however long the step took.
        """
        back = backoff or Backoff()

        def loop(life: Lifecycle) -> None:
            while not life.stopped:
                started = time.monotonic()
                try:
                    wanted = step(life)
                except Exception as exc:  # noqa: BLE001 - reported, then retried with backoff
                    if life.stopped:
                        return
                    (on_error or self._report)(name, exc)
                    life.wait(back.next())
                    continue
                back.reset()
                wait = interval if wanted is None else wanted
                life.wait(max(0.0, wait - (time.monotonic() - started)))

        return self.spawn(name, loop, cleanup)

    # ---- stopping and waiting -------------------------------------------------------------------
    def services(self) -> list[str]:
        """The names of the services now running (the registry)."""
        with self._cond:
            return sorted(s.name for s in self._services.values())

    def stop(self, prefix: str) -> None:
        """Stop every service whose name is ``prefix`` or starts with ``prefix + ':'``."""
        with self._cond:
            lives = [s for s in self._services.values() if s.name == prefix or s.name.startswith(prefix + ":")]
        for life in lives:
            life.stop()

    def stop_all(self, timeout: float = 0.0) -> bool:
        """Stop every service; with a timeout, wait that long for their threads to end (True: all ended)."""
        with self._cond:
            lives = list(self._services.values())
        for life in lives:
            life.stop()
        if timeout <= 0:
            return False
        deadline = time.monotonic() + timeout
        with self._cond:
            return self._cond.wait_for(lambda: not self._services, max(0.0, deadline - time.monotonic()))

    def idle(self, timeout: float = 10.0, names: Collection[str] | None = None) -> bool:
        """Wait until no service is busy (every loop waiting, every one-shot job ended), or only those of ``names``;
        False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not any(s.busy for s in self._services.values() if names is None or s.name in names),
                timeout,
            )

    def busy(self) -> list[str]:
        """The names of the services now working: what ``idle()`` waits for."""
        with self._cond:
            return sorted(s.name for s in self._services.values() if s.busy)

    # ---- inside -----------------------------------------------------------------------------------
    def _mark(self, life: Lifecycle, busy: bool) -> None:
        with self._cond:
            life.busy = busy
            self._cond.notify_all()

    def _report(self, name: str, exc: BaseException) -> None:
        if self._on_error is not None:
            self._on_error(name, exc)
