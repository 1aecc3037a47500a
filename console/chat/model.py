"""Frozen chat records shared by the client, the store, the exporters and the UI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class MessageStats:
    """How one answer came: timings in seconds from the moment the request was sent."""

    ttft: float | None = None  # first content or reasoning token
    total: float | None = None  # last byte of the stream
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    decode_tps: float | None = None  # (completion_tokens - 1) / (total - ttft): TTFT left out
    finish_reason: str | None = None  # stop | length | abort (stopped here) | error | None (cut)
    error: str | None = None  # the server's own message, or what went wrong on the way

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MessageStats:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class ChatMessage:
    """One turn. ``status``: done | streaming (being written) | stopped (Esc) | error | interrupted
    (the program died while it streamed: what was saved is kept)."""

    role: str  # system | user | assistant
    content: str
    reasoning: str = ""
    status: str = "done"
    stats: MessageStats | None = None
    id: int | None = None  # the store's row id
    created: float = 0.0


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created: float
    updated: float
    endpoint: str = ""
    model: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # system prompt, sampling, extra body
    messages: tuple[ChatMessage, ...] = ()


@dataclass(frozen=True)
class ConversationSummary:
    id: int
    title: str
    updated: float
    model: str
    message_count: int
    snippet: str = ""  # where a search matched, else the start of the first user message
