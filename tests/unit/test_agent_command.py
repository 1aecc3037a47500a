"""``jetconsole agent``'s start-up rules (issue 16): the listen address, who may read it, the token file, and
the systemd unit it prints."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from console.agent.command import AgentRefused, Listen, exposure, is_loopback, parse_listen, read_token, run, unit_text
from console.config import Config

TOKEN = "f" * 64


@pytest.mark.parametrize(
    ("text", "listen"),
    [
        ("127.0.0.1:9147", Listen("127.0.0.1", 9147)),
        ("[::1]:80", Listen("::1", 80)),
        ("0.0.0.0:0", Listen("0.0.0.0", 0)),
    ],
)
def test_listen_addresses(text: str, listen: Listen) -> None:
    assert parse_listen(text) == listen
    assert parse_listen("[::1]:80").url == "http://[::1]:80"


@pytest.mark.parametrize(
    ("text", "words"), [("9147", "HOST:PORT"), ("host:http", "not a number"), ("h:70000", "0-65535")]
)
def test_a_bad_listen_address_says_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(AgentRefused, match=words):
        parse_listen(text)


def test_loopback_only_by_default_and_a_token_beyond_it() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5") and not is_loopback("thor-07")
    assert exposure(Listen("127.0.0.1", 1), None, False, False) == "this device only (loopback)"
    with pytest.raises(AgentRefused, match="--allow-remote"):
        exposure(Listen("0.0.0.0", 1), TOKEN, False, False)
    with pytest.raises(AgentRefused, match="--token-file FILE, or --no-token"):
        exposure(Listen("0.0.0.0", 1), None, True, False)
    assert "with a token" in exposure(Listen("0.0.0.0", 1), TOKEN, True, False)
    assert "WITHOUT a token" in exposure(Listen("0.0.0.0", 1), None, True, True)


def test_the_token_file_is_read_once_private(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    assert read_token(path) == TOKEN
    path.chmod(0o640)
    with pytest.raises(AgentRefused, match="chmod 600"):
        read_token(path)
    path.write_text("\n")
    path.chmod(0o600)
    with pytest.raises(AgentRefused, match="empty"):
        read_token(path)
    with pytest.raises(AgentRefused, match="cannot read"):
        read_token(tmp_path / "absent")


def test_a_refusal_is_exit_2_and_never_shows_the_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN)
    path.chmod(0o644)
    err = io.StringIO()
    assert run(Config(), "0.0.0.0:9147", str(path), True, False, False, err=err) == 2
    assert "chmod 600" in err.getvalue() and TOKEN not in err.getvalue()
    err = io.StringIO()
    assert run(Config(), "0.0.0.0:9147", None, False, False, False, err=err) == 2
    assert "--allow-remote" in err.getvalue()


def test_the_unit_runs_the_agent_with_the_same_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN)
    path.chmod(0o600)
    text = unit_text("0.0.0.0:9147", str(path), True, False, "/usr/local/bin/jetconsole", "nvidia")
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert (
        exec_line
        == f"ExecStart=/usr/local/bin/jetconsole agent --listen 0.0.0.0:9147 --token-file {path} --allow-remote"
    )
    assert "[Install]" in text and "Restart=always" in text and TOKEN not in text
    assert "User=nvidia" in text.splitlines()  # the user whose help flag and config the HUD uses, not root
    assert run(Config(), "0.0.0.0:9147", str(path), True, False, True) == 0
    assert "ExecStart=" in capsys.readouterr().out
