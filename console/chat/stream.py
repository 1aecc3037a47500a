"""Server-sent events of ``/v1/chat/completions`` into stream events (pure: no I/O).

Handles what vLLM (0.10 to 0.32), SGLang and other ``/v1`` servers send: content and
reasoning deltas (``reasoning`` or ``reasoning_content``), a finish reason, a usage chunk
(``stream_options.include_usage``), and an error frame in the middle of a 200 stream.
Error bodies come nested (``{"error": {...}}``, vLLM/OpenAI) or flat (SGLang).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StreamEvent:
    """kind: content | reasoning | finish | usage | error | done."""

    kind: str
    text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    at: float = 0.0  # time.monotonic() of arrival, set by the client


def sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The ``data`` of each event: ``data:`` lines joined, events split by blank lines."""
    data: list[str] = []
    for line in lines:
        line = line.rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def error_text(body: Any, status: int | None = None) -> str:
    """The server's own words from an error body (nested, flat, or plain text)."""
    if isinstance(body, (bytes, str)):
        raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            body = json.loads(raw)
        except ValueError:
            text = raw.strip()[:500]
            return f"HTTP {status}: {text}" if status and text else text or f"HTTP {status}"
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, str):
            return inner
        if isinstance(inner, dict):
            message = inner.get("message") or inner.get("detail") or json.dumps(inner)[:500]
            kind = inner.get("type")
            return f"{message} ({kind})" if kind and kind not in str(message) else str(message)
        if "detail" in body:
            return str(body["detail"])
    return f"HTTP {status}" if status else json.dumps(body)[:500]


def chunk_events(chunk: dict[str, Any]) -> list[StreamEvent]:
    """Events in one parsed chunk, in the order they apply."""
    if "error" in chunk or chunk.get("object") == "error":
        return [StreamEvent("error", error_text(chunk))]
    events = []
    for choice in chunk.get("choices") or []:
        if choice.get("index", 0) != 0:
            continue
        delta = choice.get("delta") or {}
        reasoning = delta.get("reasoning") or delta.get("reasoning_content")
        if reasoning:
            events.append(StreamEvent("reasoning", reasoning))
        if delta.get("content"):
            events.append(StreamEvent("content", delta["content"]))
        if choice.get("finish_reason"):
            events.append(StreamEvent("finish", choice["finish_reason"]))
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        events.append(StreamEvent("usage", prompt_tokens=usage.get("prompt_tokens"),
                                  completion_tokens=usage.get("completion_tokens")))
    return events


def parse_data(data: str) -> list[StreamEvent]:
    """One SSE ``data`` payload into events; ``[DONE]`` gives a done event."""
    if data.strip() == "[DONE]":
        return [StreamEvent("done")]
    try:
        chunk = json.loads(data)
    except ValueError:
        return [StreamEvent("error", f"the server sent something that is not JSON: {data[:200]!r}")]
    if not isinstance(chunk, dict):
        return [StreamEvent("error", f"unexpected chunk: {data[:200]!r}")]
    return chunk_events(chunk)
