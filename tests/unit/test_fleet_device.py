"""A device's whole agent answer decoded for the device view (issue 16): the telemetry back into the
snapshot every telemetry view reads, rows for the rest; wrong types refused, text cleaned; the state keeps
only the watched device's reads."""

from __future__ import annotations

import pytest

from console.fleet.device import detail
from console.fleet.reading import BadAnswer
from console.fleet.schema import SCHEMA, VERSION
from console.fleet.state import FleetState

TELEMETRY = {
    "time": 1_800_000_000.0,
    "sources": ["jtop"],
    "memory": {"total": 64 << 30, "used": 20 << 30},
    "gpus": [{"name": "Orin\x1b[2J", "load": 55.0, "unified": True, "temp_c": float("nan")}],
    "board": {"model": "NVIDIA Jetson AGX Orin", "l4t": "36.4.0"},
    "schema": 1,
}
DOC = {
    "schema": SCHEMA,
    "version": VERSION,
    "at": 1_800_000_001.0,
    "host": {"name": "orin-01"},
    "telemetry": TELEMETRY,
    "docker": {"connected": True},
    "containers": [{"name": "vllm", "image": "dustynv/vllm:r36.4.0", "state": "running", "mem_used": 1 << 30}],
    "servers": [{"name": "vllm", "phase": "READY", "model": "qwen3-8b", "gen_tps": 41.5, "running": 2}],
    "doctor": [{"title": "Disk", "status": "warn"}],
    "help_flag": {"raised": True},
}


def test_the_answer_decoded() -> None:
    d = detail(DOC)
    assert d.snapshot is not None and d.snapshot.memory is not None and d.snapshot.memory.total == 64 << 30
    gpu = d.snapshot.gpus[0]
    assert gpu.name == "Orin␛[2J" and gpu.load == 55.0 and gpu.unified and gpu.temp_c is None
    assert d.snapshot.board is not None and d.snapshot.board.l4t == "36.4.0"
    assert d.docker == "connected" and d.containers[0].mem_used == 1 << 30
    assert (d.servers[0].phase, d.servers[0].gen_tps, d.servers[0].waiting) == ("READY", 41.5, None)
    assert d.doctor == (("Disk", "warn"),) and d.help_flag and d.host == "orin-01"


@pytest.mark.parametrize(
    ("doc", "said"),
    [
        ({"hello": 1}, "not a jetconsole agent"),
        ({**DOC, "version": VERSION + 1}, "not one this jetconsole reads"),
        ({**DOC, "telemetry": {**TELEMETRY, "memory": {"total": "lots", "used": 1}}}, "wrong type"),
        ({**DOC, "containers": {"vllm": 1}}, "wrong type"),
    ],
)
def test_odd_answers_are_refused_with_why(doc: dict, said: str) -> None:
    with pytest.raises(BadAnswer, match=said):
        detail(doc)


def test_only_the_watched_device_is_kept() -> None:
    fleet = FleetState().watching("orin-01")
    got = detail(DOC)
    fleet = fleet.detail_read("orin-02", got, None)  # a late read of another device
    assert fleet.detail is None
    fleet = fleet.detail_read("orin-01", got, None).detail_read("orin-01", got, None)
    assert fleet.detail == got and fleet.history is not None and max(fleet.history.added) == 2
    failed = fleet.detail_read("orin-01", None, "no answer within 2 s")
    assert failed.detail == got and failed.detail_error == "no answer within 2 s"  # the last figures stay
    closed = failed.watching(None)
    assert (closed.watched, closed.detail, closed.history) == (None, None, None)
