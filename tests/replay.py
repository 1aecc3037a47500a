"""An OpenAI-compatible server that replays SSE frames: for what a real vLLM CPU server cannot do.

The chat tests use the real vLLM server wherever it can show the behaviour.  This one
serves what it cannot: reasoning frames of other parsers, SGLang's flat error shape, a
stream cut halfway, an error frame mid-stream, and streams paced at a chosen rate for
the render benchmarks.  Each scripted answer is a list of SSE ``data`` payloads (see
``tests/data/transcripts``); the server sends them with chunked transfer encoding, so a
cut (``cut_after``) is a real protocol error to the client, as when a server dies.

    with ReplayServer() as srv:
        srv.script = Script(frames=token_frames(["Hello", " world"]))
        ... srv.url ("http://127.0.0.1:PORT/v1"), srv.requests, srv.disconnects
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TRANSCRIPTS = Path(__file__).parent / "data" / "transcripts"
MODEL = "replay"
UNKNOWN_MODEL = {
    "error": {
        "message": "The model `nope` does not exist. Valid aliases: tiny.",
        "type": "NotFoundError",
        "param": "model",
        "code": 404,
    }
}  # vLLM 0.32's words (domain.md §4.3)


@dataclass
class Script:
    frames: list[str] = field(default_factory=list)  # SSE data payloads, "[DONE]" included
    rate: float = 0.0  # frames per second; 0 = as fast as the socket takes them
    first_delay: float = 0.0  # seconds before the first frame (a TTFT)
    cut_after: int | None = None  # close the connection after this many frames, mid-body
    status: int = 200  # an HTTP error instead of a stream
    body: str = ""  # its body


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> str:
    """One vLLM-style ``chat.completion.chunk`` payload."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    return json.dumps(
        {
            "id": "chatcmpl-replay",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": MODEL,
            "choices": choices,
            **extra,
        }
    )


def token_frames(
    tokens: list[str], reasoning: list[str] | None = None, finish: str = "stop", prompt_tokens: int = 10
) -> list[str]:
    """A whole stream like vLLM 0.32 sends it: role, reasoning, content, finish, usage, [DONE]."""
    frames = [chunk({"role": "assistant", "content": ""})]
    frames += [chunk({"reasoning": r}) for r in reasoning or []]
    frames += [chunk({"content": t}) for t in tokens]
    frames.append(chunk({}, finish))
    n = len(tokens) + len(reasoning or [])
    frames.append(
        chunk(None, usage={"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n})
    )
    frames.append("[DONE]")
    return frames


def transcript(name: str) -> list[str]:
    """The data payloads of a file in tests/data/transcripts (``#`` lines are its label)."""
    text = (TRANSCRIPTS / name).read_text(encoding="utf-8")
    return [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]


class ReplayServer:
    def __init__(self, metrics: str = "") -> None:
        self.script = Script(frames=token_frames(["Hello", "!"]))
        self.metrics = metrics
        self.max_model_len = 32768  # what /v1/models says of the model's context
        self.requests: list[dict[str, Any]] = []
        self.disconnects = 0  # streams the client closed before the end
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: str, ctype: str = "application/json") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/health":
                    self._send(200, "")
                elif self.path == "/version":
                    self._send(200, json.dumps({"version": "replay"}))
                elif self.path == "/v1/models":
                    self._send(
                        200,
                        json.dumps(
                            {
                                "object": "list",
                                "data": [
                                    {
                                        "id": MODEL,
                                        "object": "model",
                                        "owned_by": "replay",
                                        "max_model_len": server.max_model_len,
                                    }
                                ],
                            }
                        ),
                    )
                elif self.path == "/metrics" and server.metrics:
                    self._send(200, server.metrics, "text/plain; version=0.0.4")
                else:
                    self._send(404, json.dumps({"detail": "Not Found"}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.requests.append(body)
                    script = server.script
                if script.status != 200:
                    self._send(script.status, script.body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                gap = 1.0 / script.rate if script.rate else 0.0
                start = time.perf_counter() + script.first_delay
                try:
                    if script.first_delay:
                        time.sleep(script.first_delay)
                    for i, frame in enumerate(script.frames):
                        if script.cut_after is not None and i >= script.cut_after:
                            self.wfile.flush()
                            self.close_connection = True
                            return  # no terminating chunk: the client sees an incomplete body
                        data = f"data: {frame}\n\n".encode()
                        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                        if gap:
                            self.wfile.flush()
                            delay = start + (i + 1) * gap - time.perf_counter()
                            if delay > 0:
                                time.sleep(delay)
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    with server.lock:
                        server.disconnects += 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="replay-server")

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    import sys

    with ReplayServer() as srv:
        n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
        srv.script = Script(
            frames=token_frames([f" tok{i}" for i in range(n)]), rate=float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
        )
        print(f"replaying {n} tokens at {srv.url}; Ctrl-C stops", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
