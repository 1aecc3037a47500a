"""What goes over the wire to an OpenAI-compatible server, as plain values (no I/O, no httpx).

A chat request and its JSON body, and one entry of ``/v1/models``.  The screens, the state
and the session hold these; only ``console.chat.client`` (which imports httpx) sends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.chat.endpoints import Endpoint
from console.runtime.sanitise import clean


def _length(value: Any) -> int | None:
    """A context length the server gave as a number (a string or anything else is unknown)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@dataclass(frozen=True)
class ModelInfo:
    id: str
    max_model_len: int | None = None
    owned_by: str = ""
    root: str = ""  # the weights path or repo vLLM serves it from

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ModelInfo:
        """One entry of ``/v1/models``' ``data``; the server's strings cleaned (one-line fields)."""
        return cls(
            clean(str(row.get("id", "?"))),
            _length(row.get("max_model_len")),
            clean(str(row.get("owned_by") or "")),
            clean(str(row.get("root") or "")),
        )


@dataclass(frozen=True)
class ChatRequest:
    endpoint: Endpoint
    model: str
    messages: tuple[dict[str, str], ...]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # merged into the body (chat_template_kwargs…)


def request_body(req: ChatRequest) -> dict[str, Any]:
    """The JSON body: streaming with usage; ``extra`` may add or override fields, not streaming."""
    body: dict[str, Any] = {"model": req.model, "messages": list(req.messages)}
    for key in ("temperature", "top_p", "max_tokens"):
        value = getattr(req, key)
        if value is not None:
            body[key] = value
    body.update(req.extra)
    body["stream"] = True
    options = dict(body.get("stream_options") or {})
    options["include_usage"] = True
    body["stream_options"] = options
    return body
