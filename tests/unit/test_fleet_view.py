"""The fleet's rows and totals (issue 16): up, stale after three missed intervals with the last figures
kept, unreachable, raised flags first."""

from __future__ import annotations

from console.fleet.hosts import Device
from console.fleet.reading import Reading, ServerFigures
from console.fleet.state import Answer, FleetState
from console.fleet.view import DOWN, STALE, UP, WAITING, cells, rows, totals, totals_line

DEVICES = tuple(Device(n, f"http://127.0.0.1:{9000 + i}") for i, n in enumerate(("a", "b", "c", "d")))


def good(name: str, at: float, flag: bool = False, since: float | None = None, tps: float = 40.0) -> Answer:
    server = ServerFigures("vllm", "READY", "qwen3-8b", "", tps, 2, 0)
    r = Reading(at, name, 50.0, 8 << 30, 64 << 30, 60.0, 30.0, flag, since, (server,))
    return Answer(name, r, None, 0.01, at)


def bad(name: str, at: float) -> Answer:
    return Answer(name, None, "no answer within 0.75 s", 0.75, at)


def test_conditions_flags_first_and_totals() -> None:
    fleet = FleetState().listed(DEVICES)
    fleet = fleet.answered([good("a", 100.0), good("b", 100.0, flag=True, since=5.0), bad("c", 100.0)])
    fleet = fleet.answered([good("a", 101.0), bad("b", 101.0), bad("c", 101.0)])
    listed = rows(fleet, now=101.5, interval=1.0)
    assert [r.name for r in listed] == ["b", "a", "c", "d"]  # the raised flag first
    by = {r.name: r for r in listed}
    assert (by["a"].condition, by["b"].condition, by["c"].condition, by["d"].condition) == (UP, UP, DOWN, WAITING)
    assert by["b"].error == "no answer within 0.75 s" and by["b"].gpu_pct == 50.0  # one miss: still up
    later = rows(fleet, now=104.0, interval=1.0)
    b = next(r for r in later if r.name == "b")
    assert b.condition == STALE and b.age_s == 4.0 and b.model == "qwen3-8b"  # stale, its last figures kept
    assert cells(b)[1] == "stale 4s" and cells(b)[-2:] == ["HELP", "agent"]
    t = totals(listed)
    assert (t.devices, t.up, t.ready, t.gen_tps, t.flags) == (4, 2, 2, 80.0, 1)
    assert totals_line(t) == "2/4 up · 2 Ready · 80 tok/s · 1 help flag"


def test_a_device_no_longer_listed_drops_its_answers() -> None:
    fleet = FleetState().listed(DEVICES).answered([good("a", 1.0)])
    fleet = fleet.listed(DEVICES[1:]).answered([good("a", 2.0)])
    assert "a" not in fleet.status and [r.name for r in rows(fleet, 2.0, 1.0)] == ["b", "c", "d"]
