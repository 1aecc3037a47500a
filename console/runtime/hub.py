"""What a service may use of the runtime: emit events, read the state, ask, start threads.

A leaf protocol, so services depend on it and not on the runtime that runs them.
"""

from __future__ import annotations

from typing import Protocol

from console.runtime.events import Event
from console.runtime.runner import Runner
from console.runtime.state import ConsoleState


class Hub(Protocol):
    runner: Runner

    @property
    def state(self) -> ConsoleState: ...

    def emit(self, event: Event) -> None:
        """Fold ``event`` into the state and hand it to the subscribers (any thread)."""

    def ask(self, title: str, text: str, strict: bool = True) -> bool:
        """A yes/no from whoever drives the runtime (a dialog, a terminal prompt); blocks the caller's thread."""

    def ask_word(self, text: str) -> str | None:
        """A typed word (e.g. ``reboot``) from whoever drives the runtime; None when declined."""
