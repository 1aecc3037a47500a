"""The Fleet screen of the installed ``jetconsole`` in a real terminal (tmux, 120x40: tiles), on real agents
(issue 16): one agent SIGSTOPped mid-run goes stale with a growing age while the others stay up, which
they would not without their one-second refresh; a killed one is unreachable from the start."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.realparts.agents import start_agents
from tests.realparts.test_terminal import alive, capture, wait_screen

pytestmark = [pytest.mark.realparts, pytest.mark.timeout(180)]


def test_the_grid_goes_on_for_the_others_while_one_stops(tmux: str, installed_command: str, tmp_path: Path) -> None:
    agent_config = tmp_path / "agent.toml"
    agent_config.write_text(f'[endpoints]\ndocker_host = "unix://{tmp_path}/none.sock"\n[doctor]\ninterval = 0\n')
    procs = start_agents(4, agent_config, "--source", "procfs")
    (_, a), (slow, b), (_, c), (gone, d) = procs
    gone.kill()
    gone.wait(10)
    hosts = tmp_path / "hosts"
    hosts.write_text(f"thor-a {a}\nthor-b {b}\nthor-c {c}\nthor-d {d}\n")
    config = tmp_path / "config.toml"
    config.write_text(f'[telemetry]\nsource = "procfs"\n[fleet]\nhosts = "{hosts}"\ninterval = 1.0\ntimeout = 0.75\n')
    session = f"jc-fleet-{os.getpid()}"
    command = f"TERM=xterm-256color XDG_CONFIG_HOME={tmp_path} {installed_command} --config {config} --screen fleet"
    subprocess.run([tmux, "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command], check=True)
    try:
        screen = wait_screen(tmux, session, "Fleet · 3/4 up", "thor-a", "thor-d")
        assert screen.count("╭") >= 4  # tiles, side by side
        assert re.search(r"thor-d\s+unreachable", screen)
        os.kill(slow.pid, signal.SIGSTOP)
        wait_screen(tmux, session, "Fleet · 2/4 up", "thor-b")
        first = wait_screen(tmux, session, "stale 4s")
        later = wait_screen(tmux, session, "stale 7s")  # the screen goes on each second
        for shot in (first, later):
            assert re.search(r"thor-a\s+up", shot) and re.search(r"thor-c\s+up", shot)  # read every second
            assert "2/4 up" in shot
        subprocess.run([tmux, "send-keys", "-t", session, "q"], check=True)
        deadline = time.monotonic() + 10
        while alive(tmux, session) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(tmux, session), capture(tmux, session)
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)
        os.kill(slow.pid, signal.SIGCONT)
        for proc, _ in procs:
            proc.terminate()
            proc.wait(10)
