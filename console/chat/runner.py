"""One answer from request to end: stream, save every chunk, hand text over in batches.

Blocking; the app runs it in a thread.  A reader thread takes the stream one HTTP chunk at a
time and commits what arrived to the store at most ``SAVE_EVERY_S`` apart (a crash or kill -9 loses
at most the last 50 ms of the answer): a commit a token cost a fast stream a third of its speed.
The text goes to the UI at most ``batch_s`` apart: a pane redrawn per token
could not keep up with a fast server, one redrawn 10 times a second can.

Past ``FAST_CHARS_PER_S`` the hand-overs slow to ``FAST_BATCH_S``: a frame costs the same
whatever it shows, and the frames saved let the pane keep up with 5,000 tokens/s on a small CPU.

The reader never wakes another thread per token: each wake-up is a hand-over of the GIL, and a
busy UI thread makes each hand-over wait (up to the interpreter's 5 ms switch interval), which
capped the reader at a few hundred tokens a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from console.chat.client import ChatStream
from console.chat.model import MessageStats

BATCH_S = 0.1  # 10 redraws a second: each costs a whole frame while the answer scrolls
FAST_BATCH_S = 0.25  # 4 a second for a stream faster than anyone reads: frames cost more than they show
SAVE_EVERY_S = 0.05  # the store commits what arrived this often, and when the answer ends
FAST_CHARS_PER_S = 10_000  # about 2,000 tokens/s of English text

OnText = Callable[[str, str], None]  # (content, reasoning) since the last call
OnEnd = Callable[[str, MessageStats], None]  # (status, stats)
TEXT_KINDS = ("content", "reasoning")


class Sink(Protocol):
    """Where chunks are saved (ChatStore); ``None`` saves nothing."""

    def append_many(self, message_id: int, parts: list[tuple[str, str]]) -> None: ...
    def finish_message(self, message_id: int, status: str, stats: MessageStats | None) -> None: ...


class _Pending:
    """Text read but not handed to the UI yet, shared by the reader and the hand-over loop."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.ended = False
        self.wake = threading.Event()

    def take(self) -> tuple[str, str, bool]:
        with self.lock:
            content, reasoning, ended = "".join(self.content), "".join(self.reasoning), self.ended
            self.content, self.reasoning = [], []
        return content, reasoning, ended


def hand_over_interval(chars: int, elapsed: float, batch_s: float = BATCH_S) -> float:
    """Seconds until the next hand-over, after one of ``chars`` that took ``elapsed`` to arrive."""
    fast = elapsed > 0 and chars / elapsed > FAST_CHARS_PER_S
    return max(batch_s, FAST_BATCH_S) if fast else batch_s


def run_answer(
    stream: ChatStream,
    on_text: OnText,
    on_end: OnEnd,
    store: Sink | None = None,
    message_id: int | None = None,
    batch_s: float = BATCH_S,
) -> None:
    """Read ``stream`` to its end; never raises (a store failure ends the answer with an error)."""
    pending = _Pending()
    store_error: list[str] = []
    last_handed = [time.monotonic()]
    interval = [batch_s]

    unsaved: list[tuple[str, str]] = []
    last_saved = [time.monotonic()]

    def save() -> None:
        """Commit what arrived since the last commit (one row a kind); a failure stops the answer."""
        if store is None or message_id is None or not unsaved or store_error:
            return
        try:
            store.append_many(message_id, unsaved)
        except Exception as exc:  # noqa: BLE001 - disk full, DB locked: stop, say so
            store_error.append(f"saving failed, answer stopped: {exc}")
            stream.cancel()
        unsaved.clear()
        last_saved[0] = time.monotonic()

    def read() -> None:
        try:
            for batch in stream.batches():
                parts = [(e.kind, e.text) for e in batch if e.kind in TEXT_KINDS and e.text]
                if not parts:
                    continue
                unsaved.extend(parts)
                if time.monotonic() - last_saved[0] >= SAVE_EVERY_S:
                    save()
                with pending.lock:
                    for kind, text in parts:
                        (pending.content if kind == "content" else pending.reasoning).append(text)
                if time.monotonic() - last_handed[0] >= interval[0]:
                    pending.wake.set()  # a slow stream: show this now, not at the next tick
        finally:
            save()
            with pending.lock:
                pending.ended = True
            pending.wake.set()

    reader = threading.Thread(target=read, name="jetconsole-chat-read", daemon=True)
    reader.start()
    while True:
        pending.wake.wait(interval[0])
        pending.wake.clear()
        content, reasoning, ended = pending.take()
        if content or reasoning:
            on_text(content, reasoning)
            now = time.monotonic()
            interval[0] = hand_over_interval(len(content) + len(reasoning), now - last_handed[0], batch_s)
            last_handed[0] = now
        if ended:
            break
    reader.join()
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
