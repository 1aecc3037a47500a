"""Chat client overhead: jetconsole's ``ChatStream`` next to a bare httpx reader of the same stream.

Both readers send the same JSON body (``request_body``) to the same server in the same run, taking
turns (the first of each pair alternates). TTFT for both runs from one ``time.monotonic()`` taken
just before the request is issued:

* bare: ``httpx.Client().stream("POST", …)`` and ``iter_lines()``; the first token is the first
  line holding a non-empty ``content`` (or ``reasoning``) delta;
* jetconsole: ``ChatStream(request)`` iterated; the first token is the ``.at`` of its first content
  (or reasoning) event.

Two ways of holding the connection, both measured: *fresh*, a new ``httpx.Client`` per request,
made inside the timed span (what the app does: ``ChatStream`` without a client makes its own), and
*shared*, one keep-alive client per reader. Then the decode throughput: a 20,000-token replay
stream at full speed, read by each reader, and by ``run_answer`` with a ``ChatStore`` (the app's
chat worker without the UI: every chunk saved as it comes).

The default server is ``tests.replay.ReplayServer`` in a child process (50 ms before the first
frame, 200 tokens); ``--url``/``--model`` use a real server for the TTFT part::

    .venv/bin/python benchmarks/chat_ttft_overhead.py [--runs 40] [--url http://127.0.0.1:8000/v1 --model M]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ptyrun import ROOT, ReplayProcess, report_header, save_report

sys.path.insert(0, str(ROOT))

import httpx

from console.chat.client import CONNECT_TIMEOUT, READ_TIMEOUT, ChatRequest, ChatStream, request_body
from console.chat.endpoints import Endpoint, v1_url
from console.chat.runner import run_answer
from console.chat.store import ChatStore

TIMEOUT = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)  # as ChatStream's own client
TOKEN_LINE = re.compile(r'"(?:content|reasoning|reasoning_content)"\s*:\s*"(?!")')  # a non-empty delta
PROMPT = ({"role": "user", "content": "Write a short story about a lighthouse keeper."},)


def words(n: int, tag: str = "w") -> list[str]:
    return [f" {tag}{i}" for i in range(n)]


# ---- one read: (ttft_s, tokens, first, last) ----------------------------------------------------------------


def read_bare(url: str, body: dict[str, Any], headers: dict[str, str], client: httpx.Client | None) -> dict[str, Any]:
    t0 = time.monotonic()
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT)
    first = last = None
    tokens = 0
    try:
        with client.stream("POST", f"{url}/chat/completions", json=body, headers=headers) as resp:
            for line in resp.iter_lines():
                if line.startswith("data:") and TOKEN_LINE.search(line):
                    last = time.monotonic()
                    first = first or last
                    tokens += 1
    finally:
        if own:
            client.close()
    return {"ttft": None if first is None else first - t0, "tokens": tokens, "first": first, "last": last}


def read_jetconsole(req: ChatRequest, client: httpx.Client | None, fresh: bool = False) -> dict[str, Any]:
    """``fresh``: a new client made inside the timed span; ``client`` None: as the app calls ChatStream."""
    t0 = time.monotonic()
    if fresh:
        client = httpx.Client(timeout=TIMEOUT)
    stream = ChatStream(req, client=client)
    first = last = None
    tokens = 0
    try:
        for event in stream:
            if event.kind in ("content", "reasoning"):
                last = event.at
                first = first or last
                tokens += 1
    finally:
        if fresh and client is not None:
            client.close()
    if stream.status != "done":
        raise RuntimeError(f"jetconsole's stream ended {stream.status}: {stream.clock.error}")
    own = stream.clock.stats().ttft
    return {
        "ttft": None if first is None else first - t0,
        "tokens": tokens,
        "first": first,
        "last": last,
        "own_ttft": own,
    }


def read_app_worker(req: ChatRequest, store: ChatStore) -> dict[str, Any]:
    """``run_answer`` as the app's chat worker runs it: every chunk to the store, text in 50 ms batches."""
    conv = store.new_conversation("bench", req.endpoint.url, req.model)
    store.add_message(conv, "user", PROMPT[0]["content"])
    message_id = store.start_message(conv)
    stream = ChatStream(req)
    ended: list[Any] = []
    run_answer(stream, lambda c, r: None, lambda status, stats: ended.append(stats), store, message_id)
    stats = ended[0]
    return {
        "ttft": stats.ttft,
        "tokens": stats.completion_tokens,
        "first": stream.clock.first,
        "last": stream.clock.last,
    }


# ---- the runs ----------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "min": min(values),
        "median": statistics.median(values),
        "p90": percentile(values, 0.9),
        "max": max(values),
        "n": len(values),
    }


def ttft_runs(url: str, model: str, max_tokens: int, runs: int, warmup: int) -> dict[str, Any]:
    endpoint = Endpoint(url)
    req = ChatRequest(endpoint, model, PROMPT, max_tokens=max_tokens)
    body, headers = request_body(req), endpoint.headers()
    shared = {"bare": httpx.Client(timeout=TIMEOUT), "jetconsole": httpx.Client(timeout=TIMEOUT)}
    readers: dict[str, Callable[[], dict[str, Any]]] = {
        "bare/fresh": lambda: read_bare(url, body, headers, None),
        "jetconsole/fresh": lambda: read_jetconsole(req, None, fresh=True),
        "bare/shared": lambda: read_bare(url, body, headers, shared["bare"]),
        "jetconsole/shared": lambda: read_jetconsole(req, shared["jetconsole"]),
        "jetconsole/app": lambda: read_jetconsole(req, None),  # ChatStream(req), as the app makes it
    }
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in readers}
    try:
        for i in range(warmup + runs):
            for mode in ("fresh", "shared"):
                pair = [f"bare/{mode}", f"jetconsole/{mode}"]
                for name in [
                    *(pair if i % 2 == 0 else reversed(pair)),
                    *(["jetconsole/app"] if mode == "shared" else []),
                ]:
                    sample = readers[name]()  # ttft None: the answer had no token (a random-weight model can
                    if i >= warmup:  # stop at once); that round's pair is left out of the differences
                        samples[name].append(sample)
            if i >= warmup and (i - warmup + 1) % 10 == 0:
                print(f"  {i - warmup + 1}/{runs} rounds", flush=True)
    finally:
        for client in shared.values():
            client.close()
    out: dict[str, Any] = {"readers": {}, "difference_ms": {}, "samples": samples}
    for name, got in samples.items():
        out["readers"][name] = summary([s["ttft"] * 1000 for s in got if s["ttft"] is not None])
        out["readers"][name]["no_token"] = sum(s["ttft"] is None for s in got)
        own = [s["own_ttft"] * 1000 for s in got if s.get("own_ttft") is not None]
        if own:
            out["readers"][name]["stats_line_median"] = statistics.median(own)
    for mode in ("fresh", "shared"):
        pairs = zip(samples[f"jetconsole/{mode}"], samples[f"bare/{mode}"], strict=True)
        diffs = [(j["ttft"] - b["ttft"]) * 1000 for j, b in pairs if j["ttft"] is not None and b["ttft"] is not None]
        out["difference_ms"][mode] = {
            **summary(diffs),
            "of_medians": out["readers"][f"jetconsole/{mode}"]["median"] - out["readers"][f"bare/{mode}"]["median"],
            "ratio_of_medians": out["readers"][f"jetconsole/{mode}"]["median"]
            / out["readers"][f"bare/{mode}"]["median"],
        }
    return out


def decode_runs(replay: ReplayProcess, tokens: int, runs: int) -> dict[str, Any]:
    replay.serve(words(tokens), rate=0.0)
    endpoint = Endpoint(replay.url)
    req = ChatRequest(endpoint, "replay", PROMPT, max_tokens=tokens)
    body = request_body(req)
    tmp = tempfile.TemporaryDirectory(prefix="jetconsole-bench-")
    store = ChatStore(Path(tmp.name) / "chats.sqlite3")
    readers: dict[str, Callable[[], dict[str, Any]]] = {
        "bare": lambda: read_bare(replay.url, body, {}, None),
        "jetconsole": lambda: read_jetconsole(req, None),
        "jetconsole+store": lambda: read_app_worker(req, store),
    }
    out: dict[str, Any] = {}
    try:
        for i in range(runs + 1):  # the first round warms up
            for name in list(readers) if i % 2 == 0 else list(reversed(readers)):
                t0 = time.monotonic()
                sample = readers[name]()
                wall = time.monotonic() - t0
                if sample["tokens"] != tokens:
                    raise RuntimeError(f"{name}: read {sample['tokens']} of {tokens} tokens")
                if i:
                    rate = (tokens - 1) / (sample["last"] - sample["first"])
                    out.setdefault(name, []).append({"tokens_per_s": rate, "wall_s": wall})
    finally:
        store.close()
        tmp.cleanup()
    return {
        name: {
            "tokens_per_s": statistics.median(s["tokens_per_s"] for s in got),
            "wall_s": statistics.median(s["wall_s"] for s in got),
            "runs": got,
        }
        for name, got in sorted(out.items(), key=lambda item: list(readers).index(item[0]))
    }


# ---- report -------------------------------------------------------------------------------------------------


def table(ttft: dict[str, Any], decode: dict[str, Any], where: str, tokens: int) -> str:
    lines = [
        f"TTFT from just before the request, ms ({where})",
        f"{'reader':24}{'min':>8}{'median':>9}{'p90':>9}{'max':>9}",
    ]
    for name, s in ttft["readers"].items():
        lines.append(
            f"{name:24}{s['min']:8.2f}{s['median']:9.2f}{s['p90']:9.2f}{s['max']:9.2f}"
            + (f"   ({s['no_token']} answers without a token left out)" if s["no_token"] else "")
        )
    for mode, d in ttft["difference_ms"].items():
        lines.append(
            f"jetconsole - bare, {mode:6}: median of paired differences {d['median']:+.2f} ms "
            f"(p90 {d['p90']:+.2f}), of medians {d['of_medians']:+.2f} ms, ratio {d['ratio_of_medians']:.3f}x"
        )
    own = ttft["readers"]["jetconsole/app"].get("stats_line_median")
    if own is not None:
        lines.append(f"jetconsole's own TTFT figure (its stats line) for jetconsole/app, median: {own:.2f} ms")
    lines.append("")
    lines.append(f"decode: {tokens:,} tokens at full speed, read by each (median of runs)")
    for name, d in decode.items():
        lines.append(f"{name:24}{d['tokens_per_s']:12,.0f} tokens/s   ({d['wall_s']:.2f} s for the whole answer)")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="timed rounds of each reader (default 40)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--url", help="a real OpenAI-compatible server (…/v1) for the TTFT part")
    parser.add_argument("--model", help="its model id (with --url)")
    parser.add_argument("--max-tokens", type=int, default=200, help="answer length for TTFT (default 200)")
    parser.add_argument(
        "--first-delay", type=float, default=0.05, help="replay server's seconds before the first frame (default 0.05)"
    )
    parser.add_argument("--decode-tokens", type=int, default=20_000, help="decode stream length (default 20000)")
    parser.add_argument("--decode-runs", type=int, default=3, help="decode runs of each reader (default 3)")
    parser.add_argument("--output", type=Path, help="JSON file (default benchmarks/results/chat_ttft_overhead-…)")
    args = parser.parse_args(argv)
    if bool(args.url) != bool(args.model):
        parser.error("--url and --model go together")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, load_start = time.time(), os.getloadavg()
    replay = ReplayProcess()
    try:
        if args.url:
            url, model, where = v1_url(args.url), args.model, f"{v1_url(args.url)}, model {args.model}"
        else:
            replay.serve(words(args.max_tokens), first_delay=args.first_delay)
            url, model = replay.url, "replay"
            where = f"replay server, {args.first_delay * 1000:.0f} ms before the first frame, {args.max_tokens} tokens"
        print(f"TTFT: {args.warmup} + {args.runs} rounds against {where} …", flush=True)
        ttft = ttft_runs(url, model, args.max_tokens, args.runs, args.warmup)
        print(f"decode: {args.decode_runs} runs of {args.decode_tokens:,} tokens at full speed …", flush=True)
        decode = decode_runs(replay, args.decode_tokens, args.decode_runs)
    finally:
        replay.close()
    report = {
        **report_header("chat_ttft_overhead", started, load_start, args, server=where, httpx=httpx.__version__),
        "ttft_ms": ttft,
        "decode": decode,
    }
    out = save_report(report, args.output)
    print()
    print(table(ttft, decode, where, args.decode_tokens))
    print(f"(load average {load_start[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end)")
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
