"""Reading a device over SSH, its parts on their own (issue 16): the remote script's output parsed (the
snapshot, or /proc without jetconsole), garbage refused, ssh's own errors said in a user's words, and the
hosts file's agentless line."""

from __future__ import annotations

import json

import pytest

from console.config_error import ConfigError
from console.fleet.hosts import Device, parse_hosts
from console.fleet.reading import BadAnswer
from console.fleet.ssh import FLAG, PROC, SNAPSHOT, TEMPS, VIA_PROC, VIA_SNAPSHOT, parse_output, ssh_argv, ssh_error

MEMINFO = "MemTotal:       65536000 kB\nMemFree:         1000 kB\nMemAvailable:   32768000 kB\n"


def test_a_snapshot_read_over_ssh() -> None:
    snap = {
        "schema": 1,
        "telemetry": {
            "time": 1_800_000_000.0,
            "memory": {"total": 8 << 30, "used": 2 << 30},
            "gpus": [{"load": 12.0}],
            "temps": [{"celsius": 51.0}],
        },
    }
    text = f"{FLAG}\n{SNAPSHOT}\n{json.dumps(snap)}\n"
    r, via = parse_output(text, 1_900_000_000.0)
    assert via == VIA_SNAPSHOT and r.at == 1_800_000_000.0
    assert (r.gpu_load, r.memory_total, r.hottest_c, r.help_flag) == (12.0, 8 << 30, 51.0, False)


def test_proc_without_jetconsole_and_a_raised_flag() -> None:
    text = f"{FLAG}\non 2026-12-05T08:30:00+0000\n{PROC}\n{MEMINFO}{TEMPS}\n45000\n61500\nbogus\n"
    r, via = parse_output(text, 1_900_000_000.0)
    assert via == VIA_PROC and r.at == 1_900_000_000.0
    assert (r.memory_total, r.memory_used) == (65536000 * 1024, 32768000 * 1024)
    assert r.hottest_c == 61.5 and r.gpu_load is None
    assert r.help_flag and r.help_since == 1796459400.0


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Welcome to the device!\n", "printed something else"),
        (f"{FLAG}\n{SNAPSHOT}\nTraceback (most recent call last):\n", "printed no JSON"),
        (f"{FLAG}\n{SNAPSHOT}\n[1, 2]\n", "gave no telemetry"),
        (f"{FLAG}\n{PROC}\nnothing here\n", "no MemTotal"),
        (f'{FLAG}\n{SNAPSHOT}\n{{"telemetry": {{"memory": {{"total": "lots"}}}}}}\n', "memory.total"),
    ],
)
def test_garbage_is_refused_with_why(text: str, said: str) -> None:
    with pytest.raises(BadAnswer, match=said):
        parse_output(text, 0.0)


def test_ssh_errors_in_a_users_words() -> None:
    changed = "@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.\n"
    assert ssh_error(changed, 255).startswith("host key mismatch")
    assert ssh_error("Host key verification failed.\n", 255).startswith("host key not trusted")
    refused = ssh_error("root@10.0.0.7: Permission denied (publickey).\n", 255)
    assert refused.startswith("SSH login refused: root@10.0.0.7: Permission denied (publickey).")
    assert ssh_error("ssh: connect to host 10.0.0.7 port 22: No route to host\x1b[2J\n", 255) == (
        "SSH: ssh: connect to host 10.0.0.7 port 22: No route to host␛[2J"
    )
    assert ssh_error("", 255) == "SSH: ssh exited with 255"


def test_the_ssh_command_checks_host_keys_and_never_asks() -> None:
    argv = ssh_argv(Device("d", "", ssh="nvidia@10.0.0.7"), "~/fleet/ssh_config", 10.0)
    assert argv[:3] == ["ssh", "-F", argv[2]] and argv[2].endswith("/fleet/ssh_config") and "~" not in argv[2]
    assert "BatchMode=yes" in argv and "ConnectTimeout=10" in argv
    assert not any("StrictHostKeyChecking" in a for a in argv)  # the user's own setting (ask: refused in batch)
    assert argv[-2] == "nvidia@10.0.0.7"


def test_an_agentless_line_needs_ssh() -> None:
    (d,) = parse_hosts("orin-07 - ssh=nvidia@10.0.0.107\n")
    assert (d.url, d.ssh) == ("", "nvidia@10.0.0.107")
    with pytest.raises(ConfigError, match="needs ssh=TARGET"):
        parse_hosts("orin-07 -\n")
    with pytest.raises(ConfigError, match="user@host or a Host name"):
        parse_hosts("orin-07 - ssh=-oProxyCommand=evil\n")
