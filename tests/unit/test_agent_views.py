"""The agent's two views of one state (issue 16): ``/metrics`` read back with prometheus_client's own parser,
and ``/v1/state`` with its schema; no credential and no control character gets out."""

from __future__ import annotations

import dataclasses
import json
import math
from types import MappingProxyType

import pytest
from prometheus_client.parser import text_string_to_metric_families

from console.agent.document import SCHEMA, VERSION, state_document
from console.agent.exposition import exposition
from console.chat.wire import ModelInfo
from console.containers.model import ContainerInfo, ContainerStats
from console.doctor.check import Check
from console.runtime import events as ev
from console.runtime.reducer import reduce
from console.runtime.sanitise import json_text
from console.runtime.state import ConsoleState, server_rows
from console.servers.metrics import ServerMetrics
from console.servers.status import ServerStatus
from console.telemetry.model import SourceReport, SourceStatus, TelemetrySnapshot, TempSensor

SECRET = "sk-live-0123456789abcdef"
VLLM = ContainerInfo(
    id="a" * 64,
    name="vllm-qwen",
    image="nvcr.io/nvidia/vllm:25.09-py3",
    state="running",
    status="Up 3 minutes (healthy)",
    health="healthy",
    labels={"jetconsole.url": "http://127.0.0.1:8000/v1", "HF_TOKEN": SECRET},
    command=f"vllm serve Qwen/Qwen3-8B --port 8000 --api-key {SECRET}",
)
WEBUI = ContainerInfo(id="b" * 64, name="webui\x1b[31m", image="open-webui", state="exited", status="Exited (0)")
METRICS = ServerMetrics(
    running=3, waiting=1, kv_usage=0.42, prompt_tps=120.0, gen_tps=41.7, ttft_p50=0.041, ttft_p95=0.2, itl_p50=0.012
)


def device_state(snap: TelemetrySnapshot) -> ConsoleState:
    """A Jetson serving one model, another container stopped, the help flag up, two doctor checks."""
    state = ConsoleState()
    events: list[ev.Event] = [
        ev.SourcesFound(("jtop",), SourceReport((SourceStatus("jtop", True, "jtop 4.3"),))),
        ev.Sampled(snap),
        ev.ContainersListed((VLLM, WEBUI)),
        ev.StatsUpdated(((VLLM.id, ContainerStats(VLLM.id, 250.0, 6 << 30, None)),)),
        ev.HelpFlagRead(True, 1_800_000_000.0),
        ev.HostRead("thor-07", "10.20.0.107"),
        ev.DoctorChecked((Check("docker", "Docker", "ok"), Check("disk", "Disk", "warn")), at=1.0),
    ]
    for event in events:
        state = reduce(state, event)
    url = server_rows(state)[0].url
    assert url is not None
    state = reduce(state, ev.ServersWatched(frozenset({url})))
    status = ServerStatus(url, True, 200, models=(ModelInfo("Qwen/Qwen3-8B"),), metrics=METRICS)
    return reduce(state, ev.ServerPolled(status))


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_parse_and_carry_the_device_the_server_and_the_flag(orin_snapshot) -> None:
    text = exposition(device_state(orin_snapshot), {"version": "9.9"}).decode()
    got = samples(text)
    gpu = orin_snapshot.gpus[0]
    gpu_label = (("gpu", f"0:{gpu.name}"),)
    assert got[("jetconsole_gpu_utilization_ratio", gpu_label)] == pytest.approx(gpu.load / 100)
    assert got[("jetconsole_gpu_memory_unified", gpu_label)] == 1.0
    assert ("jetconsole_gpu_memory_used_bytes", gpu_label) not in got  # unified: no made-up 0
    assert got[("jetconsole_memory_total_bytes", ())] == orin_snapshot.memory.total
    assert got[("jetconsole_power_watts", ())] == pytest.approx(orin_snapshot.power.total_w)
    assert got[("jetconsole_help_flag", ())] == 1.0
    assert got[("jetconsole_help_flag_raised_timestamp_seconds", ())] == 1_800_000_000.0
    server = (("server", "vllm-qwen"),)
    assert got[("jetconsole_server_ready", server)] == 1.0
    assert got[("jetconsole_server_phase", (("phase", "READY"), ("server", "vllm-qwen")))] == 1.0
    assert got[("jetconsole_server_phase", (("phase", "STARTING"), ("server", "vllm-qwen")))] == 0.0
    assert got[("jetconsole_server_requests_running", server)] == 3.0
    assert got[("jetconsole_server_kv_cache_usage_ratio", server)] == 0.42
    assert got[("jetconsole_server_generation_tokens_per_second", server)] == 41.7
    assert (
        got[("jetconsole_server_time_to_first_token_seconds", (("quantile", "0.95"), ("server", "vllm-qwen")))] == 0.2
    )
    assert ("jetconsole_server_inter_token_latency_seconds", (("quantile", "0.95"), ("server", "vllm-qwen"))) not in got
    assert got[("jetconsole_container_running", (("container", "vllm-qwen"),))] == 1.0
    assert got[("jetconsole_container_cpu_ratio", (("container", "vllm-qwen"),))] == 2.5
    assert got[("jetconsole_doctor_check", (("check", "disk"), ("state", "warn")))] == 1.0
    assert got[("jetconsole_telemetry_source_up", (("source", "jtop"),))] == 1.0
    assert got[("jetconsole_agent_info", (("version", "9.9"),))] == 1.0


def test_no_secret_and_no_control_character_in_either_view(orin_snapshot) -> None:
    state = device_state(orin_snapshot)
    text = exposition(state, {"version": "1"}).decode()
    doc = json_text(state_document(state, agent={"version": "1"}, now=0.0))
    for out in (text, doc):
        assert SECRET not in out and "--api-key" not in out
        assert "\x1b" not in out
    assert not any(ord(c) < 32 and c != "\n" for c in text)


def test_the_document_has_its_schema_and_the_figures_a_tile_needs(orin_snapshot) -> None:
    doc = json.loads(json_text(state_document(device_state(orin_snapshot), agent={"version": "1"}, now=5.0)))
    assert (doc["schema"], doc["version"], doc["at"]) == (SCHEMA, VERSION, 5.0)
    assert doc["host"] == {"name": "thor-07", "ip": "10.20.0.107"}
    assert doc["help_flag"] == {"raised": True, "since": 1_800_000_000.0}
    assert doc["telemetry"]["gpus"][0]["name"] == orin_snapshot.gpus[0].name
    [server] = doc["servers"]
    assert server["phase"] == "READY" and server["ready"] is True and server["model"] == "Qwen/Qwen3-8B"
    assert (server["running"], server["waiting"], server["gen_tps"], server["itl_p95"]) == (3, 1, 41.7, None)
    assert [c["name"] for c in doc["containers"]] == ["vllm-qwen", WEBUI.name]
    assert set(doc["containers"][0]) == {
        "id", "name", "image", "state", "status", "health", "ports", "runtime", "cpu_pct", "mem_used", "mem_limit",
    }  # fmt: skip
    assert [c["status"] for c in doc["doctor"]] == ["ok", "warn"]


def test_an_empty_state_is_served_too() -> None:
    """An agent that has read nothing yet (no source, no Docker) answers, without a figure it does not have."""
    state = ConsoleState()
    got = samples(exposition(state, {"version": "1"}).decode())
    assert got[("jetconsole_help_flag", ())] == 0.0
    assert not any(name.startswith(("jetconsole_gpu", "jetconsole_cpu", "jetconsole_server")) for name, _ in got)
    doc = state_document(state, agent={}, now=0.0)
    assert doc["telemetry"] is None and doc["servers"] == [] and doc["containers"] == []
    assert isinstance(state.docker.stats, MappingProxyType)


def test_an_endpoint_url_with_credentials_never_leaves(orin_snapshot) -> None:
    """A configured server ``http://user:pass@host`` was a row named ``user:pass@host:8000``."""
    state = reduce(ConsoleState(), ev.Sampled(orin_snapshot))
    state = dataclasses.replace(
        state, servers=dataclasses.replace(state.servers, configured=("http://ops:hunter2hunter2@10.0.0.5:8000/v1",))
    )
    text = exposition(state, {"version": "1"}).decode()
    doc = json_text(state_document(state, agent={}, now=0.0))
    assert "hunter2" not in text and "hunter2" not in doc
    assert 'server="10.0.0.5:8000"' in text


def test_a_sensor_reading_nan_or_a_name_twice_is_served_as_valid_data(orin_snapshot) -> None:
    snap = dataclasses.replace(
        orin_snapshot, temps=(TempSensor("acpitz", 40.0), TempSensor("acpitz", 45.0), TempSensor("gpu", math.nan))
    )
    state = reduce(ConsoleState(), ev.Sampled(snap))
    got = samples(exposition(state, {"version": "1"}).decode())
    assert got[("jetconsole_temperature_celsius", (("sensor", "acpitz"),))] == 40.0
    assert got[("jetconsole_temperature_celsius", (("sensor", "acpitz#2"),))] == 45.0
    assert ("jetconsole_temperature_celsius", (("sensor", "gpu"),)) not in got
    doc = json_text(state_document(state, agent={}, now=0.0))
    assert "NaN" not in doc and json.loads(doc)["telemetry"]["temps"][2]["celsius"] is None
