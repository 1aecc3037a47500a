"""One streamed chat request timed as ``vllm bench serve`` times it (httpx, asyncio).

Mirrors vLLM 0.32 ``async_request_openai_chat_completions``: the clock starts just before
the POST; every SSE ``data`` message whose JSON has non-empty ``choices`` is a token chunk
(the first sets TTFT, each later one adds an ITL gap and moves the request's end); the
``usage`` chunk gives the output token count.  A request that never got a token chunk, an
HTTP error, an error frame or a cut connection is a failed request with the reason.
"""

from __future__ import annotations

import codecs
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from console.bench.stats import RequestRecord
from console.chat.client import unreachable
from console.chat.endpoints import Endpoint
from console.chat.stream import SSEDecoder, error_text

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 600.0  # a long prompt on a cold Jetson can take minutes to a first token


@dataclass(frozen=True)
class RequestSpec:
    """What one request asks for."""

    model: str
    prompt: str
    max_tokens: int
    temperature: float | None = None
    ignore_eos: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": self.prompt}],
            "max_tokens": self.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.ignore_eos:
            body["ignore_eos"] = True  # vLLM and SGLang sampling extension: exactly max_tokens tokens
        body.update(self.extra)
        return body


def new_client(concurrency: int) -> httpx.AsyncClient:
    """One client per trial, with room for every concurrent stream (one connection each)."""
    limits = httpx.Limits(max_connections=max(concurrency, 1) + 4, max_keepalive_connections=max(concurrency, 1) + 4)
    return httpx.AsyncClient(timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT), limits=limits)


class _Timing:
    """Folds the parsed messages of one stream into a RequestRecord."""

    def __init__(self, record: RequestRecord) -> None:
        self.rec = record
        self.first = False
        self.last = record.start
        self.error = ""

    def message(self, data: str, now: float) -> None:
        if data.strip() == "[DONE]":
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            self.error = f"the server sent something that is not JSON: {data[:120]!r}"
            return
        if not isinstance(chunk, dict):
            return
        if "error" in chunk or chunk.get("object") == "error":
            self.error = error_text(chunk)
            return
        if chunk.get("choices"):
            if not self.first:
                self.first = True
                self.rec.ttft = now - self.rec.start
            else:
                self.rec.itl.append(now - self.last)
            self.last = now
        elif isinstance(chunk.get("usage"), dict):
            usage = chunk["usage"]
            self.rec.output_tokens = usage.get("completion_tokens")
            if usage.get("prompt_tokens") is not None:
                self.rec.prompt_tokens = usage["prompt_tokens"]


async def send(client: httpx.AsyncClient, endpoint: Endpoint, spec: RequestSpec) -> RequestRecord:
    """Send one request and time it; never raises (except CancelledError, which closes the stream)."""
    url = f"{endpoint.url}/chat/completions"
    rec = RequestRecord(start=time.perf_counter())
    timing = _Timing(rec)
    try:
        async with client.stream("POST", url, json=spec.body(), headers=endpoint.headers()) as resp:
            if resp.status_code != 200:
                rec.error = error_text(await resp.aread(), resp.status_code)
                return rec
            sse, text = SSEDecoder(), codecs.getincrementaldecoder("utf-8")(errors="replace")
            async for raw in resp.aiter_bytes():
                for data in sse.feed(text.decode(raw)):
                    timing.message(data, time.perf_counter())
            for data in sse.feed(text.decode(b"", final=True)) + sse.close():
                timing.message(data, time.perf_counter())
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        rec.error = unreachable(url, exc)
        return rec
    except (httpx.HTTPError, OSError) as exc:
        what = "the server stopped sending" if isinstance(exc, httpx.ReadTimeout) else "the stream was cut"
        rec.error = f"{what} ({type(exc).__name__}: {exc})"
        return rec
    if timing.error:
        rec.error = timing.error
    elif not timing.first:
        rec.error = "no token arrived: the stream ended before its first chunk"
    else:
        rec.ok = True
    rec.latency = timing.last - rec.start
    return rec
