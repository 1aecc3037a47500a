"""Command line: ``jetconsole`` (the dashboard), ``snapshot``, ``containers``, ``launch``, ``chat``, ``agent``.

Textual is imported only when the dashboard starts, so ``snapshot`` stays quick.
"""

from __future__ import annotations

import argparse
import locale
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import replace
from typing import TYPE_CHECKING

from console import __version__
from console import config as cfg
from console.keymap import START_SCREENS
from console.telemetry.discovery import CHOICES

if TYPE_CHECKING:
    from console.telemetry.discovery import Discovery


class SubcommandParser(argparse.ArgumentParser):
    """A subcommand's parser: an option it does not know is an error with its own usage (``jetconsole snapshot
    --bogus`` shows ``usage: jetconsole snapshot [-h] [--json]``), not the top level's."""

    def parse_known_args(  # type: ignore[override]  # typeshed overloads it on the namespace type
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extra = super().parse_known_args(args, namespace)
        if extra:
            self.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed, extra


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``argv``, the ``doctor`` and ``bench`` subcommands get their options only when
    ``argv`` names them: their modules cost ~60 ms to import, which a start of the dashboard does not pay."""

    def named(command: str) -> bool:
        return argv is None or command in argv

    parser = argparse.ArgumentParser(
        prog="jetconsole", description="Terminal console for serving LLMs on Jetson, DGX Spark and NVIDIA GPUs."
    )
    parser.add_argument("--version", action="version", version=f"jetconsole {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=f"config file (else ${cfg.ENV_VAR}, then the user config dir, then built-in defaults)",
    )
    parser.add_argument("--source", choices=CHOICES, help="telemetry source (overrides config)")
    parser.add_argument(
        "--screen",
        choices=START_SCREENS,
        default="dashboard",
        help="the screen to start on (Esc goes back to the dashboard)",
    )
    parser.add_argument(
        "--hud", action="store_true", help="start in the HUD: big figures for a workshop LCD (the same as --screen hud)"
    )
    parser.add_argument(
        "--ascii",
        action="store_true",
        help="no block characters: the HUD's digits, bars and "
        "sparklines in ASCII (automatic with TERM=linux, vt*, dumb, or a locale that is not UTF-8)",
    )
    parser.add_argument(
        "--kiosk",
        action="store_true",
        help="the HUD alone: no quitting, no palette, no other screens (what --serve runs for each browser)",
    )
    parser.add_argument(
        "--serve",
        metavar="HOST:PORT",
        help="serve the HUD as a web page for a kiosk browser (textual-serve), e.g. --hud --serve 0.0.0.0:8080",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="with --serve: the URL browsers reach this machine on (default http://THIS_IP:PORT)",
    )
    sub = parser.add_subparsers(dest="command", parser_class=SubcommandParser)
    flag = sub.add_parser("help-flag", help="raise or lower the workshop help flag every HUD on this device shows")
    flag.add_argument("state", choices=("on", "off", "status"))
    snap = sub.add_parser("snapshot", help="print one telemetry sample and exit")
    snap.add_argument("--json", action="store_true", help="machine-readable output (schema in README)")
    lst = sub.add_parser("containers", help="list the containers of the Docker daemon")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    run = sub.add_parser("launch", help="launch a server from a preset and follow it to Ready")
    run.add_argument("preset", help="preset name (built-in or [presets.NAME] in config.toml)")
    run.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a preset setting, e.g. --set model=Qwen/Qwen3-8B (repeatable)",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="show the docker run line and the preflight, start nothing; exit 0 (the last line says whether a launch "
        "now would pass the preflight)",
    )
    run.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for Ready (default 1800)")
    ask = sub.add_parser("chat", help="ask the server one question; the answer streams to stdout")
    ask.add_argument("prompt", help="the question")
    ask.add_argument("--endpoint", metavar="URL", help="server URL (default: the first of [endpoints] servers)")
    ask.add_argument("--model", help="model id (default: the first one /v1/models lists)")
    ask.add_argument("--system", help="system prompt")
    ask.add_argument("--max-tokens", type=int, help="max_tokens (default: [chat] max_tokens)")
    ask.add_argument("--json", action="store_true", help="end with one JSON object: answer, ttft, tok/s, tokens")
    ask.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="PATH",
        help="attach an image (repeatable): downscaled to the server's pixel budget, sent as a data URL",
    )
    shaped = ask.add_mutually_exclusive_group()
    shaped.add_argument("--schema", metavar="FILE", help="the answer must be JSON valid against this JSON schema")
    shaped.add_argument("--choice", metavar="A,B,C", help="the answer must be one of these (comma-separated)")
    shaped.add_argument("--regex", metavar="R", help="the answer must match this regular expression")
    ask.add_argument(
        "--completion", action="store_true", help="send PROMPT as is to /v1/completions (no chat template)"
    )
    doctor = sub.add_parser(
        "doctor", help="check Docker, daemon.json, disk, tiktoken, the stack; exit 0 good, 1 warnings, 2 failures"
    )
    if named("doctor"):
        from console.doctor.command import add_arguments as doctor_arguments

        doctor_arguments(doctor)
    bench = sub.add_parser(
        "bench",
        help="measure served models as vllm bench serve does: TTFT, TPOT, ITL, tok/s; compare configurations; "
        "save JSON and CSV",
    )
    if named("bench"):
        from console.bench.command import add_arguments as bench_arguments

        bench_arguments(bench)
    agent = sub.add_parser(
        "agent",
        help="serve this device's telemetry, containers and servers read-only (Prometheus /metrics, /v1/state) "
        "for a fleet view",
    )
    agent.add_argument(
        "--listen", default="127.0.0.1:9147", metavar="HOST:PORT", help="address to serve on (default 127.0.0.1:9147)"
    )
    agent.add_argument("--token-file", metavar="FILE", help="require this bearer token (the file's first line)")
    agent.add_argument("--allow-remote", action="store_true", help="allow an address beyond loopback")
    agent.add_argument("--no-token", action="store_true", help="beyond loopback, serve without a token")
    agent.add_argument("--print-unit", action="store_true", help="print a systemd unit for these options and exit")
    fleet = sub.add_parser(
        "fleet", help="read every device's agent once: state, server, tok/s, GPU, memory, help flags; exit 0 all up"
    )
    fleet.add_argument("--hosts", metavar="FILE", help="the devices (default: [fleet] hosts in config.toml)")
    fleet.add_argument("--json", action="store_true", help="machine-readable output")
    fleet.add_argument(
        "--prometheus", metavar="URL", help="read the Prometheus that scrapes the agents (default: [fleet] prometheus)"
    )
    fleet.add_argument(
        "--targets",
        action="store_true",
        help="print the hosts file as Prometheus file_sd targets (deploy/prometheus/) and exit",
    )
    fleet_sub = fleet.add_subparsers(dest="fleet_command", metavar="do")
    act = fleet_sub.add_parser(
        "do", help="run an organiser action on selected devices over SSH (dry run, ask, table, audit log)"
    )
    from console.fleet.action_names import ACTIONS, DESCRIPTIONS  # constants only: start-up stays quick

    act.add_argument("action", choices=ACTIONS, help="; ".join(f"{a}: {DESCRIPTIONS[a]}" for a in ACTIONS))
    act.add_argument("--hosts", metavar="FILE", default=argparse.SUPPRESS, help="the devices (as for fleet)")
    act.add_argument(
        "--select", default="all", metavar="WHICH", help="all (default), flagged, group:NAME, tag:NAME or NAME,NAME"
    )
    act.add_argument("--preset", default="", help="launch: the preset (built-in or [presets.NAME])")
    act.add_argument(
        "--set", dest="settings", action="append", default=[], metavar="KEY=VALUE", help="launch: as launch's"
    )
    act.add_argument(
        "--source", default="", metavar="DIR", help="push: the directory here; collect-bench: where to put them"
    )
    act.add_argument(
        "--dest", default="", metavar="DIR", help="push: the directory there; collect-bench: the results there"
    )
    act.add_argument("--bwlimit", type=int, default=0, metavar="KBPS", help="push: rsync's --bwlimit per device")
    act.add_argument("--parallel", type=int, default=4, metavar="N", help="devices at once (default 4)")
    act.add_argument("--timeout", type=float, default=0, metavar="S", help="each device's limit (default: none)")
    act.add_argument("--dry-run", action="store_true", help="show the exact commands, run nothing")
    act.add_argument("--yes", action="store_true", help="run without asking")
    cluster = sub.add_parser(
        "cluster", help="two devices serve one model (Ray or vLLM multi-node): plan every node's lines"
    )
    from console.cluster.arguments import add_arguments as cluster_arguments  # light: no SSH code loaded

    cluster_arguments(cluster)
    size = sub.add_parser("fit", help="will a model fit this device's memory? weights, KV cache, vLLM flags")
    size.add_argument(
        "--config",
        dest="model_config",
        metavar="CONFIG_JSON",
        help="the model's config.json, or the directory holding it",
    )
    size.add_argument(
        "--params",
        metavar="N",
        help="parameters: 8B, 70b, 1.5B, 500M or 8e9 (default: estimated from a dense model's config.json)",
    )
    size.add_argument(
        "--quant",
        metavar="Q",
        help="weight format: bf16, fp16, fp8, int8, awq, gptq, int4, nvfp4, "
        "mxfp4, fp32 (default: the config's quantization_config, else its dtype)",
    )
    size.add_argument(
        "--context",
        metavar="N",
        help="tokens per sequence (default: the config's max_position_embeddings, at most 32768)",
    )
    size.add_argument("--concurrency", metavar="N", default="1", help="sequences at full context (default 1)")
    size.add_argument("--kv-dtype", choices=("auto", "fp8"), default="auto", help="the server's --kv-cache-dtype")
    size.add_argument("--util", metavar="U", default="0.9", help="gpu-memory-utilization to check (default 0.9)")
    size.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    if args.command == "fit":  # reads no jetconsole config
        from console.fit import command as fit_command

        return fit_command.run(args)
    from console.themes import load_themes

    themes = load_themes()
    try:
        config = cfg.load(args.config, themes=set(themes))
        if config.presets:  # checked now, like the rest of the file (no import at all without presets)
            from console.containers.presets import all_presets

            all_presets(config)
    except cfg.ConfigError as exc:
        print(f"jetconsole: config error: {exc}", file=sys.stderr)
        print("Nothing was applied; fix the file or start with --config /dev/null for defaults.", file=sys.stderr)
        return 2
    source = args.source or config.telemetry_source
    if args.command == "help-flag":
        from pathlib import Path

        from console.hud import helpflag

        shared = Path(config.hud_help_flag_file).expanduser() if config.hud_help_flag_file else None
        return helpflag.command(args.state, shared)
    if args.command == "chat":
        from console.chat.command import Ask, chat

        ask_args = Ask(
            args.prompt,
            args.endpoint,
            args.model,
            args.system,
            args.json,
            args.max_tokens,
            tuple(args.image),
            args.schema,
            args.choice,
            args.regex,
            args.completion,
        )
        return chat(config, ask_args)
    if args.command == "bench":
        from console.bench.command import run as bench

        return bench(args, config, source)
    if args.command == "doctor":
        from console.doctor.command import run as doctor

        return doctor(args, config.docker_host, replace(config, telemetry_source=source))
    if args.command in ("containers", "launch"):
        from console.containers import command as commands

        if args.command == "containers":
            return commands.containers(config, args.json)
        return commands.launch(config, args.preset, args.settings, args.dry_run, args.timeout)
    if args.command == "fleet":
        from console.fleet import command as fleet_command

        if getattr(args, "fleet_command", None) == "do":
            return _fleet_do(config, args)
        if args.targets:
            return fleet_command.targets(config, args.hosts)
        return fleet_command.run(config, args.hosts, args.json, args.prometheus)
    if args.command == "cluster":
        from console.cluster import command as cluster_command

        return cluster_command.run(config, args)
    if args.command == "agent":
        from console.agent import command as agent_command

        return agent_command.run(
            replace(config, telemetry_source=source),
            args.listen,
            args.token_file,
            args.allow_remote,
            args.no_token,
            args.print_unit,
        )
    if args.command == "snapshot":
        from console.telemetry import command as snapshot

        return snapshot.run(replace(config, telemetry_source=source), args.json)
    if args.serve:
        from console.ui.serve import serve

        return serve(args.serve, args.config, args.source, args.public_url)
    discovery = _discover_in_background(source, config)
    from console.doctor.check import Probe
    from console.doctor.checks import run_all
    from console.doctor.session import DISCOVERY_WAIT_S, DoctorSetup, after
    from console.hud.terminal import ascii_only

    if sys.__stderr__ is not None and sys.__stderr__.isatty():
        # Textual sizes the screen with shutil.get_terminal_size, which believes $COLUMNS/$LINES over the
        # terminal: values exported by a parent (a shell rc, a test runner) would pin the app to a stale size
        os.environ.pop("COLUMNS", None)
        os.environ.pop("LINES", None)
    from console.ui.app import JetconsoleApp  # Textual loads while the sources connect
    from console.ui.widgets.chat_image import image_mode, prepare_graphics

    if image_mode(os.environ, args.ascii or ascii_only(dict(os.environ), locale.getpreferredencoding(False))) == (
        "graphics"
    ):
        prepare_graphics()  # textual-image asks the terminal for Kitty graphics or Sixel: only before the app runs
    from console.ui.host import ConsoleHost

    doctor_setup = (
        None
        if args.kiosk
        else DoctorSetup(
            Probe(docker_host=config.docker_host),
            config.doctor_interval,
            config.doctor_restart_cmd,
            # the first run waits for the sources: its memory and power checks borrow their connections
            checks=after(lambda: discovery.result(timeout=DISCOVERY_WAIT_S), run_all),
        )
    )
    plain = args.ascii or ascii_only(dict(os.environ), locale.getpreferredencoding(False))
    if plain:
        from console.telemetry import view as formatting

        formatting.use_ascii(True)  # the dashboard's bars and sparklines too
    app = JetconsoleApp(
        replace(config, telemetry_source=source),
        themes,
        discover_fn=discovery.result,
        start_screen="hud" if args.hud or args.kiosk else args.screen,
        doctor=doctor_setup,
        ascii_only=plain,
        kiosk=args.kiosk,
    )
    _host: ConsoleHost = app  # mypy checks that the app is what its screens take it for (console/ui/host.py)
    app.run()
    return 0


def _discover_in_background(source: str, config: cfg.Config) -> Future[Discovery]:
    """Open the telemetry sources on a daemon thread started before Textual is imported.

    Connecting to jtop or NVML overlaps with the ~0.2 s Textual import instead of
    following the first paint; the app's discovery worker just waits for the result.
    """
    from console.telemetry.discovery import discover

    future: Future[Discovery] = Future()

    def run() -> None:
        try:
            future.set_result(discover(source, config.refresh_interval, config.docker_host))
        except Exception as exc:  # noqa: BLE001 - handed to the app, which reports it
            future.set_exception(exc)

    threading.Thread(target=run, name="jetconsole-discover-early", daemon=True).start()
    return future


def _fleet_do(config: cfg.Config, args: argparse.Namespace) -> int:
    """``jetconsole fleet do``: the preset's image is looked up here (the fleet does not import presets)."""
    from console.containers import presets
    from console.fleet import command as fleet_command
    from console.fleet.actions import ActionOptions

    image = ""
    if args.action == "launch":
        available = presets.all_presets(config)
        if args.preset not in available:
            print(
                f"jetconsole fleet do: unknown preset {args.preset!r} (known: {', '.join(sorted(available))})",
                file=sys.stderr,
            )
            return 2
        image = available[args.preset].image
        for setting in args.settings:  # an image given with --set is the user's: used as it is
            if setting.startswith("image="):
                image = ""
    options = ActionOptions(
        preset=args.preset,
        settings=tuple(args.settings),
        image=image,
        source=args.source,
        dest=args.dest,
        timeout=args.timeout or 1800.0,
        bandwidth_kbps=args.bwlimit,
    )
    step_limit = 0.0 if args.action == "launch" else args.timeout  # a launch's own limit: its --timeout + margin
    code = fleet_command.do(
        config, args.action, args.hosts, args.select, options, args.dry_run, args.yes, args.parallel, step_limit
    )
    if args.action == "collect-bench" and not args.dry_run and args.source:
        from pathlib import Path

        from console.bench.results import compare_devices
        from console.bench.view import text_report

        merged, missing = compare_devices(Path(args.source).expanduser())
        for line in missing:
            print(f"no bench run from {line}")
        if merged is not None:
            print("\n" + text_report(merged))  # every device's newest run, side by side
    return code


if __name__ == "__main__":
    sys.exit(main())
