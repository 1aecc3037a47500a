"""What a CLI's exit code and message say (issue 15 item 23): a dry run that finds the launch would be refused is
still a dry run that worked (exit 0, and its last line says what a launch now would meet), and a subcommand's
unknown option is reported with that subcommand's usage, not the top level's."""

from __future__ import annotations

import queue
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest

from console.containers import command as commands
from console.containers.preflight import FAIL, OK, WARN, Check
from console.runtime import events as ev

ROOT = Path(__file__).resolve().parents[2]
NO_IMAGE = Check("image", FAIL, "nvcr.io/nvidia/vllm:25.09-py3 is not on this machine", "docker pull nvcr.io/…")
PORT_OK = Check("port", OK, "8000 is free")
SHM_WARN = Check("shm", WARN, "16g of /dev/shm", "raise it")


def _follow(checks: tuple[Check, ...], blocked: bool, dry_run: bool) -> tuple[int, str, str]:
    said: queue.Queue[ev.Event] = queue.Queue()
    said.put(ev.PreflightDone(commands.RUN_ID, checks, blocked, launching=not dry_run))
    out, err = StringIO(), StringIO()
    code = commands._follow("vllm-thor", said, dry_run, timeout=5, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_dry_run_without_the_image_exits_0_and_says_a_launch_would_be_refused() -> None:
    code, out, err = _follow((PORT_OK, NO_IMAGE), blocked=True, dry_run=True)
    assert (code, err) == (0, "")
    assert "docker pull" in out  # the preflight's own fix is shown
    assert out.splitlines()[-1] == (
        "dry run: nothing was started; a launch now would be refused by the preflight (image): "
        "fix what it says above, then run it without --dry-run"
    )


def test_a_dry_run_that_would_pass_says_so() -> None:
    code, out, _err = _follow((PORT_OK, SHM_WARN), blocked=False, dry_run=True)
    assert code == 0
    assert out.splitlines()[-1].startswith("dry run: nothing was started; a launch now would pass the preflight")


def test_a_real_launch_refused_by_the_preflight_still_exits_3() -> None:
    code, _out, err = _follow((NO_IMAGE,), blocked=True, dry_run=False)
    assert code == commands.EXIT_PREFLIGHT and "preflight failed; nothing was started" in err


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["snapshot", "--bogus"], "usage: jetconsole snapshot [-h] [--json]"),
        (["containers", "--bogus"], "usage: jetconsole containers [-h] [--json]"),
        (["launch", "vllm-thor", "--bogus"], "usage: jetconsole launch [-h] [--set KEY=VALUE]"),
        (["doctor", "--bogus"], "usage: jetconsole doctor [-h] [--json]"),
    ],
)
def test_an_unknown_option_of_a_subcommand_shows_that_subcommands_usage(argv: list[str], usage: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "console.cli", *argv], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith(usage), run.stderr
    assert run.stderr.rstrip().endswith(f"jetconsole {argv[0]}: error: unrecognized arguments: --bogus")


def test_an_unknown_top_level_option_still_shows_the_top_level_usage() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "console.cli", "--bogus"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert run.returncode == 2 and run.stderr.startswith("usage: jetconsole [-h]")
    assert run.stderr.rstrip().endswith("jetconsole: error: unrecognized arguments: --bogus")
