"""``jetconsole chat "prompt"``: one streamed answer on stdout, for scripts and SSH one-liners.

No Textual.  The answer streams to stdout (control characters made visible), reasoning
to stderr; ``--json`` ends stdout with one JSON object on its own line.  Exit codes:
0 answered, 3 the server cannot be reached or lists no model, 5 the server answered with
an error (its message on stderr), 130 stopped with Ctrl-C (the request is cancelled).
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from console import config as cfg
from console.chat.client import ChatRequest, ChatStream, EndpointError, list_models
from console.chat.endpoints import endpoints, v1_url
from console.chat.timing import AnswerClock
from console.runtime.sanitise import visible_controls

EXIT_UNREACHABLE, EXIT_SERVER_ERROR, EXIT_INTERRUPTED = 3, 5, 130


def result_json(text: str, reasoning: str, model: str, status: str, clock: AnswerClock) -> str:
    s = clock.stats()
    return json.dumps(
        {
            "answer": text,
            "reasoning": reasoning,
            "model": model,
            "status": status,
            "ttft_s": s.ttft,
            "decode_tok_s": s.decode_tps,
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens,
            "finish_reason": s.finish_reason,
            "error": s.error,
            "total_s": s.total,
        }
    )


def chat(
    config: cfg.Config,
    prompt: str,
    endpoint_url: str | None = None,
    model: str | None = None,
    system: str | None = None,
    as_json: bool = False,
    max_tokens: int | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    configured = endpoints(config.servers, config.api_keys)
    if endpoint_url:
        wanted = v1_url(endpoint_url)
        endpoint = next((e for e in configured if e.url == wanted), None) or endpoints((wanted,), {})[0]
    elif configured:
        endpoint = configured[0]
    else:
        print("jetconsole: no server configured: pass --endpoint URL or set [endpoints] servers", file=err)
        return EXIT_UNREACHABLE
    if not model:
        try:
            models = list_models(endpoint)
        except EndpointError as exc:
            print(f"jetconsole: {exc}", file=err)
            return EXIT_UNREACHABLE
        if not models:
            print(f"jetconsole: {endpoint.url}/models lists no model; pass --model", file=err)
            return EXIT_UNREACHABLE
        model = models[0].id
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    request = ChatRequest(
        endpoint,
        model,
        tuple(messages),
        config.chat_temperature,
        config.chat_top_p,
        max_tokens or config.chat_max_tokens,
        dict(config.chat_extra_body),
    )
    stream = ChatStream(request)
    content: list[str] = []
    reasoning: list[str] = []
    error_printed = 0
    try:
        for event in stream:
            if event.kind == "content":
                content.append(event.text)
                out.write(visible_controls(event.text))
                out.flush()
            elif event.kind == "reasoning":
                reasoning.append(event.text)
                err.write(visible_controls(event.text))
                err.flush()
            elif event.kind == "error":
                error_printed += 1
                print(f"\njetconsole: {visible_controls(event.text)}", file=err)
    except KeyboardInterrupt:
        stream.cancel()
        print("\njetconsole: stopped; the request was cancelled", file=err)
        return EXIT_INTERRUPTED
    out.write("\n")
    error = stream.clock.error
    if stream.status == "error" and error and not error_printed:  # e.g. a stream that just ended
        print(f"jetconsole: {visible_controls(error)}", file=err)
    if as_json:
        out.write(result_json("".join(content), "".join(reasoning), model, stream.status, stream.clock) + "\n")
    out.flush()
    return 0 if stream.status == "done" else EXIT_SERVER_ERROR
