"""The messages the runtime's subscriber posts to the app from service threads: the state changed, a one-shot
event."""

from __future__ import annotations

from textual.message import Message

from console.runtime.events import Event


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
