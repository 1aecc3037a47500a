"""One answer from request to end: stream, save every chunk, hand text over in batches.

Blocking; the app runs it in a thread.  Each chunk is written to the store as it
arrives (a crash or kill -9 loses at most the chunk in flight), while the UI gets the
text at most ``batch_s`` apart: a pane redrawn per token could not keep up with a fast
server, one redrawn 10 times a second can.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from console.chat.client import ChatStream
from console.chat.model import MessageStats
from console.chat.stream import StreamEvent

BATCH_S = 0.1  # 10 redraws a second: each costs a whole frame while the answer scrolls

OnText = Callable[[str, str], None]  # (content, reasoning) since the last call
OnEnd = Callable[[str, MessageStats], None]  # (status, stats)


class Sink(Protocol):
    """Where chunks are saved (ChatStore); ``None`` saves nothing."""

    def append(self, message_id: int, kind: str, text: str) -> None: ...
    def finish_message(self, message_id: int, status: str, stats: MessageStats | None) -> None: ...


def run_answer(stream: ChatStream, on_text: OnText, on_end: OnEnd, store: Sink | None = None,
               message_id: int | None = None, batch_s: float = BATCH_S) -> None:
    """Read ``stream`` to its end; never raises (a store failure ends the answer with an error)."""
    events: queue.Queue[StreamEvent | None] = queue.Queue()
    store_error: list[str] = []

    def read() -> None:
        try:
            for event in stream:
                if store is not None and message_id is not None and event.kind in ("content", "reasoning"):
                    try:
                        store.append(message_id, event.kind, event.text)
                    except Exception as exc:  # noqa: BLE001 - disk full, DB locked: stop, say so
                        store_error.append(f"saving failed, answer stopped: {exc}")
                        stream.cancel()
                events.put(event)
        finally:
            events.put(None)

    reader = threading.Thread(target=read, name="jetconsole-chat-read", daemon=True)
    reader.start()
    content: list[str] = []
    reasoning: list[str] = []
    last = time.monotonic()
    while True:
        try:
            event = events.get(timeout=batch_s)
        except queue.Empty:
            event = StreamEvent("tick")
        if event is None:
            break
        if event.kind == "content":
            content.append(event.text)
        elif event.kind == "reasoning":
            reasoning.append(event.text)
        now = time.monotonic()
        if (content or reasoning) and (event.kind == "tick" or now - last >= batch_s):
            on_text("".join(content), "".join(reasoning))
            content, reasoning, last = [], [], now
    if content or reasoning:
        on_text("".join(content), "".join(reasoning))
    stats = stream.clock.stats()
    status = stream.status
    if store_error:
        status = "error"
        stats = MessageStats(**{**stats.to_dict(), "error": store_error[0]})
    if store is not None and message_id is not None:
        try:
            store.finish_message(message_id, status, stats)
        except Exception as exc:  # noqa: BLE001
            stats = MessageStats(**{**stats.to_dict(), "error": f"the answer was not saved: {exc}"})
    on_end(status, stats)
