"""``jetconsole chat``: the answer on stdout, reasoning and errors on stderr, JSON figures, exit codes."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest

from console.chat.command import EXIT_INTERRUPTED, EXIT_SERVER_ERROR, EXIT_UNREACHABLE, Ask, chat
from console.config import Config
from tests.replay import MODEL, UNKNOWN_MODEL, ReplayServer, Script, chunk, token_frames, transcript

ROOT = Path(__file__).resolve().parents[2]


def ask(config: Config, prompt: str = "hi", **kw) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = chat(config, Ask(prompt, **kw), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def last_json(out: str) -> dict:
    return json.loads(out.rstrip("\n").splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def no_models_server() -> Iterator[str]:
    """A /v1 server whose model list is empty (a router with nothing behind it)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


# ---- answered ---------------------------------------------------------------------------------------------------


def test_streams_the_answer_and_ends_with_json(srv: ReplayServer) -> None:
    srv.script = Script(
        frames=token_frames(["Hello", " world", "!"], reasoning=["think", "ing"], prompt_tokens=21), rate=10
    )
    code, out, err = ask(Config(servers=(srv.url,)), as_json=True)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Hello world!" and len(lines) == 2
    assert err == "thinking"  # reasoning to stderr, nothing else
    result = json.loads(lines[1])
    assert (result["answer"], result["reasoning"], result["model"], result["status"]) == (
        "Hello world!",
        "thinking",
        MODEL,
        "done",
    )
    assert (result["prompt_tokens"], result["completion_tokens"], result["finish_reason"], result["error"]) == (
        21,
        5,
        "stop",
        None,
    )
    # frames 100 ms apart: the first token (frame 1) about 0.1 s after sending, the last (frame 5) 0.4 s later
    assert 0.05 < result["ttft_s"] < 0.5
    assert result["decode_tok_s"] == pytest.approx((5 - 1) / 0.4, rel=0.3)
    assert result["ttft_s"] < result["total_s"]


def test_request_carries_config_and_options(srv: ReplayServer) -> None:
    config = Config(
        servers=(srv.url,),
        chat_temperature=0.3,
        chat_top_p=0.9,
        chat_max_tokens=77,
        chat_extra_body={"chat_template_kwargs": {"enable_thinking": False}},
    )
    code, out, _ = ask(config, "What is 2+2?", system="Be brief.", max_tokens=5)
    assert code == 0 and out == "Hello!\n"
    body = srv.requests[-1]
    assert body["model"] == MODEL  # the first /v1/models lists
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}]
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.3, 0.9, 5)
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    ask(config, "again", model="chosen")
    assert srv.requests[-1]["model"] == "chosen" and srv.requests[-1]["max_tokens"] == 77
    assert [m["role"] for m in srv.requests[-1]["messages"]] == ["user"]


def test_endpoint_option_overrides_the_configured_servers(srv: ReplayServer) -> None:
    config = Config(servers=(f"http://127.0.0.1:{free_port()}/v1",))
    code, out, _ = ask(config, endpoint_url=srv.url.removesuffix("/v1"))
    assert (code, out) == (0, "Hello!\n")


def test_json_is_the_last_line_even_for_a_multi_line_answer(srv: ReplayServer) -> None:
    srv.script = Script(frames=token_frames(["line one\n", "line two\n\n", '{"not": "json result"}']))
    code, out, _ = ask(Config(servers=(srv.url,)), as_json=True)
    assert code == 0
    assert last_json(out)["answer"] == 'line one\nline two\n\n{"not": "json result"}'
    assert out.startswith('line one\nline two\n\n{"not": "json result"}\n{')


def test_usage_missing_falls_back_to_the_chunk_count(srv: ReplayServer) -> None:
    frames = [chunk({"content": t}) for t in ("a", "b", "c")] + [chunk({}, "length"), "[DONE]"]
    srv.script = Script(frames=frames)
    code, out, _ = ask(Config(servers=(srv.url,)), as_json=True)
    result = last_json(out)
    assert code == 0 and result["completion_tokens"] == 3 and result["prompt_tokens"] is None
    assert result["finish_reason"] == "length"


def test_control_characters_are_made_visible(srv: ReplayServer) -> None:
    srv.script = Script(frames=transcript("control-characters.sse"))
    code, out, err = ask(Config(servers=(srv.url,)), as_json=True)
    assert code == 0
    for raw in ("\x1b", "\x07", "\x9b"):
        assert raw not in out and raw not in err
    text = out.splitlines()[0]
    assert text == "plain ␛[31mred␛[0m ␛[2J␛[H␛]0;pwned␇bell␇ \\x9b31m c1 [bold]markup[/bold]"
    result = last_json(out)
    # cleaned where it entered (the client), so the JSON, the store and every export hold it visible too
    assert result["answer"] == text


def test_reasoning_control_characters_are_made_visible_on_stderr(srv: ReplayServer) -> None:
    srv.script = Script(frames=token_frames(["ok"], reasoning=["\x1b]0;title\x07", "\r\n"]))
    code, out, err = ask(Config(servers=(srv.url,)))
    assert code == 0 and out == "ok\n"
    assert err == "␛]0;title␇\n"


# ---- errors and exit codes --------------------------------------------------------------------------------------


def test_closed_port_exits_3() -> None:
    port = free_port()
    code, out, err = ask(Config(servers=(f"http://127.0.0.1:{port}/v1",)))
    assert (code, out) == (EXIT_UNREACHABLE, "") and EXIT_UNREACHABLE == 3
    assert err.startswith(f"jetconsole: cannot reach http://127.0.0.1:{port}/v1/models")
    assert "Is the server running" in err


def test_no_model_listed_exits_3() -> None:
    with no_models_server() as url:
        code, out, err = ask(Config(servers=(url,)))
    assert (code, out) == (3, "")
    assert err == f"jetconsole: {url}/models lists no model; pass --model\n"


def test_no_server_configured_exits_3() -> None:
    code, out, err = ask(Config(servers=()))
    assert (code, out) == (3, "")
    assert "no server configured" in err


def test_http_error_body_exits_5_with_the_servers_words(srv: ReplayServer) -> None:
    srv.script = Script(status=404, body=json.dumps(UNKNOWN_MODEL))
    code, out, err = ask(Config(servers=(srv.url,)), model="nope", as_json=True)
    assert code == EXIT_SERVER_ERROR == 5
    assert err == "\njetconsole: The model `nope` does not exist. Valid aliases: tiny. (NotFoundError)\n"
    assert out.splitlines()[0] == ""
    result = last_json(out)
    assert (result["status"], result["answer"], result["finish_reason"]) == ("error", "", None)
    assert result["error"] == "The model `nope` does not exist. Valid aliases: tiny. (NotFoundError)"


def test_plain_text_error_body(srv: ReplayServer) -> None:
    srv.script = Script(status=502, body="Bad Gateway \x1b[2J")
    code, _, err = ask(Config(servers=(srv.url,)), model="m")
    assert code == 5
    assert err == "\njetconsole: HTTP 502: Bad Gateway ␛[2J\n"


def test_cut_stream_keeps_the_partial_text_and_exits_5(srv: ReplayServer) -> None:
    srv.script = Script(frames=token_frames(["Hello", " wor", "ld"]), cut_after=3)
    code, out, err = ask(Config(servers=(srv.url,)), as_json=True)
    assert code == 5
    assert out.startswith("Hello wor\n")
    assert "the stream was cut after 2 chunks" in err and "partial answer is kept" in err
    result = last_json(out)
    assert (result["status"], result["answer"]) == ("error", "Hello wor")
    assert "the stream was cut" in result["error"]


def test_error_frame_midstream_exits_5_after_the_partial_text(srv: ReplayServer) -> None:
    srv.script = Script(frames=transcript("vllm-0.32-error-midstream.sse"))
    code, out, err = ask(Config(servers=(srv.url,)), as_json=True)
    assert code == 5
    assert out.splitlines()[0] == "Partial answer kept"
    assert "EngineCore encountered an issue" in err
    assert last_json(out)["status"] == "error"


def test_stream_ending_without_finish_says_why_on_stderr(srv: ReplayServer) -> None:
    srv.script = Script(frames=[chunk({"content": "Half"}), chunk({"content": " an answer"})])
    code, out, err = ask(Config(servers=(srv.url,)), as_json=True)
    assert code == 5
    assert last_json(out)["error"] is not None  # the JSON has the reason...
    assert "without a finish reason" in err  # ...so should stderr, like every other exit 5


# ---- the real command line -------------------------------------------------------------------------------------


def test_cli_subprocess_json(srv: ReplayServer, tmp_path: Path) -> None:
    srv.script = Script(frames=token_frames(["Hi", " there"], prompt_tokens=4))
    cfgfile = tmp_path / "config.toml"
    cfgfile.write_text(f'[endpoints]\nservers = ["{srv.url}"]\n[chat]\nmax_tokens = 33\n')
    proc = subprocess.run(
        [sys.executable, "-m", "console.cli", "--config", str(cfgfile), "chat", "hi", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Hi there\n")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (result["answer"], result["model"], result["status"], result["finish_reason"]) == (
        "Hi there",
        MODEL,
        "done",
        "stop",
    )
    assert (result["prompt_tokens"], result["completion_tokens"]) == (4, 2)
    assert result["ttft_s"] is not None and result["ttft_s"] >= 0
    assert srv.requests[-1]["max_tokens"] == 33 and srv.requests[-1]["messages"] == [{"role": "user", "content": "hi"}]


# ---- on the runtime: nothing kept, nothing left running, Ctrl-C cancels ----------------------------------------


def joined_threads() -> list[str]:
    """The runtime's threads still alive once each had two seconds to end (none, after ``chat`` returns)."""
    threads = [t for t in threading.enumerate() if t.name.startswith("jetconsole-")]
    for t in threads:
        t.join(2.0)
    return [t.name for t in threads if t.is_alive()]


def test_the_answer_is_not_kept_and_no_thread_is_left(srv: ReplayServer, tmp_path: Path) -> None:
    """A one-off question is not a conversation: the chat store is never opened (as before the runtime)."""
    store = tmp_path / "chats.sqlite3"
    code, out, _ = ask(Config(servers=(srv.url,), chat_store=str(store)))
    assert (code, out) == (0, "Hello!\n")
    assert list(tmp_path.iterdir()) == []
    assert joined_threads() == []


class CtrlCOnFirstText(StringIO):
    """stdout that gets Ctrl-C as the first answer text is written: where a real one lands, in the main thread."""

    def write(self, s: str) -> int:
        n = super().write(s)
        if s:
            raise KeyboardInterrupt
        return n


def test_ctrl_c_in_the_middle_cancels_the_request(srv: ReplayServer, tmp_path: Path) -> None:
    srv.script = Script(frames=token_frames([f" t{i}" for i in range(400)]), rate=40)  # 10 s if not cancelled
    before = srv.disconnects
    out, err = CtrlCOnFirstText(), StringIO()
    store = tmp_path / "chats.sqlite3"
    code = chat(Config(servers=(srv.url,), chat_store=str(store)), Ask("hi"), out=out, err=err)
    assert code == EXIT_INTERRUPTED == 130
    assert out.getvalue().startswith(" t0") and "\n" not in out.getvalue()  # no line end, no JSON
    assert err.getvalue() == "\njetconsole: stopped; the request was cancelled\n"
    assert joined_threads() == []
    deadline = time.monotonic() + 5  # the server notices at its next write
    while srv.disconnects == before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.disconnects == before + 1
    assert not store.exists()


def test_sigint_to_the_command_cancels_the_request(srv: ReplayServer, tmp_path: Path) -> None:
    """The real Ctrl-C: SIGINT to ``jetconsole chat`` while the answer streams."""
    srv.script = Script(frames=token_frames([f" t{i}" for i in range(400)]), rate=40)
    before = srv.disconnects
    cfgfile = tmp_path / "config.toml"
    cfgfile.write_text(f'[endpoints]\nservers = ["{srv.url}"]\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "--config", str(cfgfile), "chat", "hi", "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # as from a terminal: a suite started in the background (nohup … &) hands its children SIGINT ignored,
        # and a Python started so keeps ignoring it (a run of the suite failed so, answering in full)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.read(3)  # the answer streams: " t0"
        proc.send_signal(signal.SIGINT)
        rest, errors = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == EXIT_INTERRUPTED, errors
    assert first == b" t0" and b"{" not in rest  # no JSON line after a Ctrl-C
    assert errors.decode() == "\njetconsole: stopped; the request was cancelled\n"
    deadline = time.monotonic() + 5
    while srv.disconnects == before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.disconnects == before + 1


def test_a_question_too_long_for_the_context_says_what_to_do(srv: ReplayServer) -> None:
    words = (
        "This model's maximum context length is 1024 tokens. However, you requested 1600 tokens "
        "(1088 in the messages, 512 in the completion). Please reduce the length of the messages or completion."
    )
    srv.script = Script(status=400, body=json.dumps({"object": "error", "message": words, "code": 400}))
    code, out, err = ask(Config(servers=(srv.url,)), model="m", as_json=True)
    assert code == EXIT_SERVER_ERROR
    assert err.splitlines()[-1] == (
        "jetconsole: the question and its answer do not fit the model's context (1024 tokens): "
        "shorten the prompt or lower --max-tokens"
    )
    assert last_json(out)["error"].startswith("This model's maximum context length is 1024 tokens.")


def test_json_keeps_the_answers_own_characters(srv: ReplayServer) -> None:
    srv.script = Script(frames=token_frames(["café ", "•• ", "日本"]))
    code, out, _ = ask(Config(servers=(srv.url,)), as_json=True)
    assert code == 0
    assert '"answer": "café •• 日本"' in out.splitlines()[-1]  # not "caf\u00e9"
