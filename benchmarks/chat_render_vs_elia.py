"""Chat rendering: jetconsole's Chat screen next to elia (elia-chat 1.10.0), streaming from one replay server.

``tests.replay.ReplayServer`` runs in a child process and serves realistic Markdown (paragraphs of
about 60 tokens, lists, headings, Python code fences; each token a short word with its leading
space), the last token being a unique marker (``ENDMARK7421`` …). Each program runs in a 120x40
pseudo-terminal (ptyrun) with its own XDG dirs, answers one short warm-up question, and then:

* full speed: 2,000 and 20,000 tokens as fast as the socket takes them. From pressing Enter
  to the marker on the emulated screen (jetconsole: and its stats line, ``… tok/s …``, under it),
  the CPU seconds of the program's process tree over that span, and peak RSS;
* sustained: 10 s streams paced at 1,000 to 20,000 tokens/s. The lag from the server writing
  the marker's frame to the marker on screen; a program keeps up at a rate when that lag stays
  under ``--keep-up`` (0.5 s);
* memory (jetconsole): five answers of 20,000 tokens in one conversation, RSS after each.

Every program starts afresh for each measurement (memory: once for all five answers); the
programs alternate. elia lives in its own venv (``benchmarks/.venv-elia``, made by ``--setup``
or on the first run) since it pins textual 0.79.1::

    .venv/bin/python benchmarks/chat_render_vs_elia.py [--runs 3] [--programs jetconsole,elia]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ptyrun import (
    ACTIVE,
    COLS,
    ROOT,
    ROWS,
    PtyProcess,
    ReplayProcess,
    TreeMeter,
    compile_bytecode,
    interrupt_on_signals,
    report_header,
    save_report,
    shielded,
    status_kib,
    stop_leftovers,
)

ELIA_VENV = ROOT / "benchmarks" / ".venv-elia"
ELIA_SPEC = "elia-chat==1.10.0"
MARKER = "ENDMARK7421"
ESC = b"\x1b"
START_TIMEOUT = 30.0

# ---- the answers: realistic Markdown, one short word per token ------------------------------------------------

VOCAB = (
    "the a an of to in is it for on with as by from or at this that each every when while then so but not "
    "model server token tokens stream answer prompt batch cache layer GPU memory queue request thread pane "
    "screen render line word rate time value kernel weight tensor context window decode prefill latency "
    "throughput board power fan clock core load user reply text chat list table file disk path config "
    "fast slow long short small large first last next new old same other high low good bad full half"
).split()
IDENTS = "total value tokens rate count step batch cache buf line text size item key result".split()


def markdown_tokens(n: int, marker: str, seed: int) -> list[str]:
    """``n`` tokens of Markdown ending with `` marker``: numbered blocks (``§N`` starts each), in a plain paragraph."""
    rng = random.Random(seed)

    def words(k: int) -> list[str]:
        out = []
        for _ in range(k):
            w = rng.choice(VOCAB)
            out.append(f" {w}" + ("." if rng.random() < 0.08 else "," if rng.random() < 0.05 else ""))
        return out

    tokens: list[str] = []
    block = 0
    while n - 1 - len(tokens) >= 100:  # room for any block and a closing paragraph
        block += 1
        start = ["\n\n"] if tokens else []
        kind = rng.random()
        if kind < 0.08:
            body = [f"## §{block}", *words(rng.randint(3, 6))]
        elif kind < 0.23:
            body = [f"§{block}", *words(rng.randint(4, 8)), ":"]
            for _ in range(rng.randint(3, 6)):
                body += ["\n-", *words(rng.randint(5, 12))]
        elif kind < 0.35:
            body = [f"§{block}", *words(rng.randint(4, 8)), ":", "\n\n```python"]
            for _ in range(rng.randint(4, 9)):
                a, b, c = (rng.choice(IDENTS) for _ in range(3))
                body += [f"\n{a}", " =", f" {b}(", c, ")"]
            body.append("\n```")
        else:
            body = [f"§{block}", *words(rng.randint(45, 75))]
        tokens += start + body
    block += 1
    rest = n - 1 - len(tokens)
    tokens += (["\n\n", f"§{block}"] if tokens else [f"§{block}"]) + words(max(rest - (2 if tokens else 1), 0))
    tokens = [*tokens[: n - 1], f" {marker}"]
    return tokens


def blocks_in(tokens: list[str]) -> int:
    return sum(1 for t in tokens if t.startswith(("§", "## §")))


def progress(screen: str) -> int:
    """The highest block number on screen: how far a program got."""
    return max((int(m) for m in re.findall(r"§(\d+)", screen)), default=0)


# ---- the programs -------------------------------------------------------------------------------------------


@dataclass
class Program:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    send: bytes  # the key that sends the typed prompt

    def ready(self, screen: str) -> bool:
        raise NotImplementedError

    def answered(self, screen: str, marker: str) -> bool:
        """The answer ending with ``marker`` is complete on screen."""
        return marker in screen

    def start(self) -> PtyProcess:
        return PtyProcess(self.argv, env=self.env, cwd=self.cwd)


class Jetconsole(Program):
    def ready(self, screen: str) -> bool:
        return "· replay (" in screen and "Ask…" in screen  # model picked from /v1/models, input shown

    def answered(self, screen: str, marker: str) -> bool:
        lines = screen.splitlines()
        rows = [i for i, line in enumerate(lines) if marker in line]
        return bool(rows) and any("tok/s" in line for line in lines[rows[-1] + 1 : rows[-1] + 4])


class Elia(Program):
    def ready(self, screen: str) -> bool:
        return "Enter your message" in screen and "Send message" in screen


def elia_versions() -> dict[str, str]:
    code = "import importlib.metadata as m; print(*(m.version(p) for p in ('elia-chat', 'textual', 'litellm')))"
    out = subprocess.run([str(ELIA_VENV / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True)
    return dict(zip(("elia-chat", "textual", "litellm"), out.stdout.split(), strict=True))


def setup_elia() -> None:
    print(
        f"installing {ELIA_SPEC} into {ELIA_VENV.relative_to(ROOT)} (its own venv: it pins textual 0.79.1) …",
        flush=True,
    )
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(ELIA_VENV)], check=True)
    subprocess.run(
        [str(ELIA_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", ELIA_SPEC], check=True
    )


def make_programs(tmp: Path, url: str, names: list[str]) -> dict[str, Program]:
    progs: dict[str, Program] = {}
    for name in names:
        home = tmp / name
        (home / "config").mkdir(parents=True)
        env = {
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "cache"),
        }
        if name == "jetconsole":
            config = home / "jetconsole.toml"
            config.write_text(
                f'[endpoints]\nservers = ["{url}"]\n\n[chat]\nstore = "{home}/chats.sqlite3"\nmax_tokens = 100000\n'
            )
            progs[name] = Jetconsole(
                name,
                [sys.executable, "-m", "console.cli", "--config", str(config), "--screen", "chat"],
                env,
                ROOT,
                b"\r",
            )
        else:
            (home / "config" / "elia").mkdir()
            (home / "config" / "elia" / "config.toml").write_text(
                'default_model = "replay"\n\n[[models]]\nid = "replay"\nname = "openai/replay"\n'
                f'api_base = "{url}"\napi_key = "none"\n'
            )
            env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no fetch of the price list (no network here)
            progs[name] = Elia(name, [str(ELIA_VENV / "bin" / "elia")], env, home, b"\n")  # ^J sends
    return progs


# ---- one answer in a running program ------------------------------------------------------------------------


class StepFailed(RuntimeError):
    def __init__(self, message: str, screen: str) -> None:
        super().__init__(message)
        self.screen = screen


PROMPTS = iter(range(1, 1_000_000))


def launch(prog: Program, replay: ReplayProcess) -> PtyProcess:
    """Start ``prog``, wait for its input, and have it answer one short warm-up question."""
    pty = prog.start()
    ACTIVE.append(pty)
    if not pty.pump_for(START_TIMEOUT, lambda: prog.ready(pty.screen.text())):
        raise StepFailed(f"{prog.name}: not ready within {START_TIMEOUT:.0f} s", pty.screen.text())
    pty.pump_for(1.0)  # focus settles
    warm = [f" warm{i}" for i in range(29)] + [" WARMUPDONE"]  # no block numbers: "§1" is the next answer's
    ask(pty, prog, replay, warm, "WARMUPDONE", 0.0, 60.0)
    pty.pump_for(1.0)
    return pty


def ask(
    pty: PtyProcess,
    prog: Program,
    replay: ReplayProcess,
    tokens: list[str],
    marker: str,
    rate: float,
    timeout: float,
    after: float = 0.0,
) -> dict[str, Any]:
    """Type a question, press the send key, wait for the answer ending with ``marker``; its figures."""
    replay.serve(tokens, rate=rate)
    question = f"bench question {next(PROMPTS)}"
    os.write(pty.master, question.encode())
    if not pty.pump_for(5.0, lambda: question in pty.screen.text()):
        raise StepFailed(f"{prog.name}: the typed question never showed", pty.screen.text())
    pty.pump_until_quiet(0.2, 2.0)
    meter = TreeMeter(pty.proc.pid)
    meter.sample(count_new_from_zero=False)
    bytes0, harness0 = pty.bytes, time.process_time()
    seen: dict[str, float] = {}

    def watch() -> bool:
        screen = pty.screen.text()
        if "first" not in seen and ("§1 " in screen or "§1\n" in screen):
            seen["first"] = pty.last_read
        if "marker" not in seen and marker in screen:
            seen["marker"] = pty.last_read
        return prog.answered(screen, marker)

    sent = time.monotonic()
    os.write(pty.master, prog.send)
    done = pty.pump_for(timeout, watch)
    ended = pty.last_read if done else time.monotonic()
    meter.sample(count_new_from_zero=False)
    times, requests, disconnects = replay.timing()
    screen = pty.screen.text()
    result: dict[str, Any] = {
        "tokens": len(tokens),
        "rate": rate,
        "done": done,
        "progress_blocks": progress(screen),
        "blocks": blocks_in(tokens),
        "first_s": seen["first"] - sent if "first" in seen else None,
        "marker_s": seen["marker"] - sent if "marker" in seen else None,
        "answered_s": ended - sent if done else None,
        "cpu_s": meter.cpu_seconds(),
        "terminal_bytes": pty.bytes - bytes0,
        "harness_cpu_s": time.process_time() - harness0,
        "rss_mib": (status_kib(pty.proc.pid, "VmRSS") or 0) / 1024,
        "peak_rss_mib": (status_kib(pty.proc.pid, "VmHWM") or 0) / 1024,
        "server": {k: (v - sent if v is not None else None) for k, v in times.items()},
        "requests": requests,
        "disconnects": disconnects,
    }
    if rate and times.get("mark_next") is not None:  # the marker's write returned at most one gap before
        wrote = max(times["mark_next"] - 1.0 / rate, times["mark_out"] or 0.0)
        result["server_marker_s"] = wrote - sent
        result["lag_s"] = seen["marker"] - wrote if "marker" in seen else None
        result["server_send_s"] = wrote - times["first"] if times.get("first") else None
    stats = re.findall(r"(?:TTFT [^┃│\n]*)?[\d.]+ tok/s[^┃│\n]*", screen)
    if done and stats:  # jetconsole's own line for the answer: how fast its reader thread took the stream
        result["stats_line"] = stats[-1].strip()
    if not done:
        result["screen"] = screen
        result["exit_status"] = pty.proc.poll()  # not None: the program is gone (< 0: killed by that signal)
    if done and after:
        idle = TreeMeter(pty.proc.pid)
        idle.sample(count_new_from_zero=False)
        pty.pump_for(after)
        idle.sample(count_new_from_zero=False)
        result["cpu_after_s"] = idle.cpu_seconds()
        result["after_window_s"] = after
    return result


def stop(pty: PtyProcess) -> None:
    with shielded():
        pty.stop()
        ACTIVE.remove(pty)


# ---- the three phases ---------------------------------------------------------------------------------------


def full_speed(
    out: dict[str, Any],
    progs: dict[str, Program],
    replay: ReplayProcess,
    sizes: list[int],
    runs: int,
    timeouts: dict[str, float],
    after: float,
) -> None:
    out.update({name: {str(n): [] for n in sizes} for name in progs})
    gave_up: set[tuple[str, int]] = set()
    for run in range(runs):
        for n in sizes:
            order = list(progs) if run % 2 == 0 else list(reversed(progs))
            for name in order:
                if (name, n) in gave_up:
                    continue
                prog = progs[name]
                print(f"  full speed, run {run + 1}/{runs}: {name}, {n:,} tokens …", flush=True)
                pty = launch(prog, replay)
                try:
                    res = ask(
                        pty, prog, replay, markdown_tokens(n, MARKER, seed=n + run), MARKER, 0.0, timeouts[name], after
                    )
                finally:
                    stop(pty)
                out[name][str(n)].append(res)
                print(f"    {describe(res)}", flush=True)
                if not res["done"]:
                    gave_up.add((name, n))  # no second try of what timed out: say so, go on


def sustained(
    out: dict[str, Any],
    progs: dict[str, Program],
    replay: ReplayProcess,
    rates: list[int],
    seconds: float,
    lag_limit: float,
) -> None:
    out.update({name: {} for name in progs})
    behind: set[str] = set()
    for i, rate in enumerate(rates):
        order = list(progs) if i % 2 == 0 else list(reversed(progs))
        for name in order:
            if name in behind:
                out[name][str(rate)] = {"skipped": "fell behind at a lower rate"}
                continue
            prog = progs[name]
            n = int(rate * seconds)
            print(f"  sustained: {name}, {rate:,} tokens/s for {seconds:.0f} s ({n:,} tokens) …", flush=True)
            pty = launch(prog, replay)
            try:
                res = ask(
                    pty,
                    prog,
                    replay,
                    markdown_tokens(n, MARKER, seed=rate),
                    MARKER,
                    float(rate),
                    seconds + lag_limit + 5.0,
                )
            finally:
                stop(pty)
            out[name][str(rate)] = res
            print(f"    {describe(res)}", flush=True)
            if not res["done"]:
                behind.add(name)


def memory(
    out: list[dict[str, Any]], prog: Program, replay: ReplayProcess, answers: int, tokens: int, timeout: float
) -> None:
    pty = launch(prog, replay)
    try:
        out.append({"answer": 0, "rss_mib": (status_kib(pty.proc.pid, "VmRSS") or 0) / 1024})
        for k in range(1, answers + 1):
            print(f"  memory: {prog.name}, answer {k}/{answers} of {tokens:,} tokens …", flush=True)
            marker = f"ENDMARK{7420 + k}"
            res = ask(pty, prog, replay, markdown_tokens(tokens, marker, seed=1000 + k), marker, 0.0, timeout)
            pty.pump_for(1.0)
            res["rss_settled_mib"] = (status_kib(pty.proc.pid, "VmRSS") or 0) / 1024
            res["answer"] = k
            out.append(res)
            print(f"    {describe(res)}; RSS {res['rss_settled_mib']:.1f} MiB", flush=True)
            if not res["done"]:
                break
    finally:
        stop(pty)


def describe(res: dict[str, Any]) -> str:
    if not res["done"]:
        gone = res.get("exit_status")
        return f"NOT DONE: block {res['progress_blocks']} of {res['blocks']} on screen " + (
            f"when the program ended (exit status {gone})"
            if gone is not None
            else f"at the time limit ({res['cpu_s']:.1f} CPU-s)"
        )
    shown = [f"[{res['stats_line']}]"] if res.get("stats_line") else []
    parts = [
        f"marker {res['marker_s']:.2f} s",
        *shown,
        f"answered {res['answered_s']:.2f} s",
        f"CPU {res['cpu_s']:.1f} s",
        f"peak RSS {res['peak_rss_mib']:.1f} MiB",
    ]
    if res.get("lag_s") is not None:
        parts.insert(0, f"lag {res['lag_s']:.2f} s (server sent for {res['server_send_s']:.1f} s)")
    if res.get("cpu_after_s") is not None:
        parts.append(f"CPU after {res['cpu_after_s']:.2f} s in {res['after_window_s']:.0f} s")
    return ", ".join(parts)


# ---- report -------------------------------------------------------------------------------------------------


def med(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


def table(report: dict[str, Any], names: list[str], keep_up: float) -> str:
    rows: list[tuple[str, list[str], str]] = []

    def fmt(v: float | None, digits: int) -> str:
        return "n/a" if v is None else f"{v:,.{digits}f}"

    def add(label: str, values: list[float | None], digits: int, notes: list[str] | None = None) -> None:
        cells = [fmt(v, digits) if not (notes and notes[i]) else notes[i] for i, v in enumerate(values)]
        a, b = [*values, None][:2]
        ratio = f"{a / b:.2f}x" if len(values) > 1 and a is not None and b and not (notes and any(notes)) else ""
        rows.append((label, cells, ratio))

    full = report.get("full_speed") or {}
    for n in report["settings"]["sizes"] if full else []:
        runs = {name: full[name][str(n)] for name in names}
        timed_out = [
            ("> {:.0f} s".format(report["settings"]["timeouts"][nm]) if any(not r["done"] for r in runs[nm]) else "")
            for nm in names
        ]
        add(
            f"{n:,} tokens, full speed: Enter to marker (s)",
            [med([r["marker_s"] for r in runs[nm]]) for nm in names],
            2,
            timed_out,
        )
        add("  Enter to answer complete (s)", [med([r["answered_s"] for r in runs[nm]]) for nm in names], 2, timed_out)
        add("  first block on screen (s)", [med([r["first_s"] for r in runs[nm]]) for nm in names], 2)
        add("  CPU, process tree (CPU-s)", [med([r["cpu_s"] for r in runs[nm] if r["done"]]) for nm in names], 1)
        add("  peak RSS (MiB)", [med([r["peak_rss_mib"] for r in runs[nm] if r["done"]]) for nm in names], 1)
        add(
            "  terminal output (KiB)",
            [med([r["terminal_bytes"] / 1024 for r in runs[nm] if r["done"]]) for nm in names],
            0,
        )
        add("  CPU in the 5 s after (CPU-s)", [med([r.get("cpu_after_s") for r in runs[nm]]) for nm in names], 2)
    paced = report.get("sustained") or {}
    best: dict[str, int | None] = {nm: None for nm in names}
    for rate in report["settings"]["rates"] if paced else []:
        vals, notes = [], []
        for nm in names:
            res = paced[nm].get(str(rate), {})
            if "skipped" in res:
                vals.append(None)
                notes.append("skipped")
            elif not res.get("done"):
                vals.append(None)
                notes.append("behind")
            else:
                vals.append(res.get("lag_s"))
                notes.append("")
                if res.get("lag_s") is not None and res["lag_s"] < keep_up:
                    best[nm] = max(best[nm] or 0, rate)
        add(f"{rate:,} tokens/s for 10 s: lag after last frame (s)", vals, 2, notes)
    if paced:
        rows.append(
            (f"highest rate kept up (lag < {keep_up} s)", [f"{best[nm]:,}" if best[nm] else "none" for nm in names], "")
        )
    mem = report.get("memory") or []
    for res in mem[1:]:
        total = res["answer"] * report["settings"]["memory_tokens"] // 1000
        rows.append(
            (
                f"memory: RSS after answer {res['answer']} ({total}k tokens in the chat, MiB)",
                [fmt(res.get("rss_settled_mib"), 1) if res["done"] else "incomplete"] + ["-"] * (len(names) - 1),
                "",
            )
        )
    width = max(len(r[0]) for r in rows) if rows else 40
    head = f"{'':{width}}" + "".join(f"  {nm:>10}" for nm in names) + ("    ratio" if len(names) > 1 else "")
    lines = [head, "-" * len(head)]
    for label, cells, ratio in rows:
        lines.append(f"{label:{width}}" + "".join(f"  {c:>10}" for c in cells) + (f"  {ratio:>7}" if ratio else ""))
    return "\n".join(lines)


# ---- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help=f"(re)install {ELIA_SPEC} into benchmarks/.venv-elia")
    parser.add_argument("--programs", default="jetconsole,elia", help="which, in order (default jetconsole,elia)")
    parser.add_argument("--phases", default="full,sustained,memory", help="default full,sustained,memory")
    parser.add_argument("--runs", type=int, default=3, help="full-speed runs of each size and program (default 3)")
    parser.add_argument("--sizes", default="2000,20000", help="full-speed answer sizes in tokens")
    parser.add_argument("--rates", default="1000,2000,5000,10000,20000", help="paced rates, tokens/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each paced stream (default 10)")
    parser.add_argument("--keep-up", type=float, default=0.5, help="lag under which a rate is kept up (default 0.5)")
    parser.add_argument(
        "--lag-limit",
        type=float,
        default=60.0,
        help="give up on a paced answer this long after its stream should end (default 60)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="jetconsole: seconds for one answer")
    parser.add_argument("--elia-timeout", type=float, default=240.0, help="elia: seconds for one answer")
    parser.add_argument("--after", type=float, default=5.0, help="seconds of CPU measured after each full answer")
    parser.add_argument("--memory-answers", type=int, default=5, help="answers in the memory run (default 5)")
    parser.add_argument("--memory-tokens", type=int, default=20_000, help="tokens per memory answer (default 20000)")
    parser.add_argument("--output", type=Path, help="JSON file (default benchmarks/results/chat_render_vs_elia-…)")
    args = parser.parse_args(argv)
    args.sizes = [int(x) for x in args.sizes.split(",")]
    args.rates = [int(x) for x in args.rates.split(",")]
    args.programs = [p for p in args.programs.split(",") if p]
    args.phases = [p for p in args.phases.split(",") if p]
    if set(args.programs) - {"jetconsole", "elia"}:
        parser.error("--programs: jetconsole and/or elia")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    compile_bytecode()
    if args.setup or ("elia" in args.programs and not (ELIA_VENV / "bin" / "elia").exists()):
        setup_elia()
        if args.setup:
            print(f"elia installed: {elia_versions()}")
            return 0
    interrupt_on_signals()
    started, load_start = time.time(), os.getloadavg()
    versions = elia_versions() if "elia" in args.programs else {}
    timeouts = {"jetconsole": args.timeout, "elia": args.elia_timeout}
    report: dict[str, Any] = {}
    error = None
    replay = ReplayProcess()  # before any pty
    with tempfile.TemporaryDirectory(prefix="jetconsole-bench-") as tmp, stop_leftovers(replay.close):
        progs = make_programs(Path(tmp), replay.url, args.programs)
        try:
            if "full" in args.phases:
                print("full speed …", flush=True)
                full_speed(
                    report.setdefault("full_speed", {}), progs, replay, args.sizes, args.runs, timeouts, args.after
                )
            if "sustained" in args.phases:
                print("sustained rates …", flush=True)
                sustained(report.setdefault("sustained", {}), progs, replay, args.rates, args.seconds, args.lag_limit)
            if "memory" in args.phases and "jetconsole" in progs:
                print("memory …", flush=True)
                memory(
                    report.setdefault("memory", []),
                    progs["jetconsole"],
                    replay,
                    args.memory_answers,
                    args.memory_tokens,
                    args.timeout,
                )
        except StepFailed as exc:
            error = {"error": str(exc), "screen": exc.screen}
            print(f"!! {exc}\n{exc.screen}", file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            error = {"error": "interrupted (Ctrl-C or SIGTERM): the figures so far are kept", "screen": ""}
            print("\ninterrupted: programs and the replay server stopped", file=sys.stderr)
    report = {
        **report_header(
            "chat_render_vs_elia",
            started,
            load_start,
            args,
            timeouts=timeouts,
            terminal=f"{COLS}x{ROWS} xterm-256color",
            versions=versions,
            commands={n: p.argv for n, p in progs.items()},
        ),
        **report,
        "failure": error,
    }
    out = save_report(report, args.output)
    print()
    print(table(report, args.programs, args.keep_up))
    print(
        f"(medians of {args.runs} runs; ratio = {' / '.join(args.programs)}; load average "
        f"{load_start[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end)"
    )
    print(f"\nresults: {out}")
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
