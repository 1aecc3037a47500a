"""``jetconsole bench``: run the prompt set against served models, print the table and charts, save JSON and CSV.

No Textual.  Progress goes to stderr (one line, rewritten on a terminal); the table and
charts, or with ``--json`` the whole report, to stdout.  Ctrl-C cancels cleanly: the open
requests are closed, finished trials are kept and saved, the power mode is restored.
Exit codes: 0 measured, 2 bad input, 3 no configuration could be measured, 4 some
requests or configurations failed, 130 cancelled.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from console import config as cfg
from console.bench import report as rp
from console.bench.plan import parse_levels, parse_targets
from console.bench.prompts import BUILTIN, Prompt, PromptFileError, load_prompts
from console.bench.results import read_report, results_dir
from console.bench.runner import BenchPlan, Note, Progress
from console.bench.view import text_report

if TYPE_CHECKING:
    from console.runtime.runtime import Runtime
    from console.runtime.services.headless import EventQueue
    from console.runtime.state import BenchOutcome

EXIT_BAD_INPUT, EXIT_NOTHING, EXIT_PARTIAL, EXIT_CANCELLED = 2, 3, 4, 130


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="[LABEL=]URL",
        help="a served configuration to measure, e.g. FP8=http://127.0.0.1:8000 (repeatable; "
        "default: the first of [endpoints] servers)",
    )
    p.add_argument("--model", default="", help="model id on every endpoint (default: the first /v1/models lists)")
    p.add_argument("--trials", type=int, help="trials per configuration and concurrency (default [bench] trials, 5)")
    p.add_argument(
        "--concurrency", metavar="N[,N...]", help="requests in flight, e.g. 1,4,16 (default [bench] concurrency)"
    )
    p.add_argument(
        "--prompts",
        metavar="FILE",
        help="JSON Lines as vllm bench serve's custom dataset "
        '({"prompt":..., "output_tokens":...}) or prompts separated by blank lines',
    )
    p.add_argument(
        "--requests",
        type=int,
        default=0,
        metavar="N",
        help="requests per trial (default: the prompt count, at least twice the concurrency)",
    )
    p.add_argument(
        "--warmups",
        type=int,
        default=2,
        metavar="N",
        help="warm-up requests per configuration, left out of the figures (default 2)",
    )
    p.add_argument(
        "--max-tokens",
        type=int,
        metavar="N",
        help="max tokens of every answer (default: each prompt's own; 256 for the workshop prompt)",
    )
    p.add_argument("--temperature", type=float, help="sampling temperature (default: the server's)")
    p.add_argument(
        "--ignore-eos",
        action="store_true",
        help="every answer exactly max tokens long (vLLM and SGLang): the same work for every configuration",
    )
    p.add_argument(
        "--power-ab",
        metavar="A,B",
        help="run the whole bench under each power mode (nvpmodel name "
        "or ID, clocks-on, clocks-off) through jtop; the original mode is restored afterwards",
    )
    p.add_argument(
        "--baseline",
        default="",
        metavar="LABEL",
        help="the configuration the others are compared with (default: the first)",
    )
    p.add_argument(
        "--compare",
        nargs="+",
        metavar="RESULT_JSON",
        help="show saved results side by side instead of running (e.g. one file per precision)",
    )
    p.add_argument("--out", metavar="DIR", help="where to save the JSON and CSV (default [bench] results_dir)")
    p.add_argument("--no-save", action="store_true", help="do not save the results")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON instead of the table")


def plan_from(args: argparse.Namespace, config: cfg.Config) -> BenchPlan:
    """The plan the arguments ask for; raises ValueError or PromptFileError with what to fix."""
    source = args.prompts or config.bench_prompts
    prompts: list[Prompt] = load_prompts(source) if source else list(BUILTIN)
    if args.max_tokens is not None:
        if args.max_tokens < 1:
            raise ValueError("--max-tokens must be 1 or more")
        prompts = [Prompt(p.text, args.max_tokens) for p in prompts]
    trials = args.trials if args.trials is not None else config.bench_trials
    if trials < 1:
        raise ValueError("--trials must be 1 or more")
    if args.requests < 0 or args.warmups < 0:
        raise ValueError("--requests and --warmups cannot be negative")
    levels = parse_levels(args.concurrency) if args.concurrency else config.bench_concurrency
    from console.bench.powerab import parse_specs

    modes = parse_specs(args.power_ab) if args.power_ab else ()
    return BenchPlan(
        targets=tuple(parse_targets(args.endpoint, config, args.model)),
        prompts=tuple(prompts),
        prompts_source=str(source) if source else "built-in",
        concurrency=levels,
        trials=trials,
        warmups=args.warmups,
        requests=args.requests,
        temperature=args.temperature,
        ignore_eos=args.ignore_eos,
        power_modes=modes,
    )


class _Reporter:
    """Progress on stderr: one rewritten line on a terminal, a line per trial otherwise."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.tty = err.isatty()
        self.last = 0.0

    def __call__(self, event: object) -> None:
        if isinstance(event, Note):
            self._clear()
            print(("error: " if event.error else "") + event.text, file=self.err, flush=True)
        elif isinstance(event, Progress):
            eta = f", ETA {event.eta_s:.0f} s" if event.eta_s is not None else ""
            what = "warm-up" if event.phase == "warm-up" else f"trial {event.trial}/{event.trials}"
            line = (
                f"{event.name} c={event.concurrency} {what}: {event.done}/{event.total} requests "
                f"({event.overall_done}/{event.overall_total} in all{eta})"
            )
            if self.tty:
                now = time.monotonic()
                if now - self.last > 0.1 or event.done == event.total:
                    self.err.write("\r\x1b[2K" + line[:200])
                    self.err.flush()
                    self.last = now
            elif event.done == event.total and event.total:
                print(line, file=self.err, flush=True)

    def _clear(self) -> None:
        if self.tty:
            self.err.write("\r\x1b[2K")


def run(
    args: argparse.Namespace, config: cfg.Config, source: str, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    if args.compare:
        reports = []
        for name in args.compare:
            try:
                reports.append(read_report(Path(name).expanduser()))
            except ValueError as exc:
                print(f"jetconsole: cannot compare: {name}: {exc}", file=err)
                return EXIT_BAD_INPUT
        merged = rp.merge(reports)
        out.write((rp.to_json(merged) if args.json else text_report(merged, args.baseline)) + "\n")
        return 0
    try:
        plan = plan_from(args, config)
    except (ValueError, PromptFileError) as exc:
        print(f"jetconsole: {exc}", file=err)
        return EXIT_BAD_INPUT
    from console.bench.powerab import JtopPower
    from console.runtime import commands as cmd
    from console.runtime import events as ev
    from console.runtime.runtime import Runtime
    from console.runtime.services.headless import EventQueue, FirstSamples

    runtime = Runtime(
        replace(config, telemetry_source=source), watch_docker=False, poll_servers=False, hud_sources=False
    )
    runtime.bench  # noqa: B018 - the bench service made now: its power meter takes every sample from the first
    events = EventQueue((ev.BenchProgressed, ev.BenchNoted, ev.ServiceFailed))
    woke = threading.Event()  # set after every event: the main thread waits on it in short slices
    first = FirstSamples()
    for subscriber in (events, lambda _s, _e: woke.set(), first):
        runtime.subscribe(subscriber)
    try:
        runtime.start()
        first.wait(3.0)  # the device's name and power mode come from the first samples
        folder = None if args.no_save else results_dir(config, args.out)
        why = runtime.send(cmd.RunBench(plan, folder, args.baseline, JtopPower() if plan.power_modes else None))
        if why:
            print(f"jetconsole: {why}", file=err)
            return EXIT_BAD_INPUT
        print(
            f"bench: {len(plan.targets)} configuration(s), concurrency {','.join(map(str, plan.concurrency))}, "
            f"{plan.trials} trials, {len(plan.prompts)} prompts ({plan.prompts_source}); "
            f"{plan.total_requests()} requests in all. Ctrl-C cancels.",
            file=err,
            flush=True,
        )
        outcome = _follow(runtime, events, woke, runtime.state.bench.run, err)
    finally:
        runtime.stop(1.0)
    if outcome is None or outcome.report is None:
        print("jetconsole: the bench stopped with an error (above)", file=err)
        return EXIT_NOTHING
    report = outcome.report
    _Reporter(err)._clear()
    print(file=err)
    if outcome.paths:
        print(f"saved {outcome.paths[0]} and {outcome.paths[1]}", file=err)
    out.write((rp.to_json(report) if args.json else text_report(report, args.baseline)) + "\n")
    out.flush()
    if report.cancelled:
        return EXIT_CANCELLED
    if not report.results:
        return EXIT_NOTHING
    failed = any(r.median.failed for r in report.results) or len({r.label for r in report.results}) < len(plan.targets)
    return EXIT_PARTIAL if failed else 0


def _follow(
    runtime: Runtime, events: EventQueue, woke: threading.Event, number: int, err: TextIO
) -> BenchOutcome | None:
    """Print bench ``number``'s progress and notes as they come, until it ends: how it ended (None: its
    thread died).  A Ctrl-C sends ``StopBench`` (the open requests are closed, the finished trials kept and
    saved) and goes on waiting for the end; a second one is not caught."""
    from console.runtime import commands as cmd
    from console.runtime import events as ev
    from console.runtime.services.bench import CANCEL_NOTE

    reporter = _Reporter(err)
    cancelling = False
    while True:
        try:
            woke.wait(0.2)  # short slices: a Ctrl-C is taken at once
            woke.clear()
            ended = runtime.state.bench.outcome  # read first: every event before the end is queued by now
            for event in events.pending():
                if isinstance(event, ev.BenchProgressed) and event.run == number:
                    reporter(event.progress)
                elif isinstance(event, ev.BenchNoted) and event.run == number and not event.trial:
                    if event.text != CANCEL_NOTE:  # said below in the CLI's own words
                        reporter(Note(event.text, event.error))
                elif isinstance(event, ev.ServiceFailed) and event.service == "bench":
                    reporter(Note(f"the bench stopped: {event.error}", error=True))
                    return None
            if ended is not None and ended.run == number:
                return ended
        except KeyboardInterrupt:
            if cancelling:
                raise
            cancelling = True
            runtime.send(cmd.StopBench())
            print("\njetconsole: cancelling: closing the open requests", file=err, flush=True)
