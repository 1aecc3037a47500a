"""The pure half of the chat client: SSE framing, chunk events, error bodies, answer timing, request bodies."""

from __future__ import annotations

import json
import random

import pytest

from console.chat.endpoints import Endpoint
from console.chat.stream import SSEDecoder, StreamEvent, chunk_events, error_text, parse_data
from console.chat.timing import AnswerClock
from console.chat.wire import ChatRequest, request_body
from tests.replay import TRANSCRIPTS, chunk, transcript

SSE_FILES = sorted(p.name for p in TRANSCRIPTS.glob("*.sse"))


def events_of(name: str) -> list[StreamEvent]:
    return [e for data in transcript(name) for e in parse_data(data)]


def text_of(events: list[StreamEvent], kind: str) -> str:
    return "".join(e.text for e in events if e.kind == kind)


# ---- SSEDecoder -----------------------------------------------------------------------------------------------


def sse(text: str) -> list[str]:
    decoder = SSEDecoder()
    return decoder.feed(text) + decoder.close()


def test_sse_one_event_per_blank_line() -> None:
    assert sse("data: one\n\ndata: two\n\ndata: [DONE]\n\n") == ["one", "two", "[DONE]"]


def test_sse_joins_multi_line_data_with_newlines() -> None:
    assert sse('data: {"a":\ndata:  1}\n\ndata: x\n\n') == ['{"a":\n 1}', "x"]


def test_sse_skips_comments_and_other_fields() -> None:
    text = ": keep-alive\n\nevent: message\nid: 7\nretry: 100\ndata: real\n: mid-event comment\ndata: more\n\n"
    assert sse(text) == ["real\nmore"]


def test_sse_crlf_lf_and_cr_line_ends() -> None:
    assert sse("data: a\r\n\r\ndata: b\n\ndata: c\r\r") == ["a", "b", "c"]


def test_sse_last_event_without_trailing_blank_line() -> None:
    assert sse("data: first\n\ndata: last") == ["first", "last"]
    assert sse("data: only") == ["only"]


def test_sse_same_events_however_the_reads_split_the_bytes() -> None:
    text = 'data: {"a":\r\ndata: 1}\r\n\r\n: ping\n\ndata: two\r\rdata: three\n\ndata: [DONE]\n\n'
    whole = sse(text)
    assert whole == ['{"a":\n1}', "two", "three", "[DONE]"]
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, 12)))
        decoder = SSEDecoder()
        got: list[str] = []
        for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True):
            got += decoder.feed(text[a:b])
        assert got + decoder.close() == whole, cuts


def test_sse_an_event_is_given_only_once_it_is_complete() -> None:
    decoder = SSEDecoder()
    assert decoder.feed("data: hel") == []
    assert decoder.feed("lo\n") == []
    assert decoder.feed("\n") == ["hello"]


def test_sse_strips_one_space_only_and_takes_no_space() -> None:
    assert sse("data:tight\n\ndata:  two spaces\n\n") == ["tight", " two spaces"]


def test_sse_blank_lines_alone_give_nothing() -> None:
    assert sse("\n\n: ping\n\n") == []


@pytest.mark.parametrize("name", SSE_FILES)
def test_sse_of_each_transcript_file_is_its_payloads(name: str) -> None:
    """The files are real SSE bodies (label lines aside): framing them, LF or CRLF, gives the payloads."""
    body = [line for line in (TRANSCRIPTS / name).read_text().splitlines() if not line.startswith("#")]
    payloads = transcript(name)
    assert len(payloads) >= 6
    assert sse("\n".join(body)) == payloads
    assert sse("".join(line + "\r\n" for line in body)) == payloads


# ---- parse_data / chunk_events over every transcript ------------------------------------------------------


def _expected_from_json(name: str) -> list[tuple]:
    """What the events should be, worked out from the raw JSON independently of the parser."""
    out: list[tuple] = []
    for data in transcript(name):
        if data == "[DONE]":
            out.append(("done",))
            continue
        obj = json.loads(data)
        if "error" in obj:
            out.append(("error",))
            continue
        for ch in obj["choices"]:
            d = ch["delta"]
            r = d.get("reasoning") or d.get("reasoning_content")
            if r:
                out.append(("reasoning", r))
            if d.get("content"):
                out.append(("content", d["content"]))
            if ch.get("finish_reason"):
                out.append(("finish", ch["finish_reason"]))
        if obj.get("usage"):
            out.append(("usage", obj["usage"]["prompt_tokens"], obj["usage"]["completion_tokens"]))
    return out


def _shape(e: StreamEvent) -> tuple:
    if e.kind == "usage":
        return ("usage", e.prompt_tokens, e.completion_tokens)
    if e.kind in ("done", "error"):
        return (e.kind,)
    return (e.kind, e.text)


@pytest.mark.parametrize("name", SSE_FILES)
def test_every_transcript_parses_in_order(name: str) -> None:
    events = events_of(name)
    assert [_shape(e) for e in events] == _expected_from_json(name)
    assert events[-1].kind == "done"
    assert all(e.at == 0.0 for e in events)  # arrival times are the client's business


def test_captured_tiny_stream() -> None:
    events = events_of("vllm-0.32-tiny-stream.sse")
    assert text_of(events, "content") == " witover" * 6
    assert text_of(events, "reasoning") == ""
    assert [e.text for e in events if e.kind == "finish"] == ["length"]
    usage = [e for e in events if e.kind == "usage"]
    assert [(u.prompt_tokens, u.completion_tokens) for u in usage] == [(22, 12)]
    assert sum(e.kind == "content" for e in events) == 12  # one delta per token, as the usage says


@pytest.mark.parametrize(
    ("name", "reasoning", "content", "usage"),
    [
        (
            "vllm-0.32-qwen3-reasoning.sse",
            "The user asks for 2+2. That is 4.",
            "**2 + 2 = 4**\n\n- addition\n- no carry",
            (19, 11),
        ),
        ("vllm-0.32-gptoss-reasoning.sse", "analysis: check units.", "Thor has 128 GB.", (30, 7)),
        ("vllm-0.11-reasoning-content.sse", "Thinking briefly.", "Answer: yes", (12, 5)),
    ],
)
def test_reasoning_field_old_and_new(name: str, reasoning: str, content: str, usage: tuple[int, int]) -> None:
    """``delta.reasoning`` (vLLM 0.32) and ``delta.reasoning_content`` (<= 0.11, SGLang) both count as reasoning."""
    events = events_of(name)
    assert text_of(events, "reasoning") == reasoning
    assert text_of(events, "content") == content
    kinds = [e.kind for e in events]
    assert kinds.index("content") > max(i for i, k in enumerate(kinds) if k == "reasoning")
    assert kinds[-3:] == ["finish", "usage", "done"]
    u = next(e for e in events if e.kind == "usage")
    assert (u.prompt_tokens, u.completion_tokens) == usage


def test_error_frame_midstream() -> None:
    events = events_of("vllm-0.32-error-midstream.sse")
    assert text_of(events, "content") == "Partial answer kept"
    assert [e.kind for e in events][-2:] == ["error", "done"]
    error = next(e for e in events if e.kind == "error")
    assert error.text == (
        "EngineCore encountered an issue. See stack trace (above) for the root cause. (InternalServerError)"
    )
    assert not any(e.kind in ("finish", "usage") for e in events)


def test_control_characters_are_passed_on_raw_by_the_parser() -> None:
    """Cleaning is the display's job (visible_controls); the parser keeps the model's bytes exactly."""
    content = text_of(events_of("control-characters.sse"), "content")
    assert content == ("plain \x1b[31mred\x1b[0m \x1b[2J\x1b[H\x1b]0;pwned\x07bell\x07 \x9b31m c1 [bold]markup[/bold]")


def test_chunk_events_both_reasoning_fields_in_one_delta_take_reasoning() -> None:
    events = chunk_events(json.loads(chunk({"reasoning": "new", "reasoning_content": "old", "content": "c"})))
    assert [(e.kind, e.text) for e in events] == [("reasoning", "new"), ("content", "c")]


def test_chunk_events_other_choices_and_empty_deltas_ignored() -> None:
    c = {
        "choices": [
            {"index": 1, "delta": {"content": "other"}, "finish_reason": "stop"},
            {"index": 0, "delta": {"content": ""}, "finish_reason": None},
            {"index": 0, "delta": {"reasoning": None, "content": "mine"}},
        ]
    }
    assert [(e.kind, e.text) for e in chunk_events(c)] == [("content", "mine")]
    assert chunk_events({"choices": [], "usage": None}) == []
    assert chunk_events({"choices": None}) == []


def test_chunk_with_content_finish_and_usage_together() -> None:
    """Some servers send the last token, the finish reason and the usage in one chunk."""
    c = json.loads(chunk({"content": "end"}, "length", usage={"prompt_tokens": 3, "completion_tokens": 9}))
    assert [_shape(e) for e in chunk_events(c)] == [("content", "end"), ("finish", "length"), ("usage", 3, 9)]


def test_parse_data_done_and_garbage() -> None:
    assert parse_data("[DONE]") == [StreamEvent("done")]
    assert parse_data("  [DONE]  ") == [StreamEvent("done")]
    bad = parse_data("{not json")
    assert [e.kind for e in bad] == ["error"] and "not JSON" in bad[0].text and "{not json" in bad[0].text
    listed = parse_data("[1, 2]")
    assert [e.kind for e in listed] == ["error"] and "unexpected chunk" in listed[0].text


def test_parse_data_flat_error_frame() -> None:
    events = parse_data(json.dumps({"object": "error", "message": "Out of memory", "type": "InternalServerError"}))
    assert [(e.kind, e.text) for e in events] == [("error", "Out of memory (InternalServerError)")]


# ---- error_text ------------------------------------------------------------------------------------------------

# shared/reference/domain.md §4.3: real vLLM 0.32 bodies
UNKNOWN_MODEL = "The model `nope` does not exist. Valid aliases: tiny."
TOO_LONG = (
    "This model's maximum context length is 1024 tokens. However, your prompt contains at least 1025 input "
    "tokens, which exceeds this limit even without any output tokens. Please reduce the length of the input "
    "prompt. (parameter=input_tokens, value=1025)"
)
MAX_TOKENS = "max_tokens=5000 cannot be greater than max_model_len=1024. Please request fewer output tokens."
ENGINE = "EngineCore encountered an issue. See stack trace (above) for the root cause."


@pytest.mark.parametrize(
    ("message", "kind", "param", "code"),
    [
        (UNKNOWN_MODEL, "NotFoundError", "model", 404),
        (TOO_LONG, "BadRequestError", None, 400),
        (MAX_TOKENS, "BadRequestError", None, 400),
        (ENGINE, "InternalServerError", None, 500),
    ],
)
def test_error_text_nested_vllm(message: str, kind: str, param: str | None, code: int) -> None:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    expected = f"{message} ({kind})"
    assert error_text(body) == expected
    assert error_text(json.dumps(body), code) == expected
    assert error_text(json.dumps(body).encode(), code) == expected


def test_error_text_flat_sglang_capture_file() -> None:
    raw = (TRANSCRIPTS / "sglang-0.5.23-flat-error.json").read_bytes()
    assert error_text(raw, 404) == "The model `nope` does not exist. (NotFoundError)"
    assert error_text(json.loads(raw)) == "The model `nope` does not exist. (NotFoundError)"


def test_error_text_type_already_in_message_is_not_repeated() -> None:
    body = {"error": {"message": "NotFoundError: no such model", "type": "NotFoundError"}}
    assert error_text(body) == "NotFoundError: no such model"


def test_error_text_other_shapes() -> None:
    assert error_text({"detail": "Not Found"}) == "Not Found"  # FastAPI
    assert error_text(b'{"detail": "Not Found"}', 404) == "Not Found"
    assert error_text({"error": "plain string error"}) == "plain string error"
    assert error_text({"error": {"detail": "from detail"}}) == "from detail"
    assert error_text({"error": {"code": 500}}) == '{"code": 500}'  # no message: the whole inner object


def test_error_text_plain_and_non_json_bodies() -> None:
    assert error_text(b"Internal Server Error", 500) == "HTTP 500: Internal Server Error"
    assert error_text("  upstream timed out\n", 504) == "HTTP 504: upstream timed out"
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    assert error_text(html, 502) == f"HTTP 502: {html.decode()}"
    assert error_text(b"", 503) == "HTTP 503"
    assert error_text(b"\xff\xfe broken utf-8", 500).startswith("HTTP 500: ")
    assert error_text("no status here") == "no status here"
    long = "x" * 2000
    assert error_text(long, 500) == f"HTTP 500: {'x' * 500}"


# ---- AnswerClock -------------------------------------------------------------------------------------------


def ev(kind: str, at: float, text: str = "", p: int | None = None, c: int | None = None) -> StreamEvent:
    return StreamEvent(kind, text, p, c, at)


def test_clock_ttft_and_decode_rate_from_usage() -> None:
    clock = AnswerClock(sent=100.0)
    for e in (
        ev("reasoning", 100.25, "r"),
        ev("content", 101.0, "a"),
        ev("content", 102.25, "b"),
        ev("finish", 102.3, "stop"),
        ev("usage", 102.3, p=17, c=31),
    ):
        clock.feed(e)
    clock.end(103.0)
    s = clock.stats()
    assert s.ttft == pytest.approx(0.25)
    assert s.total == pytest.approx(3.0)
    assert s.decode_tps == pytest.approx((31 - 1) / (102.25 - 100.25))  # 15.0: TTFT left out
    assert (s.prompt_tokens, s.completion_tokens, s.finish_reason, s.error) == (17, 31, "stop", None)


def test_clock_without_usage_counts_chunks() -> None:
    clock = AnswerClock(sent=0.0)
    for i, at in enumerate((1.0, 1.5, 2.0, 3.0)):
        clock.feed(ev("content", at, str(i)))
    clock.end(3.5)
    s = clock.stats()
    assert s.completion_tokens == 4 and s.prompt_tokens is None
    assert s.decode_tps == pytest.approx(3 / 2.0)
    assert s.ttft == pytest.approx(1.0) and s.total == pytest.approx(3.5)


def test_clock_usage_wins_over_chunk_count_even_when_smaller() -> None:
    clock = AnswerClock(sent=0.0)
    for at in (1.0, 2.0, 3.0, 4.0, 5.0):
        clock.feed(ev("content", at, "x"))
    clock.feed(ev("usage", 5.0, p=1, c=3))
    assert clock.stats().completion_tokens == 3
    assert clock.stats().decode_tps == pytest.approx(2 / 4.0)


def test_clock_nothing_or_one_token_has_no_rate() -> None:
    empty = AnswerClock(sent=5.0)
    empty.end(6.0)
    s = empty.stats()
    assert (s.ttft, s.decode_tps, s.completion_tokens) == (None, None, None)
    assert s.total == pytest.approx(1.0)
    one = AnswerClock(sent=0.0)
    one.feed(ev("content", 0.5, "x"))
    assert one.stats().decode_tps is None and one.stats().completion_tokens == 1
    assert one.stats().total is None  # not ended yet
    same = AnswerClock(sent=0.0)
    same.feed(ev("content", 1.0, "a"))
    same.feed(ev("content", 1.0, "b"))
    assert same.stats().decode_tps is None  # no time between first and last: no division by zero


def test_clock_abort_overrides_finish_and_plain_end_keeps_it() -> None:
    stopped = AnswerClock(sent=0.0)
    stopped.feed(ev("finish", 1.0, "stop"))
    stopped.end(2.0, "abort")
    assert stopped.stats().finish_reason == "abort"
    kept = AnswerClock(sent=0.0)
    kept.feed(ev("finish", 1.0, "length"))
    kept.end(2.0)
    assert kept.stats().finish_reason == "length"


def test_clock_errors_are_concatenated() -> None:
    clock = AnswerClock(sent=0.0)
    clock.feed(ev("error", 1.0, "first"))
    clock.feed(ev("error", 2.0, "second"))
    assert clock.stats().error == "first; second"


def test_clock_over_a_real_transcript_with_arrival_times() -> None:
    """Events of the captured stream at 10 ms apart: the usage's 12 tokens over the content's time span."""
    clock = AnswerClock(sent=0.0)
    at = 0.0
    content_times = []
    for e in events_of("vllm-0.32-tiny-stream.sse"):
        at += 0.01
        if e.kind == "content":
            content_times.append(at)
        clock.feed(StreamEvent(e.kind, e.text, e.prompt_tokens, e.completion_tokens, at))
    clock.end(at)
    s = clock.stats()
    assert s.ttft == pytest.approx(content_times[0])
    assert s.decode_tps == pytest.approx(11 / (content_times[-1] - content_times[0]))
    assert (s.prompt_tokens, s.completion_tokens, s.finish_reason) == (22, 12, "length")


# ---- request_body ------------------------------------------------------------------------------------------


def req(**kw) -> ChatRequest:
    base = {
        "endpoint": Endpoint("http://h:8000/v1", "sk-secret"),
        "model": "m",
        "messages": ({"role": "system", "content": "S"}, {"role": "user", "content": "Q"}),
    }
    return ChatRequest(**{**base, **kw})


def test_request_body_basics() -> None:
    body = request_body(req(temperature=0.2, top_p=0.9, max_tokens=64))
    assert body == {
        "model": "m",
        "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 64,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert "sk-secret" not in json.dumps(body)  # the key goes in a header, never the body


def test_request_body_leaves_out_none_sampling_values() -> None:
    body = request_body(req(temperature=None, top_p=None, max_tokens=None))
    assert not {"temperature", "top_p", "max_tokens"} & set(body)
    assert request_body(req(temperature=0.0))["temperature"] == 0.0  # zero is a value, not "unset"


def test_request_body_extra_cannot_turn_off_streaming_or_usage() -> None:
    extra = {"stream": False, "stream_options": {"include_usage": False, "continuous_usage_stats": True}}
    body = request_body(req(extra=extra))
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert extra == {"stream": False, "stream_options": {"include_usage": False, "continuous_usage_stats": True}}


def test_request_body_extra_merges_and_may_override_sampling() -> None:
    extra = {"chat_template_kwargs": {"enable_thinking": False}, "top_k": 20, "temperature": 0.1}
    body = request_body(req(temperature=0.7, extra=extra))
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["top_k"] == 20
    assert body["temperature"] == 0.1
    assert body["messages"][0] == {"role": "system", "content": "S"}


def test_request_body_is_json_serialisable() -> None:
    body = request_body(req(extra={"chat_template_kwargs": {"enable_thinking": True}}))
    assert json.loads(json.dumps(body)) == body


def test_plain_http_servers_get_a_client_that_loads_no_ca_bundle_and_https_ones_verify() -> None:
    """A local vLLM speaks plain HTTP: its client skips the CA bundle (~45 ms, ~1.7 MiB of every start);
    an https server's client verifies its certificate as usual. Each kind is made once and shared."""
    import ssl

    from console.chat.client import needs_tls, new_client, shared_client

    assert not needs_tls("http://127.0.0.1:8000/v1") and not needs_tls("HTTP://gpu-box:30000")
    assert needs_tls("https://api.example.com/v1") and needs_tls("unix:///x")  # anything not plain HTTP verifies

    def verify_mode(client: object) -> ssl.VerifyMode:
        return client._transport._pool._ssl_context.verify_mode  # type: ignore[attr-defined]

    assert verify_mode(new_client("http://127.0.0.1:8000")) == ssl.CERT_NONE
    assert verify_mode(new_client("https://api.example.com")) == ssl.CERT_REQUIRED
    assert shared_client("http://a:1/v1") is shared_client("http://b:2/v1")
    assert shared_client("https://a/v1") is not shared_client("http://a/v1")
    assert verify_mode(shared_client("https://a/v1")) == ssl.CERT_REQUIRED
