"""Server-sent events of ``/v1/chat/completions`` into stream events (pure: no I/O).

Handles what vLLM (0.10 to 0.32), SGLang and other ``/v1`` servers send: content and
reasoning deltas (``reasoning`` or ``reasoning_content``), a finish reason, a usage chunk
(``stream_options.include_usage``), and an error frame in the middle of a 200 stream.
Error bodies come nested (``{"error": {...}}``, vLLM/OpenAI) or flat (SGLang).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple


class StreamEvent(NamedTuple):
    """kind: content | reasoning | tool | finish | usage | error | done.

    A named tuple, not a frozen dataclass: two are made per streamed token, and a tuple is built in a third
    of the time (benchmarks/README.md, issue 18).

    A ``tool`` event is a piece of a tool call (``delta.tool_calls``): ``call`` says which call (its index),
    ``name`` and ``call_id`` come with its first piece, ``text`` is a piece of its arguments."""

    kind: str
    text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    at: float = 0.0  # time.monotonic() of arrival, set by the client
    call: int = 0
    name: str = ""
    call_id: str = ""


class SSEDecoder:
    """Incremental server-sent-events decoder: feed text as it arrives, get the ``data`` of finished events.

    Lets the client take everything one chunk of the body brought at once (one store write)
    however the server frames its events across chunks.
    """

    def __init__(self) -> None:
        self._partial = ""  # a line not ended yet
        self._data: list[str] = []  # data lines of the event not ended yet

    def feed(self, text: str) -> list[str]:
        """The data of each event that ``text`` completes (``data:`` lines joined, events end at a blank line)."""
        out: list[str] = []
        text = self._partial + text
        held = "\r" if text.endswith("\r") else ""  # maybe half of a CRLF: wait for the next read
        lines = text[: len(text) - len(held)].replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._partial = lines.pop() + held
        for line in lines:
            self._line(line, out)
        return out

    def close(self) -> list[str]:
        """End of stream: an event left without its blank line still counts."""
        out: list[str] = []
        if self._partial:
            self._line(self._partial.rstrip("\r"), out)
            self._partial = ""
        if self._data:
            out.append("\n".join(self._data))
            self._data = []
        return out

    def _line(self, line: str, out: list[str]) -> None:
        if not line:
            if self._data:
                out.append("\n".join(self._data))
                self._data = []
            return
        if line.startswith(":"):
            return  # comment / keep-alive
        field, _, value = line.partition(":")
        if field == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)


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
        delta = choice.get("delta")
        if not isinstance(delta, dict):  # /v1/completions: the text itself, no delta
            text = choice.get("text")
            if text and isinstance(text, str):
                events.append(StreamEvent("content", text))
            delta = {}
        reasoning = delta.get("reasoning") or delta.get("reasoning_content")
        if reasoning:
            events.append(StreamEvent("reasoning", reasoning))
        if delta.get("content"):
            events.append(StreamEvent("content", delta["content"]))
        calls = delta.get("tool_calls")
        if calls:
            events.extend(_tool_event(call) for call in calls if isinstance(call, dict))
        if choice.get("finish_reason"):
            events.append(StreamEvent("finish", choice["finish_reason"]))
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        events.append(
            StreamEvent(
                "usage", prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens")
            )
        )
    return events


def _tool_event(call: dict[str, Any]) -> StreamEvent:
    function: dict[str, Any] = call["function"] if isinstance(call.get("function"), dict) else {}
    index = call.get("index")
    return StreamEvent(
        "tool",
        str(function.get("arguments") or ""),
        call=index if isinstance(index, int) and not isinstance(index, bool) else 0,
        name=str(function.get("name") or ""),
        call_id=str(call.get("id") or ""),
    )


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
