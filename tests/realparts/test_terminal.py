"""The installed ``jetconsole`` in a real terminal (tmux): first frame, ``?``, ``q``."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest


def capture(tmux: str, session: str) -> str:
    return subprocess.run([tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout


def wait_screen(tmux: str, session: str, *words: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = capture(tmux, session)
        if all(w in screen for w in words):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{words} not on screen after {timeout}s:\n{screen}")


def alive(tmux: str, session: str) -> bool:
    return subprocess.run([tmux, "has-session", "-t", session], capture_output=True).returncode == 0


@pytest.mark.parametrize(("term", "size"), [("xterm-256color", (120, 40)), ("linux", (80, 24))])
def test_first_frame_help_and_quit(
    tmux: str, installed_command: str, tmp_path: Path, term: str, size: tuple[int, int]
) -> None:
    session = f"jc-{term}-{os.getpid()}"
    config = tmp_path / "config.toml"
    config.write_text('[telemetry]\nsource = "procfs"\n')
    env_cmd = f"TERM={term} XDG_CONFIG_HOME={tmp_path} {installed_command} --config {config}"
    subprocess.run(
        [tmux, "new-session", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1]), env_cmd], check=True
    )
    try:
        screen = wait_screen(tmux, session, "Telemetry", "telemetry: procfs", "RAM")
        assert "[ok] procfs" in screen or "procfs ok" in screen
        subprocess.run([tmux, "send-keys", "-t", session, "?"], check=True)
        wait_screen(tmux, session, "Keys (remap by id", "On this screen", "dashboard.telemetry")  # this screen first
        subprocess.run([tmux, "send-keys", "-t", session, "Escape"], check=True)
        time.sleep(0.5)
        subprocess.run([tmux, "send-keys", "-t", session, "q"], check=True)
        deadline = time.monotonic() + 10
        while alive(tmux, session) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(tmux, session), "jetconsole did not quit on q"
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)


def test_bad_config_exits_non_zero_with_the_line(installed_command: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[general]\nrefresh_interval = "soon"\n')
    out = subprocess.run([installed_command, "--config", str(config)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert f"{config}:2: general.refresh_interval: expected a number" in out.stderr


def test_plain_box_snapshot_says_what_is_missing(installed_command: str) -> None:
    out = subprocess.run(
        [installed_command, "--source", "procfs", "snapshot"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert "source procfs: ok" in out.stdout and "ram " in out.stdout
