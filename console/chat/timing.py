"""Per-answer figures from stream events: TTFT, decode tok/s without TTFT, tokens, finish."""

from __future__ import annotations

from dataclasses import dataclass

from console.chat.model import MessageStats
from console.chat.stream import StreamEvent


@dataclass
class AnswerClock:
    """Feed every event of one answer; ``stats()`` at any moment. Times are time.monotonic()."""

    sent: float
    first: float | None = None
    last: float | None = None
    chunks: int = 0  # content + reasoning deltas: the token count when the server sends no usage
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    error: str | None = None
    ended: float | None = None

    def feed(self, event: StreamEvent) -> None:
        if event.kind in ("content", "reasoning", "tool"):
            if self.first is None:
                self.first = event.at
            self.last = event.at
            self.chunks += 1
        elif event.kind == "usage":
            self.prompt_tokens = event.prompt_tokens
            self.completion_tokens = event.completion_tokens
        elif event.kind == "finish":
            self.finish_reason = event.text
        elif event.kind == "error":
            self.error = event.text if not self.error else f"{self.error}; {event.text}"

    def end(self, at: float, reason: str | None = None) -> None:
        """The stream is over: ``reason`` overrides the finish reason (abort when stopped here)."""
        self.ended = at
        if reason:
            self.finish_reason = reason

    def stats(self) -> MessageStats:
        tokens = self.completion_tokens if self.completion_tokens is not None else (self.chunks or None)
        tps = None
        if tokens and tokens > 1 and self.first is not None and self.last is not None and self.last > self.first:
            tps = (tokens - 1) / (self.last - self.first)
        return MessageStats(
            ttft=None if self.first is None else self.first - self.sent,
            total=None if self.ended is None else self.ended - self.sent,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=tokens,
            decode_tps=tps,
            finish_reason=self.finish_reason,
            error=self.error,
        )
