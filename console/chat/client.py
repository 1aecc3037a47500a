"""The OpenAI-compatible chat client: one streamed answer, cancellable, and /v1/models.

Blocking (httpx); run it in a worker thread.  Every way a stream can end becomes events
and a status, never an exception: done, stopped (``cancel()``: the connection is closed,
which vLLM and SGLang see as an abort), error (HTTP error with the server's message, an
error frame mid-stream, connection refused, a stream cut halfway).
"""

from __future__ import annotations

import codecs
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from console.chat.endpoints import Endpoint
from console.chat.model import ToolCall
from console.chat.stream import SSEDecoder, StreamEvent, error_text, parse_data
from console.chat.timing import AnswerClock
from console.chat.wire import ChatRequest, ImageLoader, ModelInfo, request_body
from console.runtime.sanitise import clean, clean_text

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 600.0  # a long prompt on a CPU or a cold Jetson can take minutes to a first token


_shared: dict[bool, httpx.Client] = {}
_shared_lock = threading.Lock()


def needs_tls(url: str) -> bool:
    """True unless ``url`` is plain HTTP (a local vLLM, SGLang or the tests' server)."""
    return not url.lower().startswith("http://")


def new_client(url: str, **kwargs: Any) -> httpx.Client:
    """A client for the server at ``url``.  One for plain HTTP never speaks TLS, so it skips loading the
    CA bundle (``verify=False``: ~45 ms and ~1.7 MiB each, benchmarks/README.md); https URLs verify as usual."""
    return httpx.Client(verify=needs_tls(url), **kwargs)


def shared_client(url: str = "http://") -> httpx.Client:
    """One client for every answer to a server of ``url``'s kind (plain HTTP or TLS): making one costs
    what its SSL context does, which would otherwise land in every answer's time to first token.
    httpx clients are thread-safe."""
    tls = needs_tls(url)
    with _shared_lock:
        client = _shared.get(tls)
        if client is None:
            client = _shared[tls] = new_client(
                "https://" if tls else "http://", timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
            )
        return client


class EndpointError(Exception):
    """The server could not be asked: what happened and what to do (the server's words cleaned)."""

    def __init__(self, message: str) -> None:
        super().__init__(clean_text(message))


def unreachable(url: str, exc: Exception) -> str:
    reason = str(exc) or type(exc).__name__
    return (
        f"cannot reach {url}: {reason}. Is the server running and listening there? "
        "The Servers panel shows its container; check the URL in config.toml [endpoints]."
    )


class ChatStream:
    """Iterate for events (each with ``at``); ``status`` and ``clock.stats()`` once it ends."""

    def __init__(self, req: ChatRequest, client: httpx.Client | None = None, load: ImageLoader | None = None) -> None:
        """``load``: an image's data URL, for a request with images (read when the request is sent)."""
        self.req = req
        self._client = client
        self._load = load
        self._calls: dict[int, list[str]] = {}  # tool calls as they come: index -> [id, name, arguments]
        self._response: httpx.Response | None = None
        self._cancelled = threading.Event()
        self.status = "pending"  # pending | streaming | done | stopped | error
        self.clock = AnswerClock(sent=time.monotonic())

    def cancel(self) -> None:
        """Stop from any thread: closes the connection so the server aborts the request."""
        self._cancelled.set()
        response = self._response
        if response is not None:
            try:
                response.close()
            except Exception:  # noqa: BLE001 - closing a half-read socket from another thread
                pass

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def _emit(self, event: StreamEvent) -> StreamEvent:
        """Timed on arrival, and the server's text cleaned: every event but ``done`` passes here, so an
        answer, a finish reason or an error frame enters the session and the store with no control in it."""
        text, prompt, completion = event.text, event.prompt_tokens, event.completion_tokens
        if event.kind == "finish":
            text = clean(text)
        elif not text.isprintable():  # the common token is printable: no call per token for it
            text = clean_text(text)
        if prompt is not None or completion is not None:  # counts come in the usage frame alone
            prompt, completion = _count(prompt), _count(completion)
        if event.kind == "tool":  # a piece of a tool call: kept whole here, its name and id cleaned
            call = self._calls.setdefault(event.call, ["", "", ""])
            call[0] = call[0] or clean(event.call_id)
            call[1] = call[1] or clean(event.name)
            call[2] += text
            event = StreamEvent("tool", text, None, None, time.monotonic(), event.call, call[1], call[0])
        else:  # the common token: as few calls as a token can cost
            event = StreamEvent(event.kind, text, prompt, completion, time.monotonic())
        self.clock.feed(event)
        return event

    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The calls the answer asked for, whole, in their order."""
        return tuple(ToolCall(name or "?", args, cid) for _, (cid, name, args) in sorted(self._calls.items()))

    def __iter__(self) -> Iterator[StreamEvent]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[StreamEvent]]:
        """The events of each chunk of the body as it arrives, together (one chunk may hold several events,
        or end halfway through one: the decoder keeps the rest for the next)."""
        url = f"{self.req.endpoint.url}{self.req.path}"
        client = self._client or shared_client(url)
        saw_done = False
        try:
            self.clock.sent = time.monotonic()
            try:
                body = request_body(self.req, self._load)  # reads and encodes the images: part of the TTFT
            except (OSError, ValueError) as exc:
                self.status = "error"
                yield [self._emit(StreamEvent("error", f"the question was not sent: {exc}"))]
                return
            with client.stream("POST", url, json=body, headers=self.req.endpoint.headers()) as resp:
                self._response = resp
                if self.cancelled:
                    resp.close()
                if resp.status_code >= 400:
                    self.status = "error"
                    yield [self._emit(StreamEvent("error", error_text(resp.read(), resp.status_code)))]
                    return
                self.status = "streaming"
                sse, text = SSEDecoder(), codecs.getincrementaldecoder("utf-8")(errors="replace")
                for raw in resp.iter_bytes():
                    batch = self._events(sse.feed(text.decode(raw)))
                    if batch:
                        saw_done = saw_done or any(e.kind == "done" for e in batch)
                        yield [e for e in batch if e.kind != "done"]
                    if self.cancelled:
                        break
                else:
                    tail = self._events(sse.feed(text.decode(b"", final=True)) + sse.close())
                    saw_done = saw_done or any(e.kind == "done" for e in tail)
                    if any(e.kind != "done" for e in tail):
                        yield [e for e in tail if e.kind != "done"]
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self.status = "error"
            yield [self._emit(StreamEvent("error", unreachable(url, exc)))]
            return
        except (httpx.HTTPError, OSError, RuntimeError) as exc:
            if not self.cancelled:
                self.status = "error"
                yield [self._emit(StreamEvent("error", self._cut(exc)))]
        finally:
            self._response = None
            self._finish(saw_done)

    def _events(self, datas: list[str]) -> list[StreamEvent]:
        """Stream events of these SSE data, timed on arrival; ``done`` kept only as a marker."""
        out: list[StreamEvent] = []
        for data in datas:
            for event in parse_data(data):
                if event.kind == "error":
                    self.status = "error"
                out.append(event if event.kind == "done" else self._emit(event))
        return out

    def _cut(self, exc: Exception) -> str:
        what = "the server stopped sending" if isinstance(exc, httpx.ReadTimeout) else "the stream was cut"
        return (
            f"{what} after {self.clock.chunks} chunks ({type(exc).__name__}: {exc}); "
            "the partial answer is kept. Check the server's log (did the engine die?)."
        )

    def _finish(self, saw_done: bool) -> None:
        now = time.monotonic()
        if self.cancelled:
            self.status = "stopped"
            self.clock.end(now, "abort")
            return
        if self.status == "streaming":
            if saw_done or self.clock.finish_reason:
                self.status = "done"
            else:
                self.status = "error"
                self.clock.error = "the stream ended without a finish reason or [DONE]; the partial answer is kept"
        self.clock.end(now)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def list_models(endpoint: Endpoint, timeout: float = CONNECT_TIMEOUT) -> list[ModelInfo]:
    """``GET /v1/models``; raises EndpointError with the reason and what to do."""
    url = f"{endpoint.url}/models"
    try:
        resp = shared_client(url).get(url, headers=endpoint.headers(), timeout=timeout)
    except httpx.HTTPError as exc:
        raise EndpointError(unreachable(url, exc)) from exc
    if resp.status_code == 401:
        raise EndpointError(f"{url} wants an API key: set one for this server in config.toml [endpoints] api_keys")
    if resp.status_code >= 400:
        raise EndpointError(f"{url}: {error_text(resp.content, resp.status_code)}")
    try:
        rows = resp.json().get("data") or []
    except (ValueError, AttributeError) as exc:
        raise EndpointError(f"{url} did not answer with an OpenAI model list") from exc
    return [ModelInfo.from_row(r) for r in rows if isinstance(r, dict)]
