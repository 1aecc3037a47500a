"""What a CLI that runs the runtime headless waits on: a condition of the state, and a first full
telemetry sample.  Subscriptions, never fixed sleeps."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Protocol

from console.runtime import events as ev
from console.runtime.state import ConsoleState
from console.telemetry.discovery import Discovery
from console.telemetry.model import SourceReport

Subscriber = Callable[[ConsoleState, ev.Event], None]


class Observable(Protocol):
    """The part of the runtime a waiting CLI uses."""

    @property
    def state(self) -> ConsoleState: ...

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]: ...


def no_telemetry() -> Discovery:
    """The ``discover_fn`` of a CLI that needs no telemetry: no source is opened, nothing is sampled."""
    return Discovery([], SourceReport())


def wait_for(runtime: Observable, predicate: Callable[[ConsoleState], bool], timeout: float) -> bool:
    """Wait until ``predicate(state)`` holds (checked now and after every event); False on timeout."""
    done = threading.Event()

    def check(state: ConsoleState, _event: ev.Event) -> None:
        if predicate(state):
            done.set()

    unsubscribe = runtime.subscribe(check)
    try:
        return predicate(runtime.state) or done.wait(timeout)
    finally:
        unsubscribe()


class EventQueue:
    """Subscribe it: the events of ``kinds``, each with the state it made, in order, for a CLI's main
    thread to take.  That thread does the writing, so a slow terminal or pipe never holds up the
    service that emitted; ``get`` blocks until the next one comes (Ctrl-C interrupts it)."""

    def __init__(self, kinds: tuple[type[ev.Event], ...]) -> None:
        self.kinds = kinds
        self._queue: queue.SimpleQueue[tuple[ConsoleState, ev.Event]] = queue.SimpleQueue()

    def __call__(self, state: ConsoleState, event: ev.Event) -> None:
        if isinstance(event, self.kinds):
            self._queue.put((state, event))

    def get(self) -> tuple[ConsoleState, ev.Event]:
        return self._queue.get()

    def pending(self) -> list[ev.Event]:
        """The events waiting now (without blocking)."""
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait()[1])
            except queue.Empty:
                return out


class FirstSamples:
    """Subscribe it before ``start()``: set once discovery has reported and every source it found has
    given ``wanted(name)`` samples or failed (``wait``).  Each ``Sampled`` also goes to ``on_sample``."""

    def __init__(
        self,
        wanted: Callable[[str], int] = lambda _name: 1,
        on_sample: Callable[[ev.Sampled, ConsoleState], None] | None = None,
    ) -> None:
        self.wanted = wanted
        self.on_sample = on_sample
        self.counts: dict[str, int] = {}
        self.found = False
        self.ready = threading.Event()

    def __call__(self, state: ConsoleState, event: ev.Event) -> None:
        if isinstance(event, ev.SourcesFound):
            self.found = True
        elif isinstance(event, ev.Sampled):
            name = event.snapshot.sources[0] if event.snapshot.sources else "?"
            self.counts[name] = self.counts.get(name, 0) + 1
            if self.on_sample is not None:
                self.on_sample(event, state)
        elif not isinstance(event, ev.SourceFailed):
            return
        telemetry = state.telemetry
        if self.found and all(
            n in telemetry.errors or self.counts.get(n, 0) >= self.wanted(n) for n in telemetry.order
        ):
            self.ready.set()

    def wait(self, timeout: float) -> bool:
        return self.ready.wait(timeout)
