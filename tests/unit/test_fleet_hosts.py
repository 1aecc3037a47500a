"""The fleet's hosts file and the agent answers it reads (issue 16): mistakes named by file:line, and an
answer that is garbage, from a newer agent or full of control characters refused or cleaned."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from console.agent.document import state_document
from console.config_error import ConfigError
from console.fleet.hosts import Device, load_hosts, parse_hosts
from console.fleet.reading import BadAnswer, reading
from console.fleet.schema import SCHEMA, VERSION
from console.fleet.state import Answer
from console.runtime.sanitise import json_text
from console.telemetry.model import TempSensor
from tests.fake_http import serve
from tests.unit.test_agent_views import device_state

HOSTS = """\
# the rack
thor-01  http://10.0.0.101:9147/  ssh=nvidia@10.0.0.101 group=rack-a
thor-02  http://10.0.0.102:9147   group=rack-a tags=lcd,flagship   # a comment after
spark    https://spark.local      token=/etc/jetconsole/spark.token
"""


def test_a_hosts_file_lists_devices_with_their_options() -> None:
    devices = parse_hosts(HOSTS)
    assert devices[0] == Device("thor-01", "http://10.0.0.101:9147", "nvidia@10.0.0.101", "rack-a", (), None, 2)
    assert devices[1].tags == ("lcd", "flagship") and devices[1].ssh is None and devices[1].line == 3
    assert devices[2].url == "https://spark.local" and devices[2].token_file == "/etc/jetconsole/spark.token"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a http://h:1\nb\n", 2, "expected NAME URL"),
        ("a http://h:1\na http://h:2\n", 2, "already on line 1"),
        ("a ftp://h\n", 1, "not an agent URL"),
        ("a http://h:99999\n", 1, "port"),
        ("a http://h:1 colour=red\n", 1, "unknown setting 'colour=red'"),
        ("a http://h:1 ssh=\n", 1, "ssh= needs a value"),
        ("bad/name http://h:1\n", 1, "a name is"),
    ],
)
def test_a_mistake_is_named_by_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "hosts"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_hosts(path)
    assert raised.value.line == line and words in str(raised.value) and str(path) in str(raised.value)


def test_an_unreadable_hosts_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the hosts file"):
        load_hosts(tmp_path / "absent")


def test_an_agent_answer_becomes_a_tile_reading(orin_snapshot) -> None:
    orin_snapshot = dataclasses.replace(orin_snapshot, temps=(TempSensor("cpu", 51.4), TempSensor("gpu", 63.6)))
    doc = json.loads(json_text(state_document(device_state(orin_snapshot), agent={}, now=7.0)))
    got = reading(doc)
    assert got.at == 7.0 and got.host == "thor-07" and got.help_flag and got.help_since == 1_800_000_000.0
    assert got.gpu_load == orin_snapshot.gpus[0].load and got.memory_total == orin_snapshot.memory.total
    assert got.hottest_c == 63.6
    [server] = got.servers
    assert (server.phase, server.model, server.gen_tps, server.running) == ("READY", "Qwen/Qwen3-8B", 41.7, 3)


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ("<html>", "no agent schema"),
        ({"schema": "other"}, "no agent schema"),
        ({"schema": SCHEMA, "version": VERSION + 1}, "newer than this jetconsole reads"),
        ({"schema": SCHEMA, "version": "1"}, "not a number"),
        ({"schema": SCHEMA, "version": VERSION, "telemetry": {"gpus": "many"}}, "telemetry.gpus is not a list"),
        ({"schema": SCHEMA, "version": VERSION, "telemetry": {"power": {"total_w": "hot"}}}, "not a number"),
    ],
)
def test_a_bad_answer_says_what_was_wrong(doc: object, words: str) -> None:
    with pytest.raises(BadAnswer, match=words):
        reading(doc)


def test_an_answer_is_untrusted_text() -> None:
    doc = {
        "schema": SCHEMA,
        "version": VERSION,
        "host": {"name": "thor\x1b[2J-07"},
        "servers": [{"name": "vllm\x07", "phase": "READY", "detail": "line\nbreak"}],
    }
    got = reading(doc)
    assert "\x1b" not in got.host and "\x07" not in got.servers[0].name and "\n" not in got.servers[0].detail


def answer_of(body: bytes, device: Device | None = None, timeout: float = 5.0) -> Answer:
    """What ``read_device`` makes of an agent that answers ``body`` (a real server on a loopback port)."""
    import asyncio

    from console.fleet.poll import new_client, read_device

    server = serve(body)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    device = dataclasses.replace(device, url=url) if device else Device("d", url)

    async def run() -> Answer:
        async with new_client(1) as client:
            return await read_device(client, device, timeout)

    try:
        return asyncio.run(run())
    finally:
        server.shutdown()
        server.server_close()


def test_an_odd_answer_is_an_error_on_its_row_never_a_crash(tmp_path: Path) -> None:
    """Each of these once escaped read_device and ended the Fleet view's reading thread."""
    assert answer_of(b"[" * 100_000 + b"]" * 100_000).error == "not a jetconsole agent: its answer is not JSON"
    doc = {"schema": SCHEMA, "version": VERSION, "telemetry": {"memory": {"used": float("inf")}}}
    assert "not a number" in (answer_of(json.dumps(doc).encode()).error or "")
    flagged = {"schema": SCHEMA, "version": VERSION, "help_flag": {"raised": True, "since": 1e300}}
    got = answer_of(json.dumps(flagged).encode())
    assert got.reading is not None and got.reading.help_flag and got.reading.help_since is None  # no year 10^292
    assert "bytes is not an agent's" in (answer_of(b" " * (2 << 20)).error or "")
    token = tmp_path / "token"
    token.write_text("tökén\n")  # not ASCII: not a header value
    odd = answer_of(json.dumps(flagged).encode(), Device("d", "http://127.0.0.1:1", token_file=str(token)))
    assert odd.reading is None and (odd.error or "").startswith("bad answer:")
