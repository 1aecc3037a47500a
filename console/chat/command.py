"""``jetconsole chat "prompt"``: one streamed answer on stdout, for scripts and SSH one-liners.

No Textual.  The answer streams to stdout (control characters made visible), reasoning
to stderr; ``--json`` ends stdout with one JSON object on its own line.  Exit codes:
0 answered, 2 bad input (an image, a schema, a choice or a regex that cannot be used), 3 the server
cannot be reached or lists no model, 5 the server answered with an error (its message on stderr),
130 stopped with Ctrl-C (the request is cancelled).

``--image`` attaches images (each downscaled to the server's budget, its token cost said on stderr
before sending); ``--schema`` / ``--choice`` / ``--regex`` shape the answer, which is then checked
(``--json`` carries the parsed object and its validity); ``--completion`` sends the prompt as is to
``/v1/completions``.

The answer comes the one way every answer comes: the runtime, run headless with its chat alone
(no telemetry, Docker, server probes or HUD), is configured with the one server asked, and takes
the chat's commands; its chat events stream the answer here.  Nothing is written to the
conversation store: a one-off question from a script is not a conversation to keep.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from typing import Any, TextIO

from console import config as cfg
from console.chat.context import Overflow, overflow
from console.chat.endpoints import Endpoint, endpoints, v1_url
from console.chat.images import ref_line
from console.chat.model import ChatMessage, ImageRef, MessageStats
from console.chat.session import ChatSettings
from console.chat.shape import Shape, ShapeError, choice_shape, read_schema_file, regex_shape
from console.chat.wire import ModelInfo
from console.runtime import commands as cmd
from console.runtime import events as ev
from console.runtime.runtime import Runtime
from console.runtime.sanitise import json_text, visible_controls
from console.runtime.secrets import mask_prose
from console.runtime.services.headless import EventQueue, no_telemetry

EXIT_BAD_INPUT, EXIT_UNREACHABLE, EXIT_SERVER_ERROR, EXIT_INTERRUPTED = 2, 3, 5, 130
STOP_WAIT_S = 1.0  # for the runtime's threads at the end (a cancelled stream closes at once)
# ChatStream's words for an answer that just ended: the one error that comes with no error event in the
# stream, so it is said after the answer's line, where the others are said as they came, before it
NO_FINISH = "the stream ended without a finish reason"
FOLLOWED = (ev.ChatModelsListed, ev.Notice, ev.ServiceFailed, *ev.CHAT_EVENTS)


def overflow_advice(over: Overflow) -> str:
    """What to do when the server refused the question for length (the pane offers a trim instead)."""
    context = f"the model's context ({over.limit} tokens)" if over.limit else "the model's context"
    if over.setting:
        return f"--max-tokens is larger than {context}: ask for fewer tokens"
    return f"the question and its answer do not fit {context}: shorten the prompt or lower --max-tokens"


@dataclass(frozen=True)
class Ask:
    """One ``jetconsole chat`` question and how it is asked."""

    prompt: str
    endpoint_url: str | None = None
    model: str | None = None
    system: str | None = None
    as_json: bool = False
    max_tokens: int | None = None
    images: tuple[str, ...] = ()
    schema: str | None = None  # a schema file
    choice: str | None = None  # a,b,c
    regex: str | None = None
    completion: bool = False

    def shape(self) -> Shape | None:
        """The shape asked for; ShapeError says what is wrong (a schema file is read here)."""
        if self.schema is not None:
            return Shape("schema", schema=read_schema_file(self.schema), spec=f"@{self.schema}")
        if self.choice is not None:
            return choice_shape(self.choice)
        if self.regex is not None:
            return regex_shape(self.regex)
        return None


def result_json(
    text: str,
    reasoning: str,
    model: str,
    status: str,
    stats: MessageStats,
    message: Any = None,
    images: tuple[ImageRef, ...] = (),
) -> str:
    """The ``--json`` line; ``message`` (the answer's ChatMessage) adds its tool calls, check and parsed JSON;
    ``images`` the images sent, each with its size as sent and the tokens it was estimated to cost."""
    shaped: dict[str, Any] = {}
    if images:
        shaped["images"] = [
            {"name": i.name, "sha256": i.sha256, "width": i.width, "height": i.height, "tokens": i.tokens}
            for i in images
        ]
    if message is not None:
        shaped["mode"] = message.mode
        shaped["tool_calls"] = [{"name": c.name, "arguments": c.arguments, "id": c.id} for c in message.tool_calls]
        check = message.check
        if check is not None:
            shaped["valid"] = check.valid
            shaped["check_error"] = check.error or None
            shaped["parsed"] = json.loads(check.pretty) if check.kind == "schema" and check.pretty else None
    return json_text(
        {
            **shaped,
            "answer": text,
            "reasoning": reasoning,
            "model": model,
            "status": status,
            "ttft_s": stats.ttft,
            "decode_tok_s": stats.decode_tps,
            "prompt_tokens": stats.prompt_tokens,
            "completion_tokens": stats.completion_tokens,
            "finish_reason": stats.finish_reason,
            "error": mask_prose(stats.error) if stats.error else None,  # the store and exports mask it too
            "total_s": stats.total,
        }
    )


def pick_endpoint(config: cfg.Config, endpoint_url: str | None) -> Endpoint | None:
    """``--endpoint`` (a configured server's key goes with it, no other key), else the first configured."""
    configured = endpoints(config.servers, config.api_keys)
    if endpoint_url:
        wanted = v1_url(endpoint_url)
        return next((e for e in configured if e.url == wanted), None) or endpoints((wanted,), {})[0]
    return configured[0] if configured else None


def headless_runtime(config: cfg.Config, endpoint: Endpoint) -> Runtime:
    """The runtime with its chat alone, bound to ``endpoint`` (the one server it is configured with, as the
    URL and key it was picked with) and keeping no conversation."""
    configured = endpoints(config.servers, config.api_keys)
    keys = config.api_keys if endpoint in configured else {}
    return Runtime(
        replace(config, servers=(endpoint.url,), api_keys=keys),
        discover_fn=no_telemetry,
        watch_docker=False,
        poll_servers=False,
        hud_sources=False,
        doctor=None,
        persist_chat=False,
    )


def chat(config: cfg.Config, ask: Ask, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        shape = ask.shape()
    except ShapeError as exc:
        print(f"jetconsole: {exc}", file=err)
        return EXIT_BAD_INPUT
    if ask.images and ask.completion:
        print("jetconsole: --image goes with chat questions, not --completion (text alone)", file=err)
        return EXIT_BAD_INPUT
    endpoint = pick_endpoint(config, ask.endpoint_url)
    if endpoint is None:
        print("jetconsole: no server configured: pass --endpoint URL or set [endpoints] servers", file=err)
        return EXIT_UNREACHABLE
    runtime = headless_runtime(config, endpoint)
    events = EventQueue(FOLLOWED)
    runtime.subscribe(events)
    try:
        runtime.start()
        settings = ChatSettings(
            ask.system or "",
            config.chat_temperature,
            config.chat_top_p,
            ask.max_tokens or config.chat_max_tokens,
            dict(config.chat_extra_body),
            shape,
            "completion" if ask.completion else "chat",
        )
        return _ask(runtime, events, ask, settings, out, err)
    except KeyboardInterrupt:
        runtime.send(cmd.StopChat())  # the connection closes: the server aborts the request
        print("\njetconsole: stopped; the request was cancelled", file=err)
        return EXIT_INTERRUPTED
    finally:
        runtime.stop(STOP_WAIT_S)


def _ask(runtime: Runtime, events: EventQueue, ask: Ask, settings: ChatSettings, out: TextIO, err: TextIO) -> int:
    endpoint = runtime.state.chat.endpoint
    assert endpoint is not None  # bound to the one configured server
    model = ask.model
    if model:
        runtime.send(cmd.ChooseModel(model))
    else:
        runtime.send(cmd.FetchModels())
        listed = _models(events, endpoint.url)
        if isinstance(listed, str):
            print(f"jetconsole: {listed}", file=err)
            return EXIT_UNREACHABLE
        if not listed:
            print(f"jetconsole: {endpoint.url}/models lists no model; pass --model", file=err)
            return EXIT_UNREACHABLE
    runtime.send(cmd.ChooseSettings(settings))
    model = runtime.state.chat.model or ""  # the first listed, as the chat takes it
    for path in ask.images:
        runtime.send(cmd.AttachImage(path))
        attached = _attached(events)
        if attached:
            print(f"jetconsole: {visible_controls(attached)}", file=err)  # a path may hold control characters
            return EXIT_BAD_INPUT
    chat = runtime.state.chat
    sent_images = chat.draft_images
    for number, ref in enumerate(chat.draft_images, 1):
        print(f"jetconsole: {ref_line(ref, number)}", file=err)
    if chat.draft_images and chat.caps is not None and chat.caps.vision is False:
        print(f"jetconsole: warning: {model} looks text-only ({chat.caps.vision_why}); sending anyway", file=err)
    if not runtime.send(cmd.SendChat(ask.prompt, force=True)):  # the service said why, in a notice
        why = [e.text for e in events.pending() if isinstance(e, ev.Notice)]
        print(f"jetconsole: {why[-1] if why else 'the question could not be sent'}", file=err)
        return EXIT_UNREACHABLE
    ended = _stream(events, out, err)
    if isinstance(ended, str):  # the answer's thread died (a bug): said, never a hang
        print(f"\njetconsole: {ended}", file=err)
        return EXIT_SERVER_ERROR
    event, message = ended
    status, stats = event.status, event.stats
    error = mask_prose(visible_controls(stats.error)) if status == "error" and stats.error else None
    after = error is not None and error.startswith(NO_FINISH)  # e.g. a stream that just ended
    if error and not after:
        print(f"\njetconsole: {error}", file=err)
        if (over := overflow(stats.error)) is not None:
            print(f"jetconsole: {overflow_advice(over)}", file=err)
    out.write("\n")
    if after:
        print(f"jetconsole: {error}", file=err)
    for call in message.tool_calls:
        out.write(f"tool call: {visible_controls(call.line())}\n")
    if message.check is not None:
        print(f"jetconsole: {visible_controls(message.check.line())}", file=err)
    if ask.as_json:
        out.write(result_json(message.content, message.reasoning, model, status, stats, message, sent_images) + "\n")
    out.flush()
    return 0 if status == "done" else EXIT_SERVER_ERROR


def _stream(events: EventQueue, out: TextIO, err: TextIO) -> tuple[ev.ChatEnded, ChatMessage] | str:
    """Write the answer SendChat started as its text comes (content on ``out``, reasoning on ``err``);
    its end and the message it made, or why it has no end."""
    answer: int | None = None
    while True:
        state, event = events.get()
        if isinstance(event, ev.ChatAsked):
            answer = event.answer
        elif isinstance(event, ev.ChatText) and event.answer == answer:
            if event.reasoning:
                err.write(visible_controls(event.reasoning))
                err.flush()
            if event.content:
                out.write(visible_controls(event.content))
                out.flush()
        elif isinstance(event, ev.ChatEnded) and event.answer == answer:
            return event, state.chat.messages[-1]
        elif isinstance(event, ev.ServiceFailed) and event.service.startswith("chat-answer"):
            return f"{event.service}: {visible_controls(event.error)}"


def _attached(events: EventQueue) -> str:
    """ "" once AttachImage's image is attached, else what was wrong with it."""
    while True:
        _state, event = events.get()
        if isinstance(event, ev.ChatImageAttached):
            return ""
        if isinstance(event, ev.ChatImageFailed):
            return event.why
        if isinstance(event, ev.Notice) and event.severity == "error":
            return event.text
        if isinstance(event, ev.ServiceFailed):
            return f"{event.service}: {event.error}"


def _models(events: EventQueue, url: str) -> tuple[ModelInfo, ...] | str:
    """What FetchModels brought for ``url``: the models, or why there are none."""
    while True:
        _state, event = events.get()
        if isinstance(event, ev.ChatModelsListed) and event.url == url:
            return event.models
        if isinstance(event, ev.Notice) and event.severity == "error":
            return event.text
        if isinstance(event, ev.ServiceFailed):
            return f"{event.service}: {event.error}"
