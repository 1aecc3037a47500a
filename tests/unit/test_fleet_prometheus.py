"""The fleet's Prometheus reader on its own (issue 16): an instant query's answer made into one Answer per
device; garbage, refusals, non-finite numbers and control characters in labels never reach a tile raw."""

from __future__ import annotations

import time

import pytest

from console.fleet.hosts import Device
from console.fleet.prometheus import answers_from, devices_in, instance_of, samples
from console.fleet.reading import BadAnswer

NOW = time.time()


def series(name: str, value: str, at: float = NOW, **labels: str) -> dict:
    return {"metric": {"__name__": name, "job": "jetconsole", **labels}, "value": [at, value]}


def answer(*result: dict) -> dict:
    return {"status": "success", "data": {"resultType": "vector", "result": list(result)}}


THOR = {"device": "thor-01", "instance": "10.0.0.101:9147"}
DOC = answer(
    series("up", "1", **THOR),
    series("jetconsole_gpu_utilization_ratio", "0.25", gpu="1:dGPU", **THOR),
    series("jetconsole_gpu_utilization_ratio", "0.5", gpu="0:Orin", **THOR),
    series("jetconsole_memory_used_bytes", "1073741824", **THOR),
    series("jetconsole_memory_total_bytes", "68719476736", **THOR),
    series("jetconsole_temperature_celsius", "48", sensor="cpu", **THOR),
    series("jetconsole_temperature_celsius", "61.5", sensor="gpu", **THOR),
    series("jetconsole_power_watts", "NaN", **THOR),  # not finite: no figure, never a 0
    series("jetconsole_help_flag", "1", **THOR),
    series("jetconsole_help_flag_raised_timestamp_seconds", "1800000000", **THOR),
    series("jetconsole_server_phase", "1", server="vllm", phase="STARTING", **THOR),
    series("jetconsole_server_phase", "0", server="vllm", phase="READY", **THOR),
    series("jetconsole_server_info", "1", server="vllm", model="qwen\x1b[31m3", **THOR),
    series("jetconsole_server_startup_progress_ratio", "0.4", server="vllm", **THOR),
    series("jetconsole_server_requests_running", "2", server="vllm", **THOR),
    series("up", "0", instance="10.0.0.102:9147"),
)


def test_a_device_read_from_its_series() -> None:
    devices = (Device("thor-01", "http://10.0.0.101:9147"), Device("thor-02", "http://10.0.0.102:9147"))
    thor, other = answers_from(samples(DOC), devices, 0.01)
    r = thor.reading
    assert thor.via == "prometheus" and thor.error is None and r is not None
    assert r.gpu_load == 50.0  # the first GPU's, whatever the answer's order
    assert (r.memory_used, r.memory_total, r.hottest_c, r.power_w) == (1 << 30, 64 << 30, 61.5, None)
    assert r.help_flag and r.help_since == 1_800_000_000
    (server,) = r.servers
    assert (server.phase, server.model, server.detail, server.running, server.waiting) == (
        "STARTING",
        "qwen␛[31m3",  # the escape shown, never sent
        "40%",
        2,
        None,
    )
    assert other.reading is None and "up = 0" in (other.error or "")  # found by its instance


def test_the_figures_are_as_old_as_the_scrape() -> None:
    old = answer(series("up", "1", at=time.time() - 30, **THOR))
    (a,) = answers_from(samples(old), (Device("thor-01", "http://10.0.0.101:9147"),), 0.01)
    assert time.monotonic() - a.at == pytest.approx(30, abs=2)


def test_a_stalled_prometheus_dates_the_figures_by_the_last_scrape() -> None:
    """An instant query stamps its samples with the query's time; timestamp(up) says when it scraped."""
    fresh = answer(series("up", "1", at=time.time(), **THOR))
    scraped = samples(answer({"metric": {"job": "jetconsole", **THOR}, "value": [time.time(), str(time.time() - 90)]}))
    (a,) = answers_from(samples(fresh), (Device("thor-01", "http://10.0.0.101:9147"),), 0.01, scraped)
    assert time.monotonic() - a.at == pytest.approx(90, abs=2)


def test_devices_from_the_targets_and_instances() -> None:
    found = devices_in(samples(DOC))
    assert [(d.name, d.url) for d in found] == [
        ("10.0.0.102:9147", "http://10.0.0.102:9147"),
        ("thor-01", "http://10.0.0.101:9147"),
    ]
    assert instance_of(Device("x", "https://user@spark.local:9147/agent")) == "spark.local:9147"


@pytest.mark.parametrize(
    ("doc", "said"),
    [
        ([], "no JSON object"),
        ({"status": "error", "error": "parse error\x07 at char 3"}, "refused the query: parse error␇ at char 3"),
        ({"status": "success", "data": {"resultType": "matrix", "result": []}}, "no vector result"),
    ],
)
def test_garbage_is_refused_with_why(doc: object, said: str) -> None:
    with pytest.raises(BadAnswer, match=said):
        samples(doc)


def test_odd_items_are_skipped() -> None:
    odd = answer(
        "not a series",  # type: ignore[arg-type]
        {"metric": {}, "value": [NOW]},
        {"metric": {"__name__": "up"}, "value": [NOW, "Inf"]},
        {"metric": {"__name__": "up"}, "value": [NOW, "one"]},
        series("up", "1", **THOR),
    )
    assert [s.name for s in samples(odd)] == ["up"]
